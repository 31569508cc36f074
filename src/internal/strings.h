// Debian 12 builds abseil with ABSL_OPTION_USE_STD_STRING_VIEW=0, so absl::string_view
// is its own type there; our structs use std::string_view. Convert at abseil calls.
#ifndef PGCDC_INTERNAL_STRINGS_H_
#define PGCDC_INTERNAL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace pgcdc::internal {

inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view StdSv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace pgcdc::internal

#endif  // PGCDC_INTERNAL_STRINGS_H_
