// The options table's entries: each option's description and where it lives in
// StreamOptions, as a function pointer of the member's own type, so that reading and
// writing are written once per member type (option_access.cc), not once per option.
#ifndef PGCDC_SRC_OPTION_FIELDS_H_
#define PGCDC_SRC_OPTION_FIELDS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "pgcdc/option_table.h"

namespace pgcdc::internal {

template <typename M>
using Field = M& (*)(StreamOptions&);

using FieldRef =
    std::variant<Field<std::string>, Field<std::vector<std::string>>, Field<bool>,
                 Field<std::optional<bool>>, Field<int>, Field<size_t>, Field<absl::Duration>,
                 Field<std::optional<absl::Duration>>, Field<std::optional<Lsn>>,
                 Field<SnapshotMode>, Field<PreparedDelivery>>;

struct OptionEntry {
  OptionInfo info;
  FieldRef field;
};

absl::Span<const OptionEntry> OptionEntries();

}  // namespace pgcdc::internal

#endif  // PGCDC_SRC_OPTION_FIELDS_H_
