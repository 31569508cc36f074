#include "snapshot/copy_text.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace pgcdc::internal {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the unescaped form of `field` (which contains a backslash) to `out`. False
// for a backslash that ends the field: COPY TO escapes every backslash it writes
// (CopyAttributeOutText), so that is damaged input, not data.
bool Unescape(std::string_view field, std::string* out) {
  for (size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 1 == field.size()) return false;
    const char e = field[++i];
    switch (e) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case 'x': {
        int value = 0;
        int digits = 0;
        while (digits < 2 && i + 1 < field.size() && HexDigit(field[i + 1]) >= 0) {
          value = value * 16 + HexDigit(field[++i]);
          ++digits;
        }
        if (digits == 0) {
          out->push_back('x');
        } else {
          out->push_back(static_cast<char>(value));
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int value = e - '0';
          for (int digits = 1;
               digits < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7';
               ++digits) {
            value = value * 8 + (field[++i] - '0');
          }
          out->push_back(static_cast<char>(value & 0xff));
        } else {
          out->push_back(e);  // "\\" and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

}  // namespace

absl::Status SplitCopyRow(std::string_view line, size_t columns, TupleData* tuple,
                          std::string* scratch) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  tuple->columns.clear();
  scratch->clear();
  // Unescaped text is never longer than its escaped form: with this one reservation
  // the scratch buffer never reallocates, so views into it stay valid.
  scratch->reserve(line.size());
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    const std::string_view raw =
        line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    TupleColumn& field = tuple->columns.emplace_back();
    if (raw.size() == 2 && raw[0] == '\\' && raw[1] == 'N') {
      field.kind = TupleColumn::Kind::kNull;
    } else {
      field.kind = TupleColumn::Kind::kText;
      if (std::memchr(raw.data(), '\\', raw.size()) == nullptr) {
        field.data = raw;
      } else {
        const size_t offset = scratch->size();
        if (!Unescape(raw, scratch)) {
          return absl::DataLossError(absl::StrCat("a COPY row ends field ", tuple->columns.size(),
                                                  " with a lone backslash"));
        }
        field.data = std::string_view(*scratch).substr(offset);
      }
    }
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (tuple->columns.size() != columns) {
    return absl::DataLossError(absl::StrCat("a COPY row has ", tuple->columns.size(),
                                            " fields where ", columns, " were expected"));
  }
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
