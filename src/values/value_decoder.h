// Text output of PostgreSQL types (with the output settings the connection pins:
// DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, TimeZone UTC,
// bytea_output hex, lc_monetary C, client_encoding UTF8) -> typed values.
#ifndef PGCDC_VALUES_VALUE_DECODER_H_
#define PGCDC_VALUES_VALUE_DECODER_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "record/change_data.h"

namespace pgcdc::internal {

// Decodes `text`, the output of the built-in type `type_oid`, into `out`. Types without
// a typed representation (and unknown OIDs) become text_value. A value that does not
// parse as its type gives kDataLoss naming the type and the value.
absl::Status DecodeTextValue(uint32_t type_oid, std::string_view text, const ValueWriter& out);

// The OID of a built-in type by its pg_catalog name ("numeric", "_int4"), used to map a
// domain (whose Type message carries its base type's name) to a decoder.
std::optional<uint32_t> BuiltinTypeOidByName(std::string_view name);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_VALUE_DECODER_H_
