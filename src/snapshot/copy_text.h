// COPY ... TO STDOUT text format: one row per line, fields separated by tabs, \N for
// NULL, and backslash escapes for the characters that would be ambiguous
// (CopyAttributeOutText in PostgreSQL's copyto.c).
#ifndef PGCDC_SNAPSHOT_COPY_TEXT_H_
#define PGCDC_SNAPSHOT_COPY_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

// Splits one row (with or without its trailing newline) into exactly `columns` fields,
// as the tuple of a pgoutput message would carry them (text or NULL), so that the
// row builder decodes both alike. Fields without a backslash point into `line`;
// unescaped ones into `*scratch`, which is cleared first and must outlive the tuple.
absl::Status SplitCopyRow(std::string_view line, size_t columns, TupleData* tuple,
                          std::string* scratch);

}  // namespace pgcdc::internal

#endif  // PGCDC_SNAPSHOT_COPY_TEXT_H_
