// COPY ... TO STDOUT text format: one row per line, fields separated by tabs, \N for
// NULL, and backslash escapes for the characters that would be ambiguous
// (CopyAttributeOutText in PostgreSQL's copyto.c).
#ifndef PGCDC_SNAPSHOT_COPY_TEXT_H_
#define PGCDC_SNAPSHOT_COPY_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace pgcdc::internal {

struct CopyField {
  bool null = false;
  std::string_view text;  // unescaped; points into the line or into the scratch buffer
};

// Splits one row (with or without its trailing newline) into exactly `columns` fields.
// Fields without a backslash point into `line`; unescaped ones into `*scratch`, which
// is cleared first and must outlive the fields.
absl::Status SplitCopyRow(std::string_view line, size_t columns, std::vector<CopyField>* fields,
                          std::string* scratch);

}  // namespace pgcdc::internal

#endif  // PGCDC_SNAPSHOT_COPY_TEXT_H_
