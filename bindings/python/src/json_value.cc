#include "json_value.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

#include "absl/strings/charconv.h"
#include "string_cache.h"

namespace pgcdc::python {
namespace {

constexpr int kMaxDepth = 200;
constexpr size_t kMaxCachedKeyBytes = 64;
constexpr size_t kMaxCachedKeys = 4096;

// Object keys seen before (str is immutable: sharing one is invisible).
StringCache<512, 64>& Keys() {
  static auto* cache = new StringCache<512, 64>();  // never destroyed: outlives Python
  return *cache;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  Parser(std::string_view text, bool* unsupported)
      : p_(text.data()), end_(text.data() + text.size()), unsupported_(unsupported) {}

  PyObject* Document() {
    SkipSpace();
    PyObject* value = Value(0);
    if (value == nullptr) return nullptr;
    SkipSpace();
    if (p_ != end_) {  // extra data: json.loads reports it
      Py_DECREF(value);
      return Unsupported();
    }
    return value;
  }

 private:
  PyObject* Unsupported() {
    *unsupported_ = true;
    return nullptr;
  }

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Consume(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  PyObject* Value(int depth) {
    if (p_ == end_) return Unsupported();
    switch (*p_) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String(/*key=*/false);
      case 't':
        return Literal("true", Py_True);
      case 'f':
        return Literal("false", Py_False);
      case 'n':
        return Literal("null", Py_None);
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return Number();
        return Unsupported();  // NaN, Infinity, or not JSON
    }
  }

  PyObject* Literal(std::string_view word, PyObject* value) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return Unsupported();
    }
    p_ += word.size();
    Py_INCREF(value);
    return value;
  }

  PyObject* Object(int depth) {
    if (depth > kMaxDepth) return Unsupported();
    ++p_;  // '{'
    PyObject* dict = PyDict_New();
    if (dict == nullptr) return nullptr;
    SkipSpace();
    if (Consume('}')) return dict;
    for (;;) {
      if (p_ == end_ || *p_ != '"') return Fail(dict, /*unsupported=*/true);
      PyObject* key = String(/*key=*/true);
      if (key == nullptr) return Fail(dict);
      SkipSpace();
      PyObject* value = nullptr;
      if (Consume(':')) {
        SkipSpace();
        value = Value(depth);
      } else {
        Unsupported();
      }
      const int rc = value ? PyDict_SetItem(dict, key, value) : -1;
      Py_DECREF(key);
      Py_XDECREF(value);
      if (rc < 0) return Fail(dict);
      SkipSpace();
      if (Consume('}')) return dict;
      if (!Consume(',')) return Fail(dict, /*unsupported=*/true);
      SkipSpace();
    }
  }

  PyObject* Array(int depth) {
    if (depth > kMaxDepth) return Unsupported();
    ++p_;  // '['
    PyObject* list = PyList_New(0);
    if (list == nullptr) return nullptr;
    SkipSpace();
    if (Consume(']')) return list;
    for (;;) {
      PyObject* value = Value(depth);
      const int rc = value ? PyList_Append(list, value) : -1;
      Py_XDECREF(value);
      if (rc < 0) return Fail(list);
      SkipSpace();
      if (Consume(']')) return list;
      if (!Consume(',')) return Fail(list, /*unsupported=*/true);
      SkipSpace();
    }
  }

  // Drops a partly built container; the reason (unsupported or a Python error) is
  // already recorded unless `unsupported` says so.
  PyObject* Fail(PyObject* container, bool unsupported = false) {
    Py_DECREF(container);
    if (unsupported) Unsupported();
    return nullptr;
  }

  PyObject* String(bool key) {
    const char* start = ++p_;  // after '"'
    while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) {
      ++p_;
    }
    if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return Unsupported();
    if (*p_ == '"') {  // no escapes: the common case
      std::string_view s(start, static_cast<size_t>(p_ - start));
      ++p_;
      return key ? Keys().Get(s) : NewStr(s);
    }
    std::string unescaped(start, static_cast<size_t>(p_ - start));
    if (!Unescape(&unescaped)) return Unsupported();
    return key ? Keys().Get(unescaped) : NewStr(unescaped);
  }

  // Continues a string at a backslash, appending to `out` up to the closing quote.
  bool Unescape(std::string* out) {
    while (p_ < end_) {
      const char c = *p_++;
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (p_ == end_) return false;
      switch (const char e = *p_++) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
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
        case 'u': {
          int32_t cp = Hex4();
          if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;  // lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {                          // needs its low half
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            const int32_t low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(static_cast<uint32_t>(cp), out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  int32_t Hex4() {
    if (end_ - p_ < 4) return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = HexDigit(*p_++);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, as json.loads reads it: int for
  // integers (any size), float (correctly rounded, overflow to inf) otherwise.
  PyObject* Number() {
    const char* start = p_;
    const bool negative = Consume('-');
    const char* digits = p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return Unsupported();  // e.g. -Infinity
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    const size_t int_digits = static_cast<size_t>(p_ - digits);
    bool is_float = false;
    if (p_ < end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (!SkipDigits()) return Unsupported();
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!SkipDigits()) return Unsupported();
    }
    if (!is_float && int_digits <= 18) {
      int64_t v = 0;
      for (const char* d = digits; d < p_; ++d) v = v * 10 + (*d - '0');
      return PyLong_FromLongLong(negative ? -v : v);
    }
    if (!is_float) {
      const std::string text(start, static_cast<size_t>(p_ - start));
      PyObject* v = PyLong_FromString(text.c_str(), nullptr, 10);
      if (v == nullptr) {  // e.g. beyond sys.get_int_max_str_digits(): json.loads says so
        PyErr_Clear();
        return Unsupported();
      }
      return v;
    }
    // Correctly rounded like float(); out of range becomes +-inf or 0, as float() does.
    double d = 0;
    // absl's from_chars: GCC 10 (the portable wheels' compiler) has no floating-point one.
    const absl::from_chars_result r = absl::from_chars(start, p_, d);
    if (r.ptr != p_) return Unsupported();
    if (r.ec == std::errc::result_out_of_range) return FloatOutOfRange(start);
    return PyFloat_FromDouble(d);
  }

  // from_chars reports overflow and underflow without a value; float() gives +-inf for
  // the first and +-0.0 or the nearest subnormal for the second: let it decide.
  PyObject* FloatOutOfRange(const char* start) {
    const std::string text(start, static_cast<size_t>(p_ - start));
    const double d = PyOS_string_to_double(text.c_str(), nullptr, nullptr);
    if (d == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return Unsupported();
    }
    return PyFloat_FromDouble(d);
  }

  bool SkipDigits() {
    const char* first = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > first;
  }

  const char* p_;
  const char* end_;
  bool* unsupported_;
};

}  // namespace

PyObject* JsonToPythonFast(std::string_view text, bool* unsupported) {
  *unsupported = false;
  return Parser(text, unsupported).Document();
}

}  // namespace pgcdc::python
