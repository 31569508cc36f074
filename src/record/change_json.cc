#include "record/change_json.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "internal/shortest_double.h"
#include "internal/strings.h"
#include "pgcdc/change.h"
#include "pgcdc/lsn.h"
#include "values/datetime_format.h"

namespace pgcdc::internal {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t len = 0;
  unsigned char min = 0x80;  // allowed range of the second byte
  unsigned char max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) min = 0xA0;
    if (lead == 0xED) max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) min = 0x90;
    if (lead == 0xF4) max = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  const auto second = static_cast<unsigned char>(text[i + 1]);
  if (second < min || second > max) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  return len;
}

void AppendQuoted(std::string_view plain, std::string* out) {
  out->push_back('"');
  out->append(plain);
  out->push_back('"');
}

bool AppendInfinity(Infinity infinity, std::string* out) {
  if (infinity == Infinity::kPositive) {
    out->append("\"infinity\"");
  } else if (infinity == Infinity::kNegative) {
    out->append("\"-infinity\"");
  } else {
    return false;
  }
  return true;
}

void AppendFloat(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    internal::AppendShortestDouble(value, out);
  }
}

bool IsTimeOfDay(int64_t micros) { return micros >= 0 && micros <= kMicrosPerDay; }

// Times outside 00:00:00..24:00:00 cannot come from PostgreSQL; a hand-built record
// gets its raw number rather than a misleading clock reading.
void AppendTime(int64_t micros, std::string* out) {
  if (!IsTimeOfDay(micros)) {
    absl::StrAppend(out, micros);
    return;
  }
  out->push_back('"');
  AppendIsoTime(micros, out);
  out->push_back('"');
}

void AppendTimeTz(const TimeTz& value, std::string* out) {
  if (!IsTimeOfDay(value.micros)) {
    absl::StrAppend(out, value.micros);
    return;
  }
  out->push_back('"');
  AppendIsoTime(value.micros, out);
  AppendIsoOffset(value.offset_seconds, out);
  out->push_back('"');
}

void AppendTimestamp(const Timestamp& value, bool utc, std::string* out) {
  if (AppendInfinity(value.infinity, out)) return;
  out->push_back('"');
  AppendIsoTimestamp(value.micros, out);
  if (utc) out->push_back('Z');
  out->push_back('"');
}

void AppendDate(const Date& value, std::string* out) {
  if (AppendInfinity(value.infinity, out)) return;
  out->push_back('"');
  AppendIsoDate(value.days, out);
  out->push_back('"');
}

void AppendInterval(const Interval& value, std::string* out) {
  if (AppendInfinity(value.infinity, out)) return;
  absl::StrAppend(out, "{\"months\":", value.months, ",\"days\":", value.days,
                  ",\"micros\":", value.micros, "}");
}

void AppendUuid(std::string_view bytes, std::string* out) {
  const std::string hex = absl::BytesToHexString(Sv(bytes));
  if (hex.size() != 32) {  // not 16 bytes: show what is there rather than guess
    AppendQuoted(hex, out);
    return;
  }
  absl::StrAppend(out, "\"", hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                  hex.substr(16, 4), "-", hex.substr(20), "\"");
}

// A json/jsonb document, inlined. The json type keeps its input text verbatim, line
// breaks included, which would split a JSON-lines record. Valid JSON cannot hold a raw
// CR or LF inside a string, so every one is insignificant whitespace: a space will do.
void AppendInlineJson(std::string_view document, std::string* out) {
  if (document.empty()) {  // not JSON at all; keep the line parseable
    out->append("null");
    return;
  }
  const size_t start = out->size();
  out->append(document);
  if (document.find_first_of("\r\n") == std::string_view::npos) return;
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\n' || (*out)[i] == '\r') (*out)[i] = ' ';
  }
}

// Nested lists, one level per dimension; `next` walks the row-major elements.
void AppendArrayLevel(const Array& array, int dimension, size_t* next, std::string* out) {
  out->push_back('[');
  const int32_t length = array.length(dimension);
  for (int32_t i = 0; i < length; ++i) {
    if (i > 0) out->push_back(',');
    if (dimension + 1 < array.dimensions()) {
      AppendArrayLevel(array, dimension + 1, next, out);
    } else {
      AppendValueJson(array[(*next)++], out);
    }
  }
  out->push_back(']');
}

void AppendArray(const Array& array, std::string* out) {
  if (array.dimensions() == 0) {
    out->append("[]");
    return;
  }
  size_t next = 0;
  AppendArrayLevel(array, 0, &next, out);
}

void AppendRow(const Row& row, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const Column column : row) {
    // The value is unknown, not NULL: leave it out rather than invent one.
    if (column.value().is_unchanged_toast()) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(column.name(), out);
    out->push_back(':');
    AppendValueJson(column.value(), out);
  }
  out->push_back('}');
}

void AppendUnchanged(const Change& change, std::string* out) {
  out->push_back('[');
  bool first = true;
  for (const Column column : change.new_row()) {
    if (!column.value().is_unchanged_toast()) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(column.name(), out);
  }
  out->push_back(']');
}

std::string_view OldKindJson(OldRowKind kind) {
  switch (kind) {
    case OldRowKind::kKey:
      return "\"key\"";
    case OldRowKind::kFull:
      return "\"full\"";
    case OldRowKind::kNone:
      break;
  }
  return "null";
}

void AppendPositions(const Change& change, std::string* out) {
  absl::StrAppend(out, ",\"lsn\":\"", change.lsn().ToString(), "\",\"commit_lsn\":\"",
                  change.commit_lsn().ToString(), "\",\"end_lsn\":\"", change.end_lsn().ToString(),
                  "\",\"xid\":", change.xid(), ",\"commit_time\":");
  if (change.commit_time_us() == 0) {
    out->append("null");
  } else {
    out->push_back('"');
    AppendIsoTimestamp(change.commit_time_us(), out);
    out->append("Z\"");
  }
  absl::StrAppend(out, ",\"ordinal\":", change.ordinal());
  // Only for two-phase transactions delivered at PREPARE and their outcome records.
  if (!change.gid().empty()) {
    out->append(",\"gid\":");
    AppendJsonString(change.gid(), out);
  }
}

void AppendMessageFields(const Change& message, std::string* out) {
  out->append(",\"prefix\":");
  AppendJsonString(message.message_prefix(), out);
  out->append(",\"content\":");
  if (IsValidUtf8(message.message_content())) {
    AppendJsonString(message.message_content(), out);
  } else {
    absl::StrAppend(out, "{\"base64\":\"", absl::Base64Escape(Sv(message.message_content())),
                    "\"}");
  }
  absl::StrAppend(out, ",\"transactional\":", message.message_transactional() ? "true" : "false");
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  size_t run_start = 0;  // characters that need no escaping are copied in runs
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 1;
    if (c >= 0x80 && (len = Utf8SequenceLength(text, i)) != 0) {
      i += len;
      continue;
    }
    out->append(text.data() + run_start, i - run_start);
    if (c >= 0x80) {
      out->append(kReplacementChar);
      len = 1;
    } else if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else {
      const char escape[] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
      out->append(escape, sizeof(escape));
    }
    i += len;
    run_start = i;
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

void AppendValueJson(const Value& value, std::string* out) {
  switch (value.kind()) {
    case ValueKind::kBool:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case ValueKind::kInt:
      absl::StrAppend(out, value.int_value());
      return;
    case ValueKind::kFloat:
      return AppendFloat(value.float_value(), out);
    case ValueKind::kNumeric:
    case ValueKind::kText:
    case ValueKind::kInet:
    case ValueKind::kMacaddr:
      return AppendJsonString(value.data(), out);
    case ValueKind::kBytes:  // PostgreSQL's hex form, "\x0aff", as a JSON string
      return absl::StrAppend(out, "\"\\\\x", absl::BytesToHexString(Sv(value.bytes_value())), "\"");
    case ValueKind::kDate:
      return AppendDate(value.date_value(), out);
    case ValueKind::kTime:
      return AppendTime(value.time_value(), out);
    case ValueKind::kTimeTz:
      return AppendTimeTz(value.timetz_value(), out);
    case ValueKind::kTimestamp:
      return AppendTimestamp(value.timestamp_value(), /*utc=*/false, out);
    case ValueKind::kTimestampTz:
      return AppendTimestamp(value.timestamptz_value(), /*utc=*/true, out);
    case ValueKind::kInterval:
      return AppendInterval(value.interval_value(), out);
    case ValueKind::kUuid:
      return AppendUuid(value.uuid_value(), out);
    case ValueKind::kJson:
      return AppendInlineJson(value.json_value(), out);
    case ValueKind::kArray:
      return AppendArray(value.array_value(), out);
    case ValueKind::kNull:
    case ValueKind::kUnchangedToast:
      break;
  }
  out->append("null");
}

void AppendChangeJson(const Change& change, std::string* out) {
  const Operation op = change.op();
  out->append("{\"id\":");
  AppendJsonString(change.id(), out);
  out->append(",\"op\":\"");
  out->append(OperationName(op));
  out->append("\",\"schema\":");
  AppendJsonString(change.schema(), out);
  out->append(",\"table\":");
  AppendJsonString(change.table(), out);
  out->append(",\"new\":");
  if (op == Operation::kInsert || op == Operation::kUpdate || op == Operation::kRead) {
    AppendRow(change.new_row(), out);
  } else {
    out->append("null");
  }
  out->append(",\"old\":");
  if (change.old_row_kind() != OldRowKind::kNone) {
    AppendRow(change.old_row(), out);
  } else {
    out->append("null");
  }
  out->append(",\"old_kind\":");
  out->append(OldKindJson(change.old_row_kind()));
  out->append(",\"unchanged\":");
  AppendUnchanged(change, out);
  AppendPositions(change, out);
  if (op == Operation::kMessage) AppendMessageFields(change, out);
  if (op == Operation::kTruncate) {
    absl::StrAppend(
        out, ",\"cascade\":", change.truncate_cascade() ? "true" : "false",
        ",\"restart_identity\":", change.truncate_restart_identity() ? "true" : "false");
  }
  out->push_back('}');
}

}  // namespace pgcdc::internal
