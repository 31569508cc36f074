#include "model/value_decoder.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "model/array_text.h"
#include "model/builtin_types.h"
#include "model/datetime_text.h"
#include "model/scalar_text.h"

namespace pgcdc::internal {
namespace {

constexpr size_t kMaxQuotedValue = 64;  // bytes of the value an error message repeats

bool SetText(std::string_view text, v1::Value* out) {
  // (data, size) avoids a temporary std::string: protobuf 3.21 has no string_view setter.
  out->set_text_value(text.data(), text.size());
  return true;
}

bool DecodeInt(std::string_view text, int64_t min, int64_t max, v1::Value* out) {
  int64_t value = 0;
  if (!ParseIntText(text, min, max, &value)) return false;
  out->set_int_value(value);
  return true;
}

bool DecodeNumeric(std::string_view text, v1::Value* out) {
  if (!IsNumericText(text)) return false;
  out->set_numeric_value(text.data(), text.size());
  return true;
}

bool DecodeJson(std::string_view text, v1::Value* out) {
  // json/jsonb output is always a valid document; empty text means a corrupt tuple.
  if (text.empty()) return false;
  out->set_json_value(text.data(), text.size());
  return true;
}

bool DecodeInet(std::string_view text, v1::Value* out) {
  if (!IsInetText(text)) return false;
  out->set_inet_value(text.data(), text.size());
  return true;
}

bool DecodeMacaddr(std::string_view text, int groups, v1::Value* out) {
  if (!IsMacaddrText(text, groups)) return false;
  out->set_macaddr_value(text.data(), text.size());
  return true;
}

bool DecodeNumbers(const BuiltinType& type, std::string_view text, v1::Value* out) {
  switch (type.kind) {
    case TypeKind::kBool: {
      bool value = false;
      if (!ParseBoolText(text, &value)) return false;
      out->set_bool_value(value);
      return true;
    }
    case TypeKind::kInt2:
      return DecodeInt(text, std::numeric_limits<int16_t>::min(),
                       std::numeric_limits<int16_t>::max(), out);
    case TypeKind::kInt4:
      return DecodeInt(text, std::numeric_limits<int32_t>::min(),
                       std::numeric_limits<int32_t>::max(), out);
    case TypeKind::kInt8:
      return DecodeInt(text, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max(), out);
    case TypeKind::kUint32: {
      int64_t value = 0;
      if (!ParseUint32Text(text, &value)) return false;
      out->set_int_value(value);
      return true;
    }
    case TypeKind::kFloat: {
      double value = 0;
      if (!ParseFloatText(text, &value)) return false;
      out->set_float_value(value);
      return true;
    }
    case TypeKind::kNumeric:
      return DecodeNumeric(text, out);
    default:  // kMoney
      return ParseMoneyText(text, out->mutable_numeric_value());
  }
}

bool DecodeDateTime(const BuiltinType& type, std::string_view text, v1::Value* out) {
  switch (type.kind) {
    case TypeKind::kDate:
      return ParseDateText(text, out->mutable_date_value());
    case TypeKind::kTime: {
      int64_t micros = 0;
      if (!ParseTimeText(text, &micros)) return false;
      out->set_time_value(micros);
      return true;
    }
    case TypeKind::kTimeTz:
      return ParseTimeTzText(text, out->mutable_timetz_value());
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz: {
      const bool tz = type.kind == TypeKind::kTimestampTz;
      bool out_of_range = false;
      if (ParseTimestampText(text, tz,
                             tz ? out->mutable_timestamptz_value() : out->mutable_timestamp_value(),
                             &out_of_range)) {
        return true;
      }
      // A valid PostgreSQL timestamp beyond the record's range (after 294247 AD) keeps
      // its exact text (the type OID tells what it is) rather than stopping the stream.
      return out_of_range && SetText(text, out);
    }
    default:  // kInterval
      return ParseIntervalText(text, out->mutable_interval_value());
  }
}

bool DecodeWithType(const BuiltinType& type, std::string_view text, v1::Value* out) {
  switch (type.kind) {
    case TypeKind::kText:
      return SetText(text, out);
    case TypeKind::kBool:
    case TypeKind::kInt2:
    case TypeKind::kInt4:
    case TypeKind::kInt8:
    case TypeKind::kUint32:
    case TypeKind::kFloat:
    case TypeKind::kNumeric:
    case TypeKind::kMoney:
      return DecodeNumbers(type, text, out);
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kTimeTz:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz:
    case TypeKind::kInterval:
      return DecodeDateTime(type, text, out);
    case TypeKind::kBytea:
      return ParseByteaHexText(text, out->mutable_bytes_value());
    case TypeKind::kUuid:
      return ParseUuidText(text, out->mutable_uuid_value());
    case TypeKind::kJson:
      return DecodeJson(text, out);
    case TypeKind::kInet:
      return DecodeInet(text, out);
    case TypeKind::kMacaddr:
      return DecodeMacaddr(text, 6, out);
    case TypeKind::kMacaddr8:
      return DecodeMacaddr(text, 8, out);
    case TypeKind::kArray:
      // Every array's element type is in the table (see builtin_types.cc).
      return ParseArrayText(text, *FindBuiltinType(type.elem_oid), &DecodeWithType,
                            out->mutable_array_value());
  }
  return false;
}

// Debian's abseil has its own string_view type, distinct from std::string_view.
absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }

// Out of line: building the message is the cold path.
ABSL_ATTRIBUTE_NOINLINE absl::Status DecodeError(const BuiltinType& type,
                                                 std::string_view text) {
  if (text.size() <= kMaxQuotedValue) {
    return absl::DataLossError(absl::StrCat("cannot decode ", ToAbsl(type.name), " value \"",
                                            absl::CHexEscape(ToAbsl(text)), "\""));
  }
  return absl::DataLossError(absl::StrCat(
      "cannot decode ", ToAbsl(type.name), " value \"",
      absl::CHexEscape(ToAbsl(text.substr(0, kMaxQuotedValue))), "...\" (", text.size(),
      " bytes)"));
}

}  // namespace

absl::Status DecodeTextValue(uint32_t type_oid, std::string_view text, v1::Value* out) {
  const BuiltinType* type = FindBuiltinType(type_oid);
  if (type == nullptr) {  // enums, extension types, composites: their text as is
    SetText(text, out);
    return absl::OkStatus();
  }
  if (ABSL_PREDICT_TRUE(DecodeWithType(*type, text, out))) return absl::OkStatus();
  out->clear_kind();  // never hand back a half-decoded value
  return DecodeError(*type, text);
}

std::optional<uint32_t> BuiltinTypeOidByName(std::string_view name) {
  const BuiltinType* type = FindBuiltinTypeByName(name);
  if (type == nullptr) return std::nullopt;
  return type->oid;
}

}  // namespace pgcdc::internal
