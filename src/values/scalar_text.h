// Parsers for the text output of PostgreSQL's non-temporal scalar types. Each returns
// false, leaving `out` unspecified, when `text` is not that type's output. Parsers
// producing bytes append them to `out` (values share one buffer per change).
#ifndef PGCDC_VALUES_SCALAR_TEXT_H_
#define PGCDC_VALUES_SCALAR_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace pgcdc::internal {

bool ParseBoolText(std::string_view text, bool* out);
// Decimal integer within [min, max].
bool ParseIntText(std::string_view text, int64_t min, int64_t max, int64_t* out);
// oid / xid: unsigned decimal that fits in 32 bits.
bool ParseUint32Text(std::string_view text, int64_t* out);
// float4 / float8: shortest round-trip decimal, NaN, Infinity, -Infinity.
bool ParseFloatText(std::string_view text, double* out);
// Checks numeric_out syntax: [-+]digits[.digits], NaN, Infinity, -Infinity.
bool IsNumericText(std::string_view text);
// money with lc_monetary=C ("-$1,234.56") -> exact decimal text ("-1234.56").
bool ParseMoneyText(std::string_view text, std::string* out);
// bytea_output=hex ("\x0aff") -> raw bytes.
bool ParseByteaHexText(std::string_view text, std::string* out);
// 8-4-4-4-12 hex -> 16 raw bytes.
bool ParseUuidText(std::string_view text, std::string* out);
// inet / cidr: IPv4 or IPv6 address with an optional /prefix.
bool IsInetText(std::string_view text);
// macaddr (6 groups) / macaddr8 (8 groups) of two hex digits separated by ':'.
bool IsMacaddrText(std::string_view text, int groups);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_SCALAR_TEXT_H_
