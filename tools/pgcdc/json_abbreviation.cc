#include "json_abbreviation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pgcdc::cli {
namespace {

// The end of the string literal whose opening quote is at `open` (the closing quote).
size_t LiteralEnd(std::string_view json, size_t open) {
  size_t i = open + 1;
  while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
  return i;
}

// Where to cut `body` at or before `keep` bytes: not inside an escape (\n, \uXXXX)
// nor a UTF-8 sequence.
size_t CutPoint(std::string_view body, size_t keep) {
  size_t i = 0;
  while (i < body.size()) {
    size_t next = i + 1;
    if (body[i] == '\\') {
      next = i + (body[i + 1] == 'u' ? 6 : 2);
    } else {
      while (next < body.size() && (static_cast<unsigned char>(body[next]) & 0xC0) == 0x80) {
        ++next;
      }
    }
    if (next > keep) break;
    i = next;
  }
  return i;
}

}  // namespace

std::string AbbreviateJsonStrings(std::string_view json, size_t keep) {
  std::string out;
  out.reserve(json.size());
  size_t i = 0;
  while (i < json.size()) {
    const size_t open = json.find('"', i);
    if (open == std::string_view::npos) break;
    const size_t close = LiteralEnd(json, open);
    const std::string_view body = json.substr(open + 1, close - open - 1);
    out.append(json.substr(i, open + 1 - i));
    if (body.size() <= keep) {
      out.append(body);
    } else {
      const size_t cut = CutPoint(body, keep);
      out.append(body.substr(0, cut));
      absl::StrAppend(&out, "\u2026 (", body.size() - cut, " more bytes)");
    }
    out.push_back('"');
    i = close + 1;
  }
  out.append(json.substr(std::min(i, json.size())));
  return out;
}

}  // namespace pgcdc::cli
