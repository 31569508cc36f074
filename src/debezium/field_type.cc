#include "debezium/field_type.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "debezium/decimal_bytes.h"
#include "internal/shortest_double.h"
#include "internal/strings.h"
#include "record/change_json.h"
#include "values/builtin_types.h"
#include "values/datetime_format.h"

namespace pgcdc::internal {
namespace {

constexpr std::string_view kUnavailable = "__debezium_unavailable_value";
// Debezium's MicroDuration counts a month as 365.25 / 12 = 30.4375 days.
constexpr int64_t kMicrosPerMonth = 2629800LL * 1000000;

constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// The precision of time(p), timestamp(p), timestamptz(p): atttypmod is p, -1 for none
// (PostgreSQL's default, 6).
int TimePrecision(int32_t type_modifier) { return type_modifier < 0 ? 6 : type_modifier; }

FieldType Named(std::string_view type, std::string_view name, Conversion conversion) {
  FieldType t;
  t.type = type;
  t.name = name;
  t.conversion = conversion;
  return t;
}

FieldType Decimal(const DebeziumOptions& options, std::optional<int> precision, int scale,
                  bool fixed_scale) {
  if (options.decimal == DebeziumDecimal::kString)
    return Named("string", "", Conversion::kDecimalString);
  if (options.decimal == DebeziumDecimal::kDouble)
    return Named("double", "", Conversion::kDecimalDouble);
  if (!fixed_scale) {
    return Named("struct", "io.debezium.data.VariableScaleDecimal", Conversion::kVariableDecimal);
  }
  FieldType t = Named("bytes", "org.apache.kafka.connect.data.Decimal", Conversion::kDecimalBytes);
  t.scale = scale;
  t.parameters = precision ? absl::StrCat(R"({"scale":")", scale,
                                          R"(","connect.decimal.precision":")", *precision, "\"}")
                           : absl::StrCat(R"({"scale":")", scale, "\"}");
  return t;
}

FieldType Temporal(TypeKind kind, int32_t type_modifier, const DebeziumOptions& options) {
  const bool connect = options.time == DebeziumTime::kConnect;
  const bool millis = TimePrecision(type_modifier) <= 3;
  switch (kind) {
    case TypeKind::kDate:
      return Named("int32",
                   connect ? "org.apache.kafka.connect.data.Date" : "io.debezium.time.Date",
                   Conversion::kDays);
    case TypeKind::kTime:
      if (connect)
        return Named("int32", "org.apache.kafka.connect.data.Time", Conversion::kTimeMillis);
      return millis ? Named("int32", "io.debezium.time.Time", Conversion::kTimeMillis)
                    : Named("int64", "io.debezium.time.MicroTime", Conversion::kTimeMicros);
    case TypeKind::kTimestamp:
      if (connect) {
        return Named("int64", "org.apache.kafka.connect.data.Timestamp",
                     Conversion::kTimestampMillis);
      }
      return millis
                 ? Named("int64", "io.debezium.time.Timestamp", Conversion::kTimestampMillis)
                 : Named("int64", "io.debezium.time.MicroTimestamp", Conversion::kTimestampMicros);
    case TypeKind::kTimeTz:
      return Named("string", "io.debezium.time.ZonedTime", Conversion::kZonedTime);
    default: {  // kTimestampTz
      FieldType t = Named("string", "io.debezium.time.ZonedTimestamp", Conversion::kZonedTimestamp);
      t.scale = TimePrecision(type_modifier);
      return t;
    }
  }
}

FieldType MapBuiltin(const BuiltinType* builtin, uint32_t oid, int32_t type_modifier,
                     const DebeziumOptions& options) {
  if (builtin == nullptr) return Named("string", "", Conversion::kString);
  switch (builtin->kind) {
    case TypeKind::kBool:
      return Named("boolean", "", Conversion::kBool);
    case TypeKind::kInt2:
      return Named("int16", "", Conversion::kInt);
    case TypeKind::kInt4:
      return Named("int32", "", Conversion::kInt);
    case TypeKind::kInt8:
    case TypeKind::kUint32:
      return Named("int64", "", Conversion::kInt);
    case TypeKind::kFloat:
      return Named(oid == 700 ? "float" : "double", "", Conversion::kFloat);
    case TypeKind::kNumeric: {
      // numeric(p,s): atttypmod is ((p << 16) | s) + 4; -1 for unconstrained numeric.
      if (type_modifier < 4) return Decimal(options, std::nullopt, 0, false);
      // The scale is 11-bit signed (PostgreSQL 15+ allows negative scales).
      const int32_t t = type_modifier - 4;
      const int scale = (t & 0x400) != 0 ? (t & 0x7ff) - 0x800 : (t & 0x7ff);
      return Decimal(options, (t >> 16) & 0xffff, scale, true);
    }
    case TypeKind::kMoney:
      return Decimal(options, std::nullopt, 2, true);  // money.fraction.digits
    case TypeKind::kBytea:
      return Named("bytes", "", Conversion::kBytes);
    case TypeKind::kUuid:
      return Named("string", "io.debezium.data.Uuid", Conversion::kUuid);
    case TypeKind::kJson:
      return Named("string", "io.debezium.data.Json", Conversion::kString);
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kTimeTz:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz:
      return Temporal(builtin->kind, type_modifier, options);
    case TypeKind::kInterval:
      return Named("int64", "io.debezium.time.MicroDuration", Conversion::kMicroDuration);
    case TypeKind::kArray: {
      FieldType t = Named("array", "", Conversion::kArray);
      t.items = std::make_shared<const FieldType>(MapBuiltin(
          FindBuiltinType(builtin->elem_oid), builtin->elem_oid, type_modifier, options));
      return t;
    }
    default:
      return Named("string", "", Conversion::kString);  // text, inet, macaddr, xml, ...
  }
}

void AppendTimeOfDay(int64_t micros, int fraction_digits, std::string* out) {
  const int64_t seconds = micros / 1000000;
  absl::StrAppend(out, absl::Dec(seconds / 3600, absl::kZeroPad2), ":",
                  absl::Dec(seconds / 60 % 60, absl::kZeroPad2), ":",
                  absl::Dec(seconds % 60, absl::kZeroPad2));
  if (fraction_digits <= 0) return;
  std::string fraction = absl::StrCat(absl::Dec(micros % 1000000, absl::kZeroPad6));
  fraction.resize(static_cast<size_t>(fraction_digits), '0');
  absl::StrAppend(out, ".", fraction);
}

void AppendZonedTimestamp(const Timestamp& ts, int fraction_digits, std::string* out) {
  if (ts.infinity != Infinity::kFinite) {
    AppendJsonString(ts.infinity == Infinity::kPositive ? "infinity" : "-infinity", out);
    return;
  }
  out->push_back('"');
  AppendIsoDate(FloorDiv(ts.micros, kMicrosPerDay), out);
  out->push_back('T');
  AppendTimeOfDay(ts.micros - FloorDiv(ts.micros, kMicrosPerDay) * kMicrosPerDay, fraction_digits,
                  out);
  out->append("Z\"");
}

void AppendZonedTime(const TimeTz& time, std::string* out) {
  int64_t utc = (time.micros - int64_t{time.offset_seconds} * 1000000) % kMicrosPerDay;
  if (utc < 0) utc += kMicrosPerDay;
  out->push_back('"');
  AppendIsoTime(utc, out);  // fraction without trailing zeros, as ISO_LOCAL_TIME
  out->append("Z\"");
}

void AppendTimestampNumber(const Timestamp& ts, bool millis, std::string* out) {
  if (ts.infinity != Infinity::kFinite) {
    absl::StrAppend(out, ts.infinity == Infinity::kPositive ? std::numeric_limits<int64_t>::max()
                                                            : std::numeric_limits<int64_t>::min());
    return;
  }
  absl::StrAppend(out, millis ? FloorDiv(ts.micros, 1000) : ts.micros);
}

void AppendBase64(std::string_view bytes, std::string* out) {
  out->push_back('"');
  out->append(absl::Base64Escape(Sv(bytes)));
  out->push_back('"');
}

void AppendUuidText(std::string_view bytes, std::string* out) {
  const std::string hex = absl::BytesToHexString(Sv(bytes));
  if (hex.size() != 32) {
    AppendJsonString(hex, out);
    return;
  }
  absl::StrAppend(out, "\"", hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                  hex.substr(16, 4), "-", hex.substr(20), "\"");
}

void AppendDecimal(const FieldType& type, std::string_view text, std::string* out) {
  switch (type.conversion) {
    case Conversion::kDecimalString:
      AppendJsonString(text, out);
      return;
    case Conversion::kDecimalDouble:
      AppendJsonDouble(std::strtod(std::string(text).c_str(), nullptr), out);
      return;
    case Conversion::kVariableDecimal: {
      const int scale = DecimalScale(text);
      std::optional<std::string> bytes = DecimalUnscaledBytes(text, scale);
      if (!bytes) break;
      absl::StrAppend(out, "{\"scale\":", scale, ",\"value\":");
      AppendBase64(*bytes, out);
      out->push_back('}');
      return;
    }
    default: {
      std::optional<std::string> bytes = DecimalUnscaledBytes(text, type.scale);
      if (!bytes) break;
      AppendBase64(*bytes, out);
      return;
    }
  }
  out->append("null");  // NaN and infinities have no Connect Decimal
}

void AppendArray(const FieldType& type, const Array& array, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < array.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendFieldValue(*type.items, array[i], out);
  }
  out->push_back(']');
}

}  // namespace

FieldType MapColumn(const RelationInfo::Column& column, const DebeziumOptions& options) {
  if (!column.enum_labels.empty()) {
    FieldType t = Named("string", "io.debezium.data.Enum", Conversion::kString);
    std::string allowed;
    AppendJsonString(absl::StrJoin(column.enum_labels, ","), &allowed);
    t.parameters = absl::StrCat("{\"allowed\":", allowed, "}");
    return t;
  }
  // A domain is mapped as the built-in type it is decoded as.
  const uint32_t oid = column.decode_oid != 0 ? column.decode_oid : column.type_oid;
  return MapBuiltin(FindBuiltinType(oid), oid, column.type_modifier, options);
}

void AppendFieldSchema(const FieldType& type, std::string_view field, bool optional,
                       const std::optional<std::string>& default_json, std::string* out) {
  absl::StrAppend(out, "{\"type\":\"", Sv(type.type), "\"");
  if (type.conversion == Conversion::kVariableDecimal) {
    out->append(R"(,"fields":[{"type":"int32","optional":false,"field":"scale"},)"
                R"({"type":"bytes","optional":false,"field":"value"}])");
  }
  if (type.items != nullptr) {
    out->append(",\"items\":");
    AppendFieldSchema(*type.items, "", true, std::nullopt, out);
  }
  absl::StrAppend(out, ",\"optional\":", optional ? "true" : "false");
  if (!type.name.empty()) absl::StrAppend(out, ",\"name\":\"", Sv(type.name), "\",\"version\":1");
  if (!type.parameters.empty()) absl::StrAppend(out, ",\"parameters\":", type.parameters);
  if (type.conversion == Conversion::kVariableDecimal)
    out->append(",\"doc\":\"Variable scaled decimal\"");
  if (default_json) absl::StrAppend(out, ",\"default\":", *default_json);
  if (!field.empty()) {
    out->append(",\"field\":");
    AppendJsonString(field, out);
  }
  out->push_back('}');
}

void AppendFieldValue(const FieldType& type, const Value& value, std::string* out) {
  switch (value.kind()) {
    case ValueKind::kNull:
      out->append("null");
      return;
    case ValueKind::kUnchangedToast:
      AppendUnavailable(type, out);
      return;
    case ValueKind::kBool:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case ValueKind::kInt:
      absl::StrAppend(out, value.int_value());
      return;
    case ValueKind::kFloat:
      AppendJsonDouble(value.float_value(), out);
      return;
    case ValueKind::kNumeric:
      AppendDecimal(type, value.numeric_value(), out);
      return;
    case ValueKind::kBytes:
      AppendBase64(value.bytes_value(), out);
      return;
    case ValueKind::kUuid:
      AppendUuidText(value.uuid_value(), out);
      return;
    case ValueKind::kDate: {
      const Date d = value.date_value();
      if (d.infinity == Infinity::kFinite) {
        absl::StrAppend(out, d.days);
      } else {
        absl::StrAppend(out, d.infinity == Infinity::kPositive
                                 ? std::numeric_limits<int32_t>::max()
                                 : std::numeric_limits<int32_t>::min());
      }
      return;
    }
    case ValueKind::kTime:
      absl::StrAppend(out, type.conversion == Conversion::kTimeMillis ? value.time_value() / 1000
                                                                      : value.time_value());
      return;
    case ValueKind::kTimeTz:
      AppendZonedTime(value.timetz_value(), out);
      return;
    case ValueKind::kTimestamp:
      AppendTimestampNumber(value.timestamp_value(),
                            type.conversion == Conversion::kTimestampMillis, out);
      return;
    case ValueKind::kTimestampTz:
      AppendZonedTimestamp(value.timestamptz_value(), type.scale, out);
      return;
    case ValueKind::kInterval: {
      const Interval i = value.interval_value();
      if (i.infinity != Infinity::kFinite) {
        absl::StrAppend(out, i.infinity == Infinity::kPositive
                                 ? std::numeric_limits<int64_t>::max()
                                 : std::numeric_limits<int64_t>::min());
        return;
      }
      absl::StrAppend(
          out, int64_t{i.months} * kMicrosPerMonth + int64_t{i.days} * kMicrosPerDay + i.micros);
      return;
    }
    case ValueKind::kArray:
      if (type.items != nullptr) {
        AppendArray(type, value.array_value(), out);
        return;
      }
      break;
    default:  // text, json, inet, macaddr
      AppendJsonString(value.data(), out);
      return;
  }
  AppendValueJson(value, out);
}

void AppendUnavailable(const FieldType& type, std::string* out) {
  if (type.type == "string") {
    AppendJsonString(kUnavailable, out);
  } else if (type.type == "bytes") {
    AppendBase64(kUnavailable, out);
  } else if (type.items != nullptr && type.items->type == "string") {
    out->push_back('[');
    AppendJsonString(kUnavailable, out);
    out->push_back(']');
  } else {
    out->append("null");
  }
}

void AppendJsonDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  const size_t start = out->size();
  AppendShortestDouble(value, out);
  if (out->find_first_of(".eE", start) == std::string::npos) out->append(".0");
}

}  // namespace pgcdc::internal
