#include "internal/shortest_double.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <string_view>

#include "fmt/format.h"

namespace pgcdc::internal {
namespace {

// A decimal d1.d2d3... x 10^exponent, from fmt's "{}" (shortest round-trip digits, in
// fixed or exponent notation by fmt's own rule).
struct Decimal {
  std::string digits;  // no leading or trailing zeros; "0" for zero
  int exponent = 0;
};

Decimal ParseFmtOutput(std::string_view text) {
  Decimal d;
  int exponent_shift = 0;
  const size_t e = text.find('e');
  if (e != std::string_view::npos) {
    exponent_shift = std::atoi(std::string(text.substr(e + 1)).c_str());
    text = text.substr(0, e);
  }
  const size_t dot = text.find('.');
  const int int_len = static_cast<int>(dot == std::string_view::npos ? text.size() : dot);
  for (char c : text) {
    if (c != '.') d.digits.push_back(c);
  }
  const size_t first = d.digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{"0", 0};
  d.digits.erase(0, first);
  d.digits.erase(d.digits.find_last_not_of('0') + 1);
  d.exponent = int_len - 1 - static_cast<int>(first) + exponent_shift;
  return d;
}

std::string Scientific(const Decimal& d) {
  std::string s(1, d.digits[0]);
  if (d.digits.size() > 1) s.append(".").append(d.digits, 1, std::string::npos);
  const int abs_exp = std::abs(d.exponent);
  s.append(d.exponent < 0 ? "e-" : "e+");
  if (abs_exp < 10) s.push_back('0');
  s.append(std::to_string(abs_exp));
  return s;
}

std::string Fixed(const Decimal& d) {
  const int n = static_cast<int>(d.digits.size());
  if (d.exponent < 0) return "0." + std::string(-d.exponent - 1, '0') + d.digits;
  if (d.exponent + 1 >= n) return d.digits + std::string(d.exponent + 1 - n, '0');
  return d.digits.substr(0, d.exponent + 1) + "." + d.digits.substr(d.exponent + 1);
}

}  // namespace

void AppendShortestDoubleFromFmt(double value, std::string* out) {
  char buf[40];
  const auto end = fmt::format_to_n(buf, sizeof buf, "{}", value).out;
  std::string_view text(buf, static_cast<size_t>(end - buf));
  if (!text.empty() && text[0] == '-') {
    out->push_back('-');
    text.remove_prefix(1);
  }
  const Decimal d = ParseFmtOutput(text);
  const std::string fixed = Fixed(d);
  const std::string scientific = Scientific(d);
  if (scientific.size() < fixed.size()) {
    out->append(scientific);
  } else if (d.exponent + 1 > static_cast<int>(d.digits.size())) {
    // An integer wider than its shortest digits: to_chars prints the value's exact
    // digits (as printf's %.0f does) rather than zeros; the length is the same.
    fmt::format_to(std::back_inserter(*out), "{:.0f}", std::fabs(value));
  } else {
    out->append(fixed);
  }
}

void AppendShortestDouble(double value, std::string* out) {
#if defined(__cpp_lib_to_chars)
  char buf[32];  // the longest shortest-round-trip double is 24 characters
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
#else
  AppendShortestDoubleFromFmt(value, out);
#endif
}

}  // namespace pgcdc::internal
