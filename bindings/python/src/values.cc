#include "values.h"

// The datetime C API: its macros read a per-translation-unit pointer, set by
// PyDateTime_IMPORT in InitValueConversion(). Keep every datetime call in this file.
#include <datetime.h>

#include <cstdio>
#include <string>
#include <unordered_map>

#include "json_value.h"
#include "string_cache.h"

namespace pgcdc::python {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
// datetime.date's range as days since 1970-01-01: 0001-01-01 .. 9999-12-31.
constexpr int64_t kMinPythonDays = -719162;
constexpr int64_t kMaxPythonDays = 2932896;

// Type OIDs whose values the core hands over as text when they do not fit its
// numbers (timestamps after 294247 AD).
constexpr uint32_t kDateOid = 1082;
constexpr uint32_t kTimestampOid = 1114;
constexpr uint32_t kTimestampTzOid = 1184;

// Python objects the conversions construct or return, found once at import and kept
// for the life of the process (strong references that are never released).
struct Refs {
  PyObject* decimal = nullptr;            // decimal.Decimal
  PyTypeObject* uuid = nullptr;           // uuid.UUID
  PyObject* uuid_safe_unknown = nullptr;  // uuid.SafeUUID.unknown
  bool uuid_fast_path = false;            // see MakeUuid()
  PyObject* json_loads = nullptr;
  PyObject* unchanged = nullptr;      // pgcdc.UNCHANGED
  PyObject* json_null = nullptr;      // pgcdc.JSON_NULL
  PyObject* infinity = nullptr;       // pgcdc.INFINITY
  PyObject* neg_infinity = nullptr;   // pgcdc.NEG_INFINITY
  PyObject* interval = nullptr;       // pgcdc.Interval
  PyObject* out_of_range = nullptr;   // pgcdc.OutOfRange
  PyObject* bounded_array = nullptr;  // pgcdc.BoundedArray
  PyObject* column_info = nullptr;    // pgcdc.ColumnInfo
  PyTypeObject* lsn = nullptr;        // pgcdc.Lsn
  PyObject* attr_int = nullptr;       // "int"
  PyObject* attr_is_safe = nullptr;   // "is_safe"
};
Refs refs;

// ---------------------------------------------------------------- calendar arithmetic

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct Civil {
  int64_t year;  // astronomical: 1 BC is year 0
  unsigned month;
  unsigned day;
};

// Howard Hinnant's days_from_civil inverse (proleptic Gregorian), exact for any int64
// day count the core produces.
Civil CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// ISO 8601 text for values Python's datetime cannot hold, the same as `pgcdc stream`
// prints them: "-0043-03-15" (44 BC), "+10000-01-01", "24:00:00", fractions without
// trailing zeros.
std::string IsoDate(int64_t days) {
  const Civil c = CivilFromDays(days);
  char buf[48];
  const char* sign = c.year < 0 ? "-" : (c.year > 9999 ? "+" : "");
  std::snprintf(buf, sizeof(buf), "%s%04lld-%02u-%02u", sign,
                static_cast<long long>(c.year < 0 ? -c.year : c.year), c.month, c.day);
  return buf;
}

std::string IsoTime(int64_t micros_of_day) {
  const int64_t seconds = micros_of_day / kMicrosPerSecond;
  int fraction = static_cast<int>(micros_of_day % kMicrosPerSecond);
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d", static_cast<int>(seconds / 3600),
                        static_cast<int>(seconds / 60 % 60), static_cast<int>(seconds % 60));
  if (fraction != 0) {
    int digits = 6;
    while (fraction % 10 == 0) {
      fraction /= 10;
      --digits;
    }
    std::snprintf(buf + n, sizeof(buf) - n, ".%0*d", digits, fraction);
  }
  return buf;
}

std::string IsoOffset(int32_t seconds_east) {
  const int32_t a = seconds_east < 0 ? -seconds_east : seconds_east;
  char buf[16];
  int n = std::snprintf(buf, sizeof(buf), "%c%02d:%02d", seconds_east < 0 ? '-' : '+', a / 3600,
                        a / 60 % 60);
  if (a % 60 != 0) std::snprintf(buf + n, sizeof(buf) - n, ":%02d", a % 60);
  return buf;
}

// ---------------------------------------------------------------- helpers

PyObject* NewRef(PyObject* o) {
  Py_INCREF(o);
  return o;
}

PyObject* Str(std::string_view s) { return NewStr(s); }

// pgcdc.OutOfRange(type, value, text): a finite value outside Python's datetime range.
PyObject* OutOfRange(const char* type, PyObject* value, const std::string& text) {
  if (value == nullptr) return nullptr;
  PyObject* result = PyObject_CallFunction(refs.out_of_range, "sNs#", type, value, text.data(),
                                           static_cast<Py_ssize_t>(text.size()));
  return result;
}

PyObject* InfinityOr(Infinity infinity) {
  if (infinity == Infinity::kPositive) return NewRef(refs.infinity);
  if (infinity == Infinity::kNegative) return NewRef(refs.neg_infinity);
  return nullptr;
}

// ---------------------------------------------------------------- per kind

PyObject* DateToPython(const Date& d) {
  if (d.infinity != Infinity::kFinite) return InfinityOr(d.infinity);
  if (d.days < kMinPythonDays || d.days > kMaxPythonDays) {
    return OutOfRange("date", PyLong_FromLong(d.days), IsoDate(d.days));
  }
  const Civil c = CivilFromDays(d.days);
  return PyDate_FromDate(static_cast<int>(c.year), static_cast<int>(c.month),
                         static_cast<int>(c.day));
}

PyObject* TimestampToPython(const Timestamp& t, bool utc) {
  if (t.infinity != Infinity::kFinite) return InfinityOr(t.infinity);
  const int64_t days = FloorDiv(t.micros, kMicrosPerDay);
  if (days < kMinPythonDays || days > kMaxPythonDays) {
    std::string text = IsoDate(days) + "T" + IsoTime(t.micros - days * kMicrosPerDay);
    if (utc) text += "Z";
    return OutOfRange(utc ? "timestamptz" : "timestamp", PyLong_FromLongLong(t.micros), text);
  }
  const Civil c = CivilFromDays(days);
  const int64_t of_day = t.micros - days * kMicrosPerDay;
  const int64_t seconds = of_day / kMicrosPerSecond;
  return PyDateTimeAPI->DateTime_FromDateAndTime(
      static_cast<int>(c.year), static_cast<int>(c.month), static_cast<int>(c.day),
      static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
      static_cast<int>(seconds % 60), static_cast<int>(of_day % kMicrosPerSecond),
      utc ? PyDateTime_TimeZone_UTC : Py_None, PyDateTimeAPI->DateTimeType);
}

PyObject* FixedOffset(int32_t seconds_east) {
  static auto* cache = new std::unordered_map<int32_t, PyObject*>();
  auto it = cache->find(seconds_east);
  if (it != cache->end()) return it->second;
  PyObject* delta = PyDelta_FromDSU(0, seconds_east, 0);
  if (delta == nullptr) return nullptr;
  PyObject* tz = PyTimeZone_FromOffset(delta);
  Py_DECREF(delta);
  if (tz != nullptr) cache->emplace(seconds_east, tz);
  return tz;  // borrowed: the cache owns it
}

// time and timetz; `offset` is null for time without time zone. PostgreSQL allows
// 24:00:00, which datetime.time cannot hold.
PyObject* TimeToPython(int64_t micros, const int32_t* offset) {
  if (micros < 0 || micros >= kMicrosPerDay) {
    std::string text = micros == kMicrosPerDay ? IsoTime(micros) : std::to_string(micros);
    if (offset != nullptr) text += IsoOffset(*offset);
    return OutOfRange(offset ? "timetz" : "time", PyLong_FromLongLong(micros), text);
  }
  PyObject* tz = Py_None;
  if (offset != nullptr && (tz = FixedOffset(*offset)) == nullptr) return nullptr;
  const int64_t seconds = micros / kMicrosPerSecond;
  return PyDateTimeAPI->Time_FromTime(
      static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
      static_cast<int>(seconds % 60), static_cast<int>(micros % kMicrosPerSecond), tz,
      PyDateTimeAPI->TimeType);
}

PyObject* IntervalToPython(const Interval& i) {
  if (i.infinity != Infinity::kFinite) return InfinityOr(i.infinity);
  return PyObject_CallFunction(refs.interval, "iiL", i.months, i.days,
                               static_cast<long long>(i.micros));
}

PyObject* UuidInt(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
#if PY_VERSION_HEX >= 0x030D0000
  return PyLong_FromUnsignedNativeBytes(
      data, 16, Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
  return _PyLong_FromByteArray(data, 16, /*little_endian=*/0, /*is_signed=*/0);
#endif
}

// uuid.UUID(bytes=...) runs Python code (~0.8 us); building the object the way
// UUID.__init__ does (object.__new__, then object.__setattr__ of its two slots) costs a
// fraction of it. InitValueConversion() checks the result against the real constructor
// and keeps the slow path if they ever differ.
PyObject* MakeUuid(std::string_view bytes) {
  if (bytes.size() != 16 || !refs.uuid_fast_path) {
    PyObject* b = PyBytes_FromStringAndSize(bytes.data(), static_cast<Py_ssize_t>(bytes.size()));
    if (b == nullptr) return nullptr;
    PyObject* kwargs = Py_BuildValue("{sN}", "bytes", b);
    if (kwargs == nullptr) return nullptr;
    PyObject* empty = PyTuple_New(0);
    PyObject* u =
        empty ? PyObject_Call(reinterpret_cast<PyObject*>(refs.uuid), empty, kwargs) : nullptr;
    Py_XDECREF(empty);
    Py_DECREF(kwargs);
    return u;
  }
  PyObject* value = UuidInt(bytes);
  if (value == nullptr) return nullptr;
  PyObject* u = refs.uuid->tp_alloc(refs.uuid, 0);
  if (u == nullptr || PyObject_GenericSetAttr(u, refs.attr_int, value) < 0 ||
      PyObject_GenericSetAttr(u, refs.attr_is_safe, refs.uuid_safe_unknown) < 0) {
    Py_XDECREF(u);
    u = nullptr;
  }
  Py_DECREF(value);
  return u;
}

}  // namespace

PyObject* JsonToPython(std::string_view text) {
  bool unsupported = false;
  PyObject* value = JsonToPythonFast(text, &unsupported);
  if (value != nullptr || !unsupported) return value;
  // Whatever the fast path leaves out, json.loads decides (value or error).
  PyObject* s = Str(text);
  if (s == nullptr) return nullptr;
  value = PyObject_CallOneArg(refs.json_loads, s);
  Py_DECREF(s);
  return value;
}

namespace {

// Nested lists, one level per dimension, from the row-major elements.
PyObject* ArrayLevel(const Array& a, int dimension, size_t* next) {
  const int32_t n = a.length(dimension);
  PyObject* list = PyList_New(n);
  if (list == nullptr) return nullptr;
  const bool innermost = dimension + 1 >= a.dimensions();
  for (int32_t i = 0; i < n; ++i) {
    PyObject* item;
    if (!innermost) {
      item = ArrayLevel(a, dimension + 1, next);
    } else if (*next < a.size()) {
      item = ValueToPython(a[(*next)++], a.element_type_oid());
    } else {
      PyErr_SetString(PyExc_RuntimeError, "pgcdc: array dimensions exceed its elements");
      item = nullptr;
    }
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, i, item);
  }
  return list;
}

// A list; a pgcdc.BoundedArray around it when some lower bound is not 1.
PyObject* ArrayToPython(const Array& a) {
  if (a.dimensions() == 0) return PyList_New(0);
  size_t next = 0;
  PyObject* list = ArrayLevel(a, 0, &next);
  bool all_one = true;
  for (int d = 0; d < a.dimensions(); ++d) all_one = all_one && a.lower_bound(d) == 1;
  if (list == nullptr || all_one) return list;
  PyObject* bounds = PyTuple_New(a.dimensions());
  for (int d = 0; bounds != nullptr && d < a.dimensions(); ++d) {
    PyObject* bound = PyLong_FromLong(a.lower_bound(d));
    if (bound == nullptr) Py_CLEAR(bounds);
    if (bounds != nullptr) PyTuple_SET_ITEM(bounds, d, bound);
  }
  PyObject* result =
      bounds ? PyObject_CallFunctionObjArgs(refs.bounded_array, list, bounds, nullptr) : nullptr;
  Py_DECREF(list);
  Py_XDECREF(bounds);
  return result;
}

// Text for a date/timestamp column means the value did not fit the core's numbers.
PyObject* TextToPython(std::string_view text, uint32_t type_oid) {
  const char* type = type_oid == kTimestampTzOid ? "timestamptz"
                     : type_oid == kTimestampOid ? "timestamp"
                     : type_oid == kDateOid      ? "date"
                                                 : nullptr;
  if (type == nullptr) return Str(text);
  return OutOfRange(type, NewRef(Py_None), std::string(text));
}

PyObject* DecimalFromText(std::string_view text) {
  PyObject* s = PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size()));
  if (s == nullptr) return nullptr;
  PyObject* d = PyObject_CallOneArg(refs.decimal, s);
  Py_DECREF(s);
  return d;
}

// ---------------------------------------------------------------- names

StringCache<1024, 64>& Names() {
  static auto* cache = new StringCache<1024, 64>();  // never destroyed: outlives Python
  return *cache;
}

// ---------------------------------------------------------------- init

PyObject* Attr(const char* module, const char* name) {
  PyObject* m = PyImport_ImportModule(module);
  if (m == nullptr) return nullptr;
  PyObject* a = PyObject_GetAttrString(m, name);
  Py_DECREF(m);
  return a;
}

// The fast UUID construction must give exactly what uuid.UUID(bytes=...) gives.
bool UuidFastPathWorks() {
  const std::string sample("\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef", 16);
  refs.uuid_fast_path = false;
  PyObject* slow = MakeUuid(sample);
  refs.uuid_fast_path = true;
  PyObject* fast = MakeUuid(sample);
  int same = (slow && fast) ? PyObject_RichCompareBool(slow, fast, Py_EQ) : -1;
  if (same == 1) {
    PyObject* a = PyObject_Str(slow);
    PyObject* b = PyObject_Str(fast);
    same = (a && b) ? PyObject_RichCompareBool(a, b, Py_EQ) : -1;
    Py_XDECREF(a);
    Py_XDECREF(b);
  }
  Py_XDECREF(slow);
  Py_XDECREF(fast);
  PyErr_Clear();
  refs.uuid_fast_path = same == 1;
  return true;
}

}  // namespace

bool InitValueConversion() {
  PyDateTime_IMPORT;
  if (PyDateTimeAPI == nullptr) return false;
  refs.decimal = Attr("decimal", "Decimal");
  refs.uuid = reinterpret_cast<PyTypeObject*>(Attr("uuid", "UUID"));
  PyObject* safe = Attr("uuid", "SafeUUID");
  refs.uuid_safe_unknown = safe ? PyObject_GetAttrString(safe, "unknown") : nullptr;
  Py_XDECREF(safe);
  refs.json_loads = Attr("json", "loads");
  refs.unchanged = Attr("pgcdc._types", "UNCHANGED");
  refs.json_null = Attr("pgcdc._types", "JSON_NULL");
  refs.infinity = Attr("pgcdc._types", "INFINITY");
  refs.neg_infinity = Attr("pgcdc._types", "NEG_INFINITY");
  refs.interval = Attr("pgcdc._types", "Interval");
  refs.out_of_range = Attr("pgcdc._types", "OutOfRange");
  refs.bounded_array = Attr("pgcdc._types", "BoundedArray");
  refs.column_info = Attr("pgcdc._types", "ColumnInfo");
  refs.lsn = reinterpret_cast<PyTypeObject*>(Attr("pgcdc._types", "Lsn"));
  refs.attr_int = PyUnicode_InternFromString("int");
  refs.attr_is_safe = PyUnicode_InternFromString("is_safe");
  if (!refs.decimal || !refs.uuid || !refs.uuid_safe_unknown || !refs.json_loads ||
      !refs.unchanged || !refs.json_null || !refs.infinity || !refs.neg_infinity ||
      !refs.interval || !refs.out_of_range || !refs.bounded_array || !refs.column_info ||
      !refs.lsn || !refs.attr_int || !refs.attr_is_safe) {
    return false;
  }
  return UuidFastPathWorks();
}

PyObject* ColumnInfoToPython(const ColumnInfo& column) {
  PyObject* name = NameStr(column.name);
  if (name == nullptr) return nullptr;
  return PyObject_CallFunction(
      refs.column_info, "NkiOOO", name, static_cast<unsigned long>(column.type_oid),
      static_cast<int>(column.type_modifier), column.key ? Py_True : Py_False,
      column.nullable ? Py_True : Py_False, column.primary_key ? Py_True : Py_False);
}

namespace {

bool IsJsonNull(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r";  // JSON's whitespace (RFC 8259)
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return false;
  return text.substr(begin, text.find_last_not_of(kSpace) + 1 - begin) == "null";
}

}  // namespace

PyObject* ValueToPython(const Value& value, uint32_t type_oid) {
  switch (value.kind()) {
    case ValueKind::kNull:
      Py_RETURN_NONE;
    case ValueKind::kUnchangedToast:
      return NewRef(refs.unchanged);
    case ValueKind::kBool:
      return PyBool_FromLong(value.bool_value());
    case ValueKind::kInt:
      return PyLong_FromLongLong(value.int_value());
    case ValueKind::kFloat:
      return PyFloat_FromDouble(value.float_value());
    case ValueKind::kNumeric:
      return DecimalFromText(value.numeric_value());
    case ValueKind::kText:
      return TextToPython(value.text_value(), type_oid);
    case ValueKind::kBytes:
      return PyBytes_FromStringAndSize(value.bytes_value().data(),
                                       static_cast<Py_ssize_t>(value.bytes_value().size()));
    case ValueKind::kDate:
      return DateToPython(value.date_value());
    case ValueKind::kTime:
      return TimeToPython(value.time_value(), nullptr);
    case ValueKind::kTimeTz: {
      const TimeTz t = value.timetz_value();
      return TimeToPython(t.micros, &t.offset_seconds);
    }
    case ValueKind::kTimestamp:
      return TimestampToPython(value.timestamp_value(), /*utc=*/false);
    case ValueKind::kTimestampTz:
      return TimestampToPython(value.timestamptz_value(), /*utc=*/true);
    case ValueKind::kInterval:
      return IntervalToPython(value.interval_value());
    case ValueKind::kUuid:
      return MakeUuid(value.uuid_value());
    case ValueKind::kJson:
      // The document `null` is a value, not SQL NULL: json.loads would make it None.
      if (IsJsonNull(value.json_value())) {
        return NewRef(refs.json_null);
      }
      return JsonToPython(value.json_value());
    case ValueKind::kArray:
      return ArrayToPython(value.array_value());
    case ValueKind::kInet:
      return Str(value.inet_value());
    case ValueKind::kMacaddr:
      return Str(value.macaddr_value());
  }
  // A kind added to the core later: its text form, like any unknown type.
  return Str(value.data());
}

PyObject* NewDict(size_t size) {
#if PY_VERSION_HEX < 0x030D0000
  // Sized once: PyDict_New() would resize (reallocate its keys) at the 6th column.
  return _PyDict_NewPresized(static_cast<Py_ssize_t>(size));
#else
  (void)size;
  return PyDict_New();
#endif
}

PyObject* RowToDict(const Row& row, bool key_only) {
  PyObject* dict = NewDict(key_only ? 1 : row.size());
  if (dict == nullptr) return nullptr;
  for (const Column column : row) {
    if (key_only && !column.key()) continue;
    PyObject* name = NameStr(column.name());
    PyObject* value = name ? ValueToPython(column.value(), column.type_oid()) : nullptr;
    const int rc = value ? PyDict_SetItem(dict, name, value) : -1;
    Py_XDECREF(name);
    Py_XDECREF(value);
    if (rc < 0) {
      Py_DECREF(dict);
      return nullptr;
    }
  }
  return dict;
}

PyObject* CommitTimeToPython(int64_t micros) {
  if (micros == 0) Py_RETURN_NONE;
  return TimestampToPython(Timestamp{micros, Infinity::kFinite}, /*utc=*/true);
}

PyObject* LsnToPython(Lsn lsn) {
  // int.__new__(Lsn, value): skips Lsn.__new__'s text parsing.
  PyObject* value = PyLong_FromUnsignedLongLong(lsn.value());
  PyObject* args = value ? PyTuple_Pack(1, value) : nullptr;
  Py_XDECREF(value);
  if (args == nullptr) return nullptr;
  PyObject* result = PyLong_Type.tp_new(refs.lsn, args, nullptr);
  Py_DECREF(args);
  return result;
}

PyObject* NameStr(std::string_view name) { return Names().Get(name); }

}  // namespace pgcdc::python
