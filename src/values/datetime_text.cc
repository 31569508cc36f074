#include "values/datetime_text.h"

#include <cstdint>
#include <limits>

#include "values/datetime_format.h"

namespace pgcdc::internal {
namespace {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A forward-only reader over the text; every method fails without consuming.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(p_ + text.size()) {}

  bool AtEnd() const { return p_ == end_; }
  char Peek() const { return p_ == end_ ? '\0' : *p_; }

  bool Consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // Exactly `n` digits (n <= 9).
  bool FixedDigits(int n, int* out) {
    if (end_ - p_ < n) return false;
    int value = 0;
    for (int i = 0; i < n; ++i) {
      if (!IsDigit(p_[i])) return false;
      value = value * 10 + (p_[i] - '0');
    }
    p_ += n;
    *out = value;
    return true;
  }

  // 1..max_digits (<= 18) digits; returns how many, 0 when none or too many.
  int Number(int max_digits, int64_t* out) {
    int n = 0;
    int64_t value = 0;
    while (p_ + n != end_ && IsDigit(p_[n])) {
      if (n == max_digits) return 0;
      value = value * 10 + (p_[n] - '0');
      ++n;
    }
    p_ += n;
    *out = value;
    return n;
  }

  // The digits after a '.', 1..6 of them, as microseconds.
  bool Fraction(int64_t* micros) {
    static constexpr int64_t kScale[7] = {0, 100000, 10000, 1000, 100, 10, 1};
    int64_t digits = 0;
    const int n = Number(6, &digits);
    if (n == 0) return false;
    *micros = digits * kScale[n];
    return true;
  }

  // A run of lower-case letters (an interval unit).
  std::string_view Word() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= 'a' && *p_ <= 'z') ++p_;
    return std::string_view(start, static_cast<size_t>(p_ - start));
  }

 private:
  const char* p_;
  const char* end_;
};

// Removes the " BC" that PostgreSQL appends to dates before year 1. (Debian's abseil
// has its own string_view type, so absl::ConsumeSuffix does not take ours.)
bool ConsumeBcSuffix(std::string_view* text) {
  constexpr std::string_view kBc = " BC";
  if (text->size() < kBc.size() || text->substr(text->size() - kBc.size()) != kBc) {
    return false;
  }
  text->remove_suffix(kBc.size());
  return true;
}

bool ParseInfinity(std::string_view text, Infinity* out) {
  if (text == "infinity") {
    *out = Infinity::kPositive;
    return true;
  }
  if (text == "-infinity") {
    *out = Infinity::kNegative;
    return true;
  }
  return false;
}

// "YYYY-MM-DD" (4 to 7 year digits: PostgreSQL pads to 4, and its dates end in year
// 5874897) -> days since 1970-01-01. `bc` is the " BC" suffix: 1 BC is year 0.
bool ParseYmd(Cursor& c, bool bc, int64_t* days) {
  int64_t year = 0;
  int month = 0;
  int day = 0;
  if (c.Number(7, &year) < 4 || !c.Consume('-') || !c.FixedDigits(2, &month) || !c.Consume('-') ||
      !c.FixedDigits(2, &day)) {
    return false;
  }
  if (year == 0) return false;  // no year 0 in PostgreSQL's BC/AD numbering
  if (bc) year = 1 - year;
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return false;
  *days = DaysFromCivil(year, month, day);
  return true;
}

// "HH:MM:SS[.ffffff]"; 24:00:00 only for the time types, never inside a timestamp.
bool ParseClock(Cursor& c, bool allow_24, int64_t* micros) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t fraction = 0;
  if (!c.FixedDigits(2, &hour) || !c.Consume(':') || !c.FixedDigits(2, &minute) ||
      !c.Consume(':') || !c.FixedDigits(2, &second)) {
    return false;
  }
  if (c.Consume('.') && !c.Fraction(&fraction)) return false;
  if (minute > 59 || second > 59) return false;
  if (hour > 23 && !(allow_24 && hour == 24 && minute == 0 && second == 0 && fraction == 0)) {
    return false;
  }
  *micros = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
  return true;
}

// "+HH", "+HH:MM" or "+HH:MM:SS" (historic local mean time offsets have seconds).
bool ParseOffset(Cursor& c, int32_t* seconds_east) {
  const bool negative = c.Consume('-');
  if (!negative && !c.Consume('+')) return false;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!c.FixedDigits(2, &hour)) return false;
  if (c.Consume(':')) {
    if (!c.FixedDigits(2, &minute)) return false;
    if (c.Consume(':') && !c.FixedDigits(2, &second)) return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  const int32_t seconds = (hour * 60 + minute) * 60 + second;
  *seconds_east = negative ? -seconds : seconds;
  return true;
}

// Magnitude and sign -> int64, failing outside its range (-2^63 is allowed).
bool ApplySign(uint64_t magnitude, bool negative, int64_t* out) {
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (magnitude > kMax + (negative ? 1 : 0)) return false;
  // Unsigned negation wraps, so 2^63 becomes INT64_MIN without signed overflow.
  *out = static_cast<int64_t>(negative ? 0 - magnitude : magnitude);
  return true;
}

// The "[-+]H+:MM:SS[.ffffff]" part of an interval, after its hours were read. Hours are
// not folded into days, so they can be large ("-2562047788:00:54.775808").
bool ParseIntervalClock(Cursor& c, bool negative, int64_t hours, int64_t* micros) {
  int minute = 0;
  int second = 0;
  int64_t fraction = 0;
  if (!c.Consume(':') || !c.FixedDigits(2, &minute) || !c.Consume(':') ||
      !c.FixedDigits(2, &second)) {
    return false;
  }
  if ((c.Consume('.') && !c.Fraction(&fraction)) || minute > 59 || second > 59) return false;
  uint64_t magnitude = 0;
  const auto rest = static_cast<uint64_t>((minute * 60 + second) * kMicrosPerSecond + fraction);
  if (__builtin_mul_overflow(static_cast<uint64_t>(hours), uint64_t{3600} * kMicrosPerSecond,
                             &magnitude) ||
      __builtin_add_overflow(magnitude, rest, &magnitude)) {
    return false;
  }
  return ApplySign(magnitude, negative, micros);
}

// Interval units in the order EncodeInterval prints them; each appears at most once.
enum IntervalUnit { kYears, kMonths, kDays, kNoUnit };

IntervalUnit ParseIntervalUnit(std::string_view word) {
  if (word == "year" || word == "years") return kYears;
  if (word == "mon" || word == "mons") return kMonths;
  if (word == "day" || word == "days") return kDays;
  return kNoUnit;
}

struct IntervalFields {
  int64_t months = 0;
  int64_t days = 0;
  int64_t micros = 0;
};

// One "[-+]N unit" or the final "[-+]H:MM:SS" field. `next_unit` enforces the order.
bool ParseIntervalField(Cursor& c, int* next_unit, bool* saw_clock, IntervalFields* f) {
  const bool negative = c.Consume('-');
  if (!negative) c.Consume('+');
  int64_t number = 0;
  if (c.Number(18, &number) == 0) return false;
  if (c.Peek() == ':') {
    *saw_clock = true;
    return ParseIntervalClock(c, negative, number, &f->micros);
  }
  const IntervalUnit unit = c.Consume(' ') ? ParseIntervalUnit(c.Word()) : kNoUnit;
  if (unit == kNoUnit || unit < *next_unit) return false;
  *next_unit = unit + 1;
  const int64_t value = negative ? -number : number;
  switch (unit) {
    case kYears:
      return !__builtin_mul_overflow(value, 12, &f->months);
    case kMonths:
      return !__builtin_add_overflow(f->months, value, &f->months);
    default:
      f->days = value;
      return true;
  }
}

bool FitsInt32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

}  // namespace

bool ParseDateText(std::string_view text, Date* out) {
  Infinity infinity = Infinity::kFinite;
  int64_t days = 0;
  if (!ParseInfinity(text, &infinity)) {
    const bool bc = ConsumeBcSuffix(&text);
    Cursor c(text);
    if (!ParseYmd(c, bc, &days) || !c.AtEnd() || !FitsInt32(days)) return false;
  }
  out->days = static_cast<int32_t>(days);
  out->infinity = infinity;
  return true;
}

bool ParseTimeText(std::string_view text, int64_t* out) {
  Cursor c(text);
  return ParseClock(c, /*allow_24=*/true, out) && c.AtEnd();
}

bool ParseTimeTzText(std::string_view text, TimeTz* out) {
  Cursor c(text);
  int64_t micros = 0;
  int32_t offset = 0;
  if (!ParseClock(c, /*allow_24=*/true, &micros) || !ParseOffset(c, &offset) || !c.AtEnd()) {
    return false;
  }
  out->micros = micros;
  out->offset_seconds = offset;
  return true;
}

bool ParseTimestampText(std::string_view text, bool with_zone, Timestamp* out, bool* out_of_range) {
  Infinity infinity = Infinity::kFinite;
  int64_t micros = 0;
  if (!ParseInfinity(text, &infinity)) {
    const bool bc = ConsumeBcSuffix(&text);
    Cursor c(text);
    int64_t days = 0;
    int64_t time_of_day = 0;
    int32_t offset = 0;
    if (!ParseYmd(c, bc, &days) || !c.Consume(' ') ||
        !ParseClock(c, /*allow_24=*/false, &time_of_day) ||
        (with_zone && !ParseOffset(c, &offset)) || !c.AtEnd()) {
      return false;
    }
    // Local time minus the offset east of UTC is UTC. The last ~30 years of
    // PostgreSQL's range (up to 294276 AD) do not fit in int64 microseconds since 1970.
    if (__builtin_mul_overflow(days, kMicrosPerDay, &micros) ||
        __builtin_add_overflow(micros, time_of_day - offset * kMicrosPerSecond, &micros)) {
      if (out_of_range != nullptr) *out_of_range = true;
      return false;
    }
  }
  out->micros = micros;
  out->infinity = infinity;
  return true;
}

bool ParseIntervalText(std::string_view text, Interval* out) {
  Infinity infinity = Infinity::kFinite;
  IntervalFields fields;
  if (!ParseInfinity(text, &infinity)) {
    Cursor c(text);
    int next_unit = kYears;
    bool saw_clock = false;
    do {
      if (!ParseIntervalField(c, &next_unit, &saw_clock, &fields)) return false;
    } while (!saw_clock && c.Consume(' '));
    if (!c.AtEnd() || !FitsInt32(fields.months) || !FitsInt32(fields.days)) return false;
  }
  out->months = static_cast<int32_t>(fields.months);
  out->days = static_cast<int32_t>(fields.days);
  out->micros = fields.micros;
  out->infinity = infinity;
  return true;
}

}  // namespace pgcdc::internal
