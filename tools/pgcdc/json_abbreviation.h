// `pgcdc demo` prints each change for a person to read; one large value (the TOAST
// example's note) would be a line of 24 kB. Its JSON goes through this first.
#ifndef PGCDC_TOOLS_JSON_ABBREVIATION_H_
#define PGCDC_TOOLS_JSON_ABBREVIATION_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace pgcdc::cli {

// `json` (valid JSON text) with every string literal longer than `keep` bytes cut to
// its first `keep` bytes, never inside an escape or a UTF-8 sequence, followed by
// "… (N more bytes)". The result is still valid JSON.
std::string AbbreviateJsonStrings(std::string_view json, size_t keep);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_JSON_ABBREVIATION_H_
