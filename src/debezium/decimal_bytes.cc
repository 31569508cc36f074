#include "debezium/decimal_bytes.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace pgcdc::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digits of the unscaled value (no sign, no point), rounded half-even to `scale`.
std::optional<std::string> UnscaledDigits(std::string_view text, int scale, bool* negative) {
  *negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  const size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : text.substr(point + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  for (char c : whole) {
    if (!IsDigit(c)) return std::nullopt;
  }
  for (char c : fraction) {
    if (!IsDigit(c)) return std::nullopt;
  }
  std::string digits(whole);
  if (scale < 0) {
    // numeric(p, -s) rounds to 10^s: those integer digits are zeros to drop.
    const size_t drop = std::min(digits.size(), static_cast<size_t>(-scale));
    digits.resize(digits.size() - drop);
    return digits;
  }
  const size_t keep = static_cast<size_t>(scale);
  if (fraction.size() <= keep) {
    digits.append(fraction);
    digits.append(keep - fraction.size(), '0');
    return digits;
  }
  digits.append(fraction.substr(0, keep));
  const std::string_view dropped = fraction.substr(keep);
  const bool above_half =
      dropped[0] > '5' ||
      (dropped[0] == '5' && dropped.find_first_not_of('0', 1) != std::string_view::npos);
  const bool half = dropped[0] == '5' && !above_half;
  const bool odd = !digits.empty() && (digits.back() - '0') % 2 == 1;
  if (above_half || (half && odd)) {
    size_t i = digits.size();
    while (i > 0 && digits[i - 1] == '9') digits[--i] = '0';
    if (i == 0) {
      digits.insert(digits.begin(), '1');
    } else {
      ++digits[i - 1];
    }
  }
  return digits;
}

// Big-endian magnitude of a decimal digit string, without leading zero bytes.
std::vector<uint8_t> Magnitude(const std::string& digits) {
  std::vector<uint8_t> little;  // little-endian while multiplying by ten
  for (char c : digits) {
    uint32_t carry = static_cast<uint32_t>(c - '0');
    for (uint8_t& b : little) {
      const uint32_t v = b * 10u + carry;
      b = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    if (carry != 0) little.push_back(static_cast<uint8_t>(carry));
  }
  while (!little.empty() && little.back() == 0) little.pop_back();
  return std::vector<uint8_t>(little.rbegin(), little.rend());
}

}  // namespace

std::optional<std::string> DecimalUnscaledBytes(std::string_view text, int scale) {
  bool negative = false;
  std::optional<std::string> digits = UnscaledDigits(text, scale, &negative);
  if (!digits) return std::nullopt;
  std::vector<uint8_t> bytes = Magnitude(*digits);
  if (bytes.empty()) negative = false;  // -0.00 is zero
  if (negative) {
    // Two's complement: invert, add one.
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(~b);
    for (size_t i = bytes.size(); i > 0; --i) {
      if (++bytes[i - 1] != 0) break;
    }
  }
  // A sign byte when the top bit says otherwise (and for zero, which needs one byte).
  if (bytes.empty() || ((bytes[0] & 0x80) != 0) != negative) {
    bytes.insert(bytes.begin(), negative ? 0xff : 0x00);
  }
  while (bytes.size() > 1 && ((bytes[0] == 0xff && (bytes[1] & 0x80) != 0) ||
                              (bytes[0] == 0x00 && (bytes[1] & 0x80) == 0))) {
    bytes.erase(bytes.begin());
  }
  return std::string(bytes.begin(), bytes.end());
}

int DecimalScale(std::string_view text) {
  const size_t point = text.find('.');
  return point == std::string_view::npos ? 0 : static_cast<int>(text.size() - point - 1);
}

}  // namespace pgcdc::internal
