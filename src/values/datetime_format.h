// Proleptic Gregorian calendar arithmetic (astronomical years: 1 BC is year 0) and the
// ISO 8601 text the JSON output uses for dates and times.
#ifndef PGCDC_VALUES_DATETIME_FORMAT_H_
#define PGCDC_VALUES_DATETIME_FORMAT_H_

#include <cstdint>
#include <string>

namespace pgcdc::internal {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

struct CivilDate {
  int64_t year;  // astronomical
  int month;     // 1..12
  int day;       // 1..31
};

bool IsLeapYear(int64_t year);
int DaysInMonth(int64_t year, int month);
// Days since 1970-01-01. Exact for any year that fits in +/-2^40.
int64_t DaysFromCivil(int64_t year, int month, int day);
CivilDate CivilFromDays(int64_t days);

// "2024-03-05"; ISO 8601 expanded years outside 0000..9999: "-0043-03-15" (44 BC),
// "+10000-01-01".
void AppendIsoDate(int64_t days, std::string* out);
// "13:45:00", "13:45:00.123" (fraction without trailing zeros); 24:00:00 is allowed.
void AppendIsoTime(int64_t micros_of_day, std::string* out);
// "2024-03-05T13:45:00.123" for microseconds since 1970-01-01 (no zone designator).
void AppendIsoTimestamp(int64_t micros, std::string* out);
// "+05:30", "-08:00", "+00:53:28" for an offset east of UTC.
void AppendIsoOffset(int32_t seconds_east, std::string* out);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_DATETIME_FORMAT_H_
