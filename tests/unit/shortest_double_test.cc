// The fmt-based spelling (used where the standard library has no floating-point
// to_chars, as in the portable wheels) against std::to_chars, the reference.
#include "internal/shortest_double.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace pgcdc::internal {
namespace {

#if defined(__cpp_lib_to_chars)
std::string Reference(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::string FromFmt(double v) {
  std::string out;
  AppendShortestDoubleFromFmt(v, &out);
  return out;
}

TEST(ShortestDoubleTest, MatchesToCharsOnChosenValues) {
  for (double v : {0.0,
                   -0.0,
                   1.0,
                   -1.0,
                   0.1,
                   0.5,
                   1.5,
                   10.0,
                   100.0,
                   123.456,
                   1e15,
                   1e16,
                   1e17,
                   1e21,
                   1e22,
                   1e23,
                   1e-4,
                   1e-5,
                   1e-7,
                   0.0001234,
                   123456789012345680.0,
                   9007199254740993.0,
                   5e-324,
                   2.2250738585072014e-308,
                   std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::lowest(),
                   std::numeric_limits<double>::min(),
                   3.14159,
                   299792458.0,
                   1e100,
                   1.7e-300}) {
    EXPECT_EQ(FromFmt(v), Reference(v)) << v;
  }
}

TEST(ShortestDoubleTest, MatchesToCharsOnRandomBitPatterns) {
  std::mt19937_64 rng(20261205);
  int compared = 0;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    ASSERT_EQ(FromFmt(v), Reference(v)) << "bits " << bits;
    ++compared;
  }
  EXPECT_GT(compared, 190000);
}

TEST(ShortestDoubleTest, MatchesToCharsOnShortDecimals) {
  // Values people store: few digits, every magnitude (where the notation choice flips).
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const double mantissa = static_cast<double>(rng() % 100000) / 100.0;
    const double v = mantissa * std::pow(10.0, static_cast<int>(rng() % 40) - 20);
    ASSERT_EQ(FromFmt(v), Reference(v)) << v;
    ASSERT_EQ(FromFmt(-v), Reference(-v)) << -v;
  }
}
#endif

TEST(ShortestDoubleTest, ReadsBackAsTheSameDouble) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    std::string text;
    AppendShortestDoubleFromFmt(v, &text);
    ASSERT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

}  // namespace
}  // namespace pgcdc::internal
