#include "connection/dsn_redaction.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "internal/strings.h"

namespace pgcdc::internal {
namespace {

constexpr char kMask[] = "********";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Best effort: a malformed escape is kept as written.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void Add(std::string value, std::vector<std::string>* out) {
  if (!value.empty()) out->push_back(std::move(value));
}

// postgresql://user:password@host...: libpq takes the user info up to the last '@'
// before the path.
void AddUriUserInfo(std::string_view dsn, std::vector<std::string>* out) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (!absl::StartsWithIgnoreCase(Sv(dsn), Sv(scheme))) continue;
    std::string_view rest = dsn.substr(scheme.size());
    rest = rest.substr(0, std::min(rest.find('/'), rest.find('?')));
    const size_t at = rest.rfind('@');
    if (at == std::string_view::npos) return;
    std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view password = userinfo.substr(colon + 1);
    Add(std::string(password), out);
    Add(PercentDecode(password), out);
    return;
  }
}

// password=VALUE: in key=value form (spaces around '=', single-quoted values with
// backslash escapes) or in a URI query (up to the next '&').
void AddPasswordValues(std::string_view dsn, std::vector<std::string>* out) {
  const std::string lower = absl::AsciiStrToLower(Sv(dsn));
  for (size_t pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", pos + 1)) {
    size_t i = pos + 8;
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    if (i >= dsn.size() || dsn[i] != '=') continue;
    ++i;
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    std::string value;
    if (i < dsn.size() && dsn[i] == '\'') {
      for (++i; i < dsn.size() && dsn[i] != '\''; ++i) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value.push_back(dsn[i]);
      }
      Add(std::string(dsn.substr(pos)), out);  // an unterminated quote runs to the end
    } else {
      const size_t end = dsn.find_first_of(" \t\n&", i);
      value = std::string(dsn.substr(i, end == std::string_view::npos ? end : end - i));
      Add(PercentDecode(value), out);
    }
    Add(std::move(value), out);
  }
}

// Replaces the contents of every "..." in `text` but "=" (libpq: missing "=" after).
std::string MaskQuoted(std::string_view text) {
  std::string out;
  size_t open = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') {
      if (open == std::string_view::npos) out.push_back(text[i]);
    } else if (open == std::string_view::npos) {
      open = i;
    } else {
      const std::string_view inside = text.substr(open + 1, i - open - 1);
      out.append("\"").append(inside == "=" ? "=" : kMask).append("\"");
      open = std::string_view::npos;
    }
  }
  if (open != std::string_view::npos) out.append("\"").append(kMask);
  return out;
}

}  // namespace

std::vector<std::string> PasswordCandidates(std::string_view dsn) {
  std::vector<std::string> out;
  AddUriUserInfo(dsn, &out);
  AddPasswordValues(dsn, &out);
  // Longest first, so that a password containing another candidate is masked whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string RedactPasswords(std::string_view dsn, std::string_view message, bool dsn_rejected) {
  const std::vector<std::string> candidates = PasswordCandidates(dsn);
  std::string out(message);
  for (const std::string& c : candidates) {
    out = absl::StrReplaceAll(out, {{c, kMask}});
  }
  if (dsn_rejected &&
      (!candidates.empty() || absl::StrContains(absl::AsciiStrToLower(Sv(dsn)), "password"))) {
    out = MaskQuoted(out);
  }
  return out;
}

}  // namespace pgcdc::internal
