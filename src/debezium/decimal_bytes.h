// Kafka Connect's Decimal carries the unscaled value as Java's BigInteger.toByteArray()
// writes it: big-endian two's complement in the fewest bytes that keep the sign.
#ifndef PGCDC_DEBEZIUM_DECIMAL_BYTES_H_
#define PGCDC_DEBEZIUM_DECIMAL_BYTES_H_

#include <optional>
#include <string>
#include <string_view>

namespace pgcdc::internal {

// The unscaled bytes of the exact decimal `text` ("-12.50", "3", ".5") at `scale`
// digits after the point: padded with zeros, or rounded half-even when it has more
// (as Debezium's setScale). nullopt for NaN, infinities and malformed text.
std::optional<std::string> DecimalUnscaledBytes(std::string_view text, int scale);

// The number of digits after the point in an exact decimal text (0 for "42").
int DecimalScale(std::string_view text);

}  // namespace pgcdc::internal

#endif  // PGCDC_DEBEZIUM_DECIMAL_BYTES_H_
