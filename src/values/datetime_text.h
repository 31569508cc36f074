// Parsers for PostgreSQL's date/time text output with DateStyle=ISO and
// IntervalStyle=postgres. Each returns false, leaving `out` unspecified, when `text`
// is not that type's output or does not fit the record's representation.
#ifndef PGCDC_VALUES_DATETIME_TEXT_H_
#define PGCDC_VALUES_DATETIME_TEXT_H_

#include <cstdint>
#include <string_view>

#include "pgcdc/change.h"

namespace pgcdc::internal {

// "2024-03-05", "0044-03-15 BC", "10000-01-01", "infinity", "-infinity".
bool ParseDateText(std::string_view text, Date* out);
// "13:45:00", "13:45:00.5", "24:00:00" -> microseconds since midnight.
bool ParseTimeText(std::string_view text, int64_t* out);
// "13:45:00+05:30", "13:45:00-08", "13:45:00+00:53:28".
bool ParseTimeTzText(std::string_view text, TimeTz* out);
// "2024-03-05 13:45:00.123[ BC]"; with `with_zone` an offset follows the time
// ("+00", "+05:30", "+00:53:28") and the result is UTC. A well-formed value that does
// not fit int64 microseconds since 1970 (after 294247 AD; PostgreSQL allows up to
// 294276 AD) fails with *out_of_range set.
bool ParseTimestampText(std::string_view text, bool with_zone, Timestamp* out,
                        bool* out_of_range = nullptr);
// "1 year 2 mons 3 days 04:05:06.5", "-1 days +02:00:00", "00:00:00", "infinity".
bool ParseIntervalText(std::string_view text, Interval* out);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_DATETIME_TEXT_H_
