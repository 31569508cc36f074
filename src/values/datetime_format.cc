#include "values/datetime_format.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace pgcdc::internal {
namespace {

// Floor division: the calendar needs days/seconds that round towards -infinity.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void AppendTwoDigits(int value, std::string* out) {
  out->push_back(static_cast<char>('0' + value / 10));
  out->push_back(static_cast<char>('0' + value % 10));
}

// ".123" for 123000 microseconds; nothing for 0.
void AppendFraction(int64_t micros, std::string* out) {
  if (micros == 0) return;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  int len = 6;
  while (digits[len - 1] == '0') --len;
  out->push_back('.');
  out->append(digits, len);
}

}  // namespace

bool IsLeapYear(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Howard Hinnant's days_from_civil: 400-year eras of 146097 days, March-based years so
// the leap day is the last day of the year.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = FloorDiv(year, 400);
  const int64_t yoe = year - era * 400;  // [0, 399]
  const int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day};
}

void AppendIsoDate(int64_t days, std::string* out) {
  const CivilDate date = CivilFromDays(days);
  if (date.year < 0) {
    out->push_back('-');
  } else if (date.year > 9999) {
    out->push_back('+');
  }
  absl::StrAppend(out, absl::Dec(std::llabs(date.year), absl::kZeroPad4));
  out->push_back('-');
  AppendTwoDigits(date.month, out);
  out->push_back('-');
  AppendTwoDigits(date.day, out);
}

void AppendIsoTime(int64_t micros_of_day, std::string* out) {
  const int64_t seconds = micros_of_day / kMicrosPerSecond;
  absl::StrAppend(out, absl::Dec(seconds / 3600, absl::kZeroPad2));
  out->push_back(':');
  AppendTwoDigits(static_cast<int>(seconds / 60 % 60), out);
  out->push_back(':');
  AppendTwoDigits(static_cast<int>(seconds % 60), out);
  AppendFraction(micros_of_day % kMicrosPerSecond, out);
}

void AppendIsoTimestamp(int64_t micros, std::string* out) {
  // Truncate, then correct the remainder: days * kMicrosPerDay can overflow for the
  // smallest timestamps, a remainder cannot.
  int64_t days = micros / kMicrosPerDay;
  int64_t micros_of_day = micros % kMicrosPerDay;
  if (micros_of_day < 0) {
    micros_of_day += kMicrosPerDay;
    --days;
  }
  AppendIsoDate(days, out);
  out->push_back('T');
  AppendIsoTime(micros_of_day, out);
}

void AppendIsoOffset(int32_t seconds_east, std::string* out) {
  out->push_back(seconds_east < 0 ? '-' : '+');
  const int64_t magnitude = std::llabs(int64_t{seconds_east});
  absl::StrAppend(out, absl::Dec(magnitude / 3600, absl::kZeroPad2));
  out->push_back(':');
  AppendTwoDigits(static_cast<int>(magnitude / 60 % 60), out);
  if (magnitude % 60 != 0) {
    out->push_back(':');
    AppendTwoDigits(static_cast<int>(magnitude % 60), out);
  }
}

}  // namespace pgcdc::internal
