#include "values/array_text.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"

namespace pgcdc::internal {
namespace {

constexpr int kMaxDims = 6;  // PostgreSQL's MAXDIM

// array_in's notion of whitespace around elements and braces.
constexpr bool IsArraySpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Unquoted NULL, in any case, is SQL NULL; a quoted "NULL" is the string.
bool IsNullLiteral(std::string_view raw) {
  if (raw.size() != 4) return false;
  constexpr std::string_view kNull = "NULL";
  for (size_t i = 0; i < 4; ++i) {
    if (absl::ascii_toupper(static_cast<unsigned char>(raw[i])) != kNull[i]) return false;
  }
  return true;
}

class ArrayParser {
 public:
  ArrayParser(std::string_view text, const BuiltinType& element_type, ArrayElementDecoder decode)
      : text_(text), element_type_(element_type), decode_(decode) {}

  bool Parse(const ValueWriter& out) {
    data_ = out.data();
    first_ = data_->values.size();
    SkipSpace();
    if (Peek() == '[' && !ParseBounds()) return false;
    SkipSpace();
    if (!Consume('{') || !ParseLevel(0)) return false;
    SkipSpace();
    if (pos_ != text_.size() || !CheckBounds()) return false;
    const int dims = leaf_depth_ + 1;
    for (int d = 0; d < dims; ++d) {
      ValueSlot& header = data_->values.emplace_back();
      header.a = dim_length_[d];
      header.b = num_bounds_ > 0 ? static_cast<int32_t>(lower_[d]) : 1;
    }
    ValueSlot& array = out.slot();
    array.kind = ValueKind::kArray;
    array.a = static_cast<int32_t>(element_type_.oid);
    array.b = dims;
    array.size = static_cast<uint32_t>(elements_);
    array.i = static_cast<int64_t>(first_);
    return true;
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && IsArraySpace(text_[pos_])) ++pos_;
  }

  bool ParseBound(int64_t* out) {
    const bool negative = Consume('-');
    int64_t value = 0;
    size_t digits = 0;
    for (; pos_ < text_.size() && absl::ascii_isdigit(text_[pos_]) && digits < 10; ++digits) {
      value = value * 10 + (text_[pos_++] - '0');
    }
    *out = negative ? -value : value;
    return digits > 0;
  }

  // "[lb:ub][lb:ub]=": printed when some lower bound is not 1.
  bool ParseBounds() {
    while (Consume('[')) {
      if (num_bounds_ == kMaxDims) return false;
      int64_t& lower = lower_[num_bounds_];
      int64_t& upper = upper_[num_bounds_];
      if (!ParseBound(&lower) || !Consume(':') || !ParseBound(&upper) || !Consume(']')) {
        return false;
      }
      ++num_bounds_;
    }
    return num_bounds_ > 0 && Consume('=');
  }

  // After the '{' of a level at `depth`. Elements are appended in row-major order.
  bool ParseLevel(int depth) {
    SkipSpace();
    // PostgreSQL prints an empty array as a bare "{}", never as an empty sub-array.
    if (Consume('}')) return depth == 0;
    int count = 0;
    while (true) {
      SkipSpace();
      if (Consume('{')) {
        if (depth + 1 == kMaxDims || (leaf_depth_ >= 0 && depth >= leaf_depth_)) return false;
        if (!ParseLevel(depth + 1)) return false;
      } else {
        if (leaf_depth_ >= 0 && leaf_depth_ != depth) return false;
        leaf_depth_ = depth;
        data_->values.emplace_back();
        if (!ParseElement(ValueWriter(data_, first_ + elements_++))) return false;
      }
      ++count;
      SkipSpace();
      if (Consume('}')) break;
      if (!Consume(element_type_.delim)) return false;
    }
    // Arrays are rectangular: every sub-array of a dimension has the same length.
    if (dim_length_[depth] < 0) dim_length_[depth] = count;
    return dim_length_[depth] == count;
  }

  bool ParseElement(const ValueWriter& out) {
    std::string_view raw;
    bool escaped = false;
    const bool quoted = Consume('"');
    const size_t start = pos_;
    // Local copies: the loop reads chars, which may alias members, so scanning through
    // pos_ and text_ made the compiler reload and store them on every byte.
    const char* const text = text_.data();
    const size_t size = text_.size();
    const char delim = element_type_.delim;
    size_t pos = pos_;
    while (pos < size) {
      const char c = text[pos];
      if (quoted ? c == '"' : (c == delim || c == '}')) break;
      if (!quoted && (c == '{' || c == '"')) return false;
      if (c == '\\') {
        escaped = true;
        ++pos;
      }
      ++pos;
    }
    pos_ = pos;
    if (pos_ >= text_.size()) return false;
    raw = text_.substr(start, pos_ - start);
    if (quoted) {
      ++pos_;  // closing quote
    } else {
      // array_in drops whitespace after an unquoted element; array_out never adds it.
      while (!escaped && !raw.empty() && IsArraySpace(raw.back())) raw.remove_suffix(1);
      if (raw.empty()) return false;
      if (!escaped && IsNullLiteral(raw)) {
        out.SetKind(ValueKind::kNull);
        return true;
      }
    }
    if (escaped) raw = Unescape(raw);
    return decode_(element_type_, raw, out);
  }

  // Drops each backslash and keeps the character after it. Only escaped elements pay
  // for the copy; the buffer is reused across the elements of one array.
  std::string_view Unescape(std::string_view raw) {
    scratch_.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\') ++i;
      scratch_.push_back(raw[i]);
    }
    return scratch_;
  }

  // Checks explicit bounds against the parsed shape.
  bool CheckBounds() const {
    if (num_bounds_ == 0) return true;
    if (num_bounds_ != leaf_depth_ + 1) return false;
    for (int d = 0; d < num_bounds_; ++d) {
      if (lower_[d] < INT32_MIN || upper_[d] > INT32_MAX ||
          upper_[d] - lower_[d] + 1 != dim_length_[d]) {
        return false;
      }
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  const BuiltinType& element_type_;
  ArrayElementDecoder decode_;
  int leaf_depth_ = -1;  // depth of the elements; -1 until the first one
  int dim_length_[kMaxDims] = {-1, -1, -1, -1, -1, -1};
  int num_bounds_ = 0;
  int64_t lower_[kMaxDims] = {};
  int64_t upper_[kMaxDims] = {};
  std::string scratch_;
  ChangeData* data_ = nullptr;
  size_t first_ = 0;     // index of the first element slot
  size_t elements_ = 0;  // element slots appended so far
};

}  // namespace

bool ParseArrayText(std::string_view text, const BuiltinType& element_type,
                    ArrayElementDecoder decode, const ValueWriter& out) {
  return ArrayParser(text, element_type, decode).Parse(out);
}

}  // namespace pgcdc::internal
