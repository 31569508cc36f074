// Small caches of Python str objects for text that repeats: column, schema and table
// names (every row of a table), and json object keys (every document of a column).
// Reusing one str saves its allocation, its UTF-8 decoding and, as a dict key, its
// hashing (str caches its hash).
//
// Direct-mapped by a cheap hash of the bytes, verified by comparing them: a lookup is
// a few dozen instructions, where a general hash map took ~130. A collision only
// replaces the slot. Requires the GIL.
#ifndef PGCDC_BINDINGS_PYTHON_STRING_CACHE_H_
#define PGCDC_BINDINGS_PYTHON_STRING_CACHE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pgcdc::python {

// A new str from UTF-8 text: ASCII (nearly all names, keys and many values) is copied
// straight into a compact str; anything else is decoded, a stray invalid byte kept
// with surrogateescape rather than failing the whole change.
inline PyObject* NewStr(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char high = 0;
  for (size_t i = 0; i < s.size(); ++i) high |= p[i];
  if (high < 0x80) {
    PyObject* str = PyUnicode_New(static_cast<Py_ssize_t>(s.size()), 127);
    if (str != nullptr && !s.empty()) std::memcpy(PyUnicode_DATA(str), s.data(), s.size());
    return str;
  }
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
}

template <size_t kSlots, size_t kMaxBytes>
class StringCache {
  static_assert((kSlots & (kSlots - 1)) == 0, "kSlots must be a power of two");

 public:
  // A new reference, or nullptr with a Python error.
  PyObject* Get(std::string_view text) {
    if (text.size() > kMaxBytes) return NewStr(text);
    Slot& slot = slots_[Index(text)];
    if (slot.str != nullptr && slot.text == text) {
      Py_INCREF(slot.str);
      return slot.str;
    }
    PyObject* str = NewStr(text);
    if (str == nullptr) return nullptr;
    Py_XDECREF(slot.str);
    slot.text.assign(text.data(), text.size());
    slot.str = str;
    Py_INCREF(str);
    return str;
  }

 private:
  struct Slot {
    std::string text;
    PyObject* str = nullptr;
  };

  static size_t Index(std::string_view text) {
    if (text.empty()) return 0;
    uint64_t head = 0;
    uint64_t tail = 0;
    const size_t n = text.size() < 8 ? text.size() : 8;
    std::memcpy(&head, text.data(), n);
    std::memcpy(&tail, text.data() + text.size() - n, n);
    const uint64_t h = (head * 0x9E3779B97F4A7C15ULL) ^ (tail * 0xC2B2AE3D27D4EB4FULL) ^
                       (text.size() * 0x165667B19E3779F9ULL);
    return static_cast<size_t>(h >> 40) & (kSlots - 1);
  }

  Slot slots_[kSlots];
};

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_STRING_CACHE_H_
