#include "values/scalar_text.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "absl/strings/charconv.h"

namespace pgcdc::internal {
namespace {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// -1 for non-hex characters.
constexpr std::array<int8_t, 256> BuildHexTable() {
  std::array<int8_t, 256> table{};
  for (size_t c = 0; c < 256; ++c) table[c] = -1;
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[c] = static_cast<int8_t>(c - 'A' + 10);
  return table;
}

constexpr std::array<int8_t, 256> kHex = BuildHexTable();

int HexValue(char c) { return kHex[static_cast<unsigned char>(c)]; }

// Two hex digits at `p` -> byte value, or -1.
int HexByte(const char* p) {
  const int hi = HexValue(p[0]);
  const int lo = HexValue(p[1]);
  return (hi | lo) < 0 ? -1 : (hi << 4) | lo;
}

size_t CountDigits(std::string_view text, size_t pos) {
  size_t n = 0;
  while (pos + n < text.size() && IsDigit(text[pos + n])) ++n;
  return n;
}

}  // namespace

bool ParseBoolText(std::string_view text, bool* out) {
  if (text.size() != 1 || (text[0] != 't' && text[0] != 'f')) return false;
  *out = text[0] == 't';
  return true;
}

bool ParseIntText(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  const char* end = text.data() + text.size();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) return false;
  *out = value;
  return true;
}

bool ParseUint32Text(std::string_view text, int64_t* out) {
  const char* end = text.data() + text.size();
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return false;
  *out = value;
  return true;
}

bool ParseFloatText(std::string_view text, double* out) {
  if (text == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (text == "Infinity" || text == "-Infinity") {
    *out = text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  const char* end = text.data() + text.size();
  double value = 0;
  // absl's from_chars: GCC 10 (the portable wheels' compiler) has no floating-point one.
  auto [ptr, ec] = absl::from_chars(text.data(), end, value);
  // from_chars also takes "inf"/"nan" spellings PostgreSQL never prints; the special
  // values were handled above, so anything non-finite here is malformed.
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

bool IsNumericText(std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") return true;
  size_t pos = 0;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) pos = 1;
  const size_t int_digits = CountDigits(text, pos);
  if (int_digits == 0) return false;
  pos += int_digits;
  if (pos == text.size()) return true;
  if (text[pos] != '.') return false;
  const size_t frac_digits = CountDigits(text, pos + 1);
  return frac_digits > 0 && pos + 1 + frac_digits == text.size();
}

// cash_out with lc_monetary=C falls back to '$', ',' every 3 digits, '.', 2 fraction
// digits and a leading '-': "-$92,233,720,368,547,758.08".
bool ParseMoneyText(std::string_view text, std::string* out) {
  size_t pos = 0;
  if (!text.empty() && text[0] == '-') {
    out->push_back('-');
    pos = 1;
  }
  if (pos >= text.size() || text[pos] != '$') return false;
  ++pos;
  const size_t first_group = CountDigits(text, pos);
  if (first_group == 0 || first_group > 3) return false;
  out->append(text.data() + pos, first_group);
  pos += first_group;
  while (pos < text.size() && text[pos] == ',') {
    if (CountDigits(text, pos + 1) != 3) return false;
    out->append(text.data() + pos + 1, 3);
    pos += 4;
  }
  if (pos + 3 != text.size() || text[pos] != '.' || CountDigits(text, pos + 1) != 2) {
    return false;
  }
  out->append(text.data() + pos, 3);
  return true;
}

// absl::HexStringToBytes (20220623) does not reject non-hex input, hence this loop.
bool ParseByteaHexText(std::string_view text, std::string* out) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return false;
  }
  const size_t n = (text.size() - 2) / 2;
  const size_t base = out->size();
  out->resize(base + n);
  const char* in = text.data() + 2;
  for (size_t i = 0; i < n; ++i) {
    const int byte = HexByte(in + 2 * i);
    if (byte < 0) return false;
    (*out)[base + i] = static_cast<char>(byte);
  }
  return true;
}

bool ParseUuidText(std::string_view text, std::string* out) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  const size_t base = out->size();
  out->resize(base + 16);
  size_t pos = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (text[pos] == '-') ++pos;
    const int byte = HexByte(text.data() + pos);
    if (byte < 0) return false;
    (*out)[base + i] = static_cast<char>(byte);
    pos += 2;
  }
  return true;
}

bool IsInetText(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest valid inet text is 49 bytes
  // ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128").
  char buf[64];
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (addr.empty() || addr.size() >= sizeof(buf)) return false;
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';
  unsigned char bytes[16];
  const bool v6 = addr.find(':') != std::string_view::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, bytes) != 1) return false;
  if (slash == std::string_view::npos) return true;
  const std::string_view bits_text = text.substr(slash + 1);
  int64_t bits = 0;
  return !bits_text.empty() && bits_text[0] != '-' &&
         ParseIntText(bits_text, 0, v6 ? 128 : 32, &bits);
}

bool IsMacaddrText(std::string_view text, int groups) {
  if (text.size() != static_cast<size_t>(groups) * 3 - 1) return false;
  for (int i = 0; i < groups; ++i) {
    if (HexByte(text.data() + 3 * i) < 0) return false;
    if (i + 1 < groups && text[3 * i + 2] != ':') return false;
  }
  return true;
}

}  // namespace pgcdc::internal
