#include "values/value_decoder.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "values/array_text.h"
#include "values/builtin_types.h"
#include "values/datetime_text.h"
#include "values/scalar_text.h"

namespace pgcdc::internal {
namespace {

constexpr size_t kMaxQuotedValue = 64;  // bytes of the value an error message repeats

bool SetText(std::string_view text, const ValueWriter& out) {
  out.SetBytes(ValueKind::kText, text);
  return true;
}

// For the parsers that append their result to a string (scalar_text.h).
bool ParseBytes(ValueKind kind, std::string_view text,
                bool (*parse)(std::string_view, std::string*), const ValueWriter& out) {
  if (!parse(text, out.BeginBytes())) return false;
  out.EndBytes(kind);
  return true;
}

bool DecodeInt(std::string_view text, int64_t min, int64_t max, const ValueWriter& out) {
  int64_t value = 0;
  if (!ParseIntText(text, min, max, &value)) return false;
  out.SetInt(value);
  return true;
}

bool DecodeNumeric(std::string_view text, const ValueWriter& out) {
  if (!IsNumericText(text)) return false;
  out.SetBytes(ValueKind::kNumeric, text);
  return true;
}

bool DecodeJson(std::string_view text, const ValueWriter& out) {
  // json/jsonb output is always a valid document; empty text means a corrupt tuple.
  if (text.empty()) return false;
  out.SetBytes(ValueKind::kJson, text);
  return true;
}

bool DecodeInet(std::string_view text, const ValueWriter& out) {
  if (!IsInetText(text)) return false;
  out.SetBytes(ValueKind::kInet, text);
  return true;
}

bool DecodeMacaddr(std::string_view text, int groups, const ValueWriter& out) {
  if (!IsMacaddrText(text, groups)) return false;
  out.SetBytes(ValueKind::kMacaddr, text);
  return true;
}

bool DecodeNumbers(const BuiltinType& type, std::string_view text, const ValueWriter& out) {
  switch (type.kind) {
    case TypeKind::kBool: {
      bool value = false;
      if (!ParseBoolText(text, &value)) return false;
      out.SetBool(value);
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
      out.SetInt(value);
      return true;
    }
    case TypeKind::kFloat: {
      double value = 0;
      if (!ParseFloatText(text, &value)) return false;
      out.SetFloat(value);
      return true;
    }
    case TypeKind::kNumeric:
      return DecodeNumeric(text, out);
    default:  // kMoney
      return ParseBytes(ValueKind::kNumeric, text, &ParseMoneyText, out);
  }
}

bool DecodeDateTime(const BuiltinType& type, std::string_view text, const ValueWriter& out) {
  switch (type.kind) {
    case TypeKind::kDate: {
      Date date;
      if (!ParseDateText(text, &date)) return false;
      out.SetDate(date);
      return true;
    }
    case TypeKind::kTime: {
      int64_t micros = 0;
      if (!ParseTimeText(text, &micros)) return false;
      out.SetTime(micros);
      return true;
    }
    case TypeKind::kTimeTz: {
      TimeTz time;
      if (!ParseTimeTzText(text, &time)) return false;
      out.SetTimeTz(time);
      return true;
    }
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz: {
      const bool tz = type.kind == TypeKind::kTimestampTz;
      bool out_of_range = false;
      Timestamp timestamp;
      if (ParseTimestampText(text, tz, &timestamp, &out_of_range)) {
        out.SetTimestamp(tz ? ValueKind::kTimestampTz : ValueKind::kTimestamp, timestamp);
        return true;
      }
      // A valid PostgreSQL timestamp beyond the record's range (after 294247 AD) keeps
      // its exact text (the type OID tells what it is) rather than stopping the stream.
      return out_of_range && SetText(text, out);
    }
    default:  // kInterval
    {
      Interval interval;
      if (!ParseIntervalText(text, &interval)) return false;
      out.SetInterval(interval);
      return true;
    }
  }
}

bool DecodeWithType(const BuiltinType& type, std::string_view text, const ValueWriter& out) {
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
      return ParseBytes(ValueKind::kBytes, text, &ParseByteaHexText, out);
    case TypeKind::kUuid:
      return ParseBytes(ValueKind::kUuid, text, &ParseUuidText, out);
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
      return ParseArrayText(text, *FindBuiltinType(type.elem_oid), &DecodeWithType, out);
  }
  return false;
}

// Debian's abseil has its own string_view type, distinct from std::string_view.
absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }

// Out of line: building the message is the cold path.
ABSL_ATTRIBUTE_NOINLINE absl::Status DecodeError(const BuiltinType& type, std::string_view text) {
  if (text.size() <= kMaxQuotedValue) {
    return absl::DataLossError(absl::StrCat("cannot decode ", ToAbsl(type.name), " value \"",
                                            absl::CHexEscape(ToAbsl(text)), "\""));
  }
  return absl::DataLossError(absl::StrCat("cannot decode ", ToAbsl(type.name), " value \"",
                                          absl::CHexEscape(ToAbsl(text.substr(0, kMaxQuotedValue))),
                                          "...\" (", text.size(), " bytes)"));
}

}  // namespace

absl::Status DecodeTextValue(uint32_t type_oid, std::string_view text, const ValueWriter& out) {
  const BuiltinType* type = FindBuiltinType(type_oid);
  if (type == nullptr) {  // enums, extension types, composites: their text as is
    SetText(text, out);
    return absl::OkStatus();
  }
  ChangeData* data = out.data();
  const size_t values_mark = data->values.size();
  const size_t bytes_mark = data->bytes.size();
  if (ABSL_PREDICT_TRUE(DecodeWithType(*type, text, out))) return absl::OkStatus();
  // Never hand back a half-decoded value (nor the slots and bytes it appended).
  data->values.resize(values_mark);
  data->bytes.resize(bytes_mark);
  out.SetKind(ValueKind::kNull);
  return DecodeError(*type, text);
}

std::optional<uint32_t> BuiltinTypeOidByName(std::string_view name) {
  const BuiltinType* type = FindBuiltinTypeByName(name);
  if (type == nullptr) return std::nullopt;
  return type->oid;
}

}  // namespace pgcdc::internal
