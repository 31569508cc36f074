// Debezium's change event envelope around pgcdc's changes (pgcdc/debezium.h).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "debezium/field_type.h"
#include "internal/strings.h"
#include "pgcdc/debezium.h"
#include "pgcdc/version.h"
#include "record/change_data.h"
#include "record/change_json.h"

namespace pgcdc {
namespace {

using internal::ChangeData;
using internal::FieldType;
using internal::RelationInfo;
using internal::Sv;

constexpr std::string_view kSourceSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
    R"({"type":"string","optional":false,"field":"connector"},)"
    R"({"type":"string","optional":false,"field":"name"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"},)"
    R"({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,)"
    R"("parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,)"
    R"(last,false,incremental"},"default":"false","field":"snapshot"},)"
    R"({"type":"string","optional":false,"field":"db"},)"
    R"({"type":"string","optional":true,"field":"sequence"},)"
    R"({"type":"int64","optional":true,"field":"ts_us"},)"
    R"({"type":"int64","optional":true,"field":"ts_ns"},)"
    R"({"type":"string","optional":false,"field":"schema"},)"
    R"({"type":"string","optional":false,"field":"table"},)"
    R"({"type":"int64","optional":true,"field":"txId"},)"
    R"({"type":"int64","optional":true,"field":"lsn"},)"
    R"({"type":"int64","optional":true,"field":"xmin"},)"
    R"({"type":"string","optional":true,"field":"origin"},)"
    R"({"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,)"
    R"("name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"})";
constexpr std::string_view kTransactionSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
    R"({"type":"int64","optional":false,"field":"total_order"},)"
    R"({"type":"int64","optional":false,"field":"data_collection_order"}],)"
    R"("optional":true,"name":"event.block","version":1,"field":"transaction"})";
constexpr std::string_view kMessageKeySchema =
    R"({"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"}],)"
    R"("optional":false,"name":"io.debezium.connector.postgresql.MessageKey","version":1})";
constexpr std::string_view kMessageSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"},)"
    R"({"type":"bytes","optional":true,"field":"content"}],"optional":false,)"
    R"("name":"io.debezium.connector.postgresql.Message","version":1,"field":"message"})";

// Debezium keys a table by its primary key; without one, by the replica identity
// index. Without the catalog, the replica identity columns stand in (none for FULL,
// which flags every column).
std::vector<size_t> KeyColumns(const RelationInfo& relation) {
  std::vector<size_t> pk;
  std::vector<size_t> identity;
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (relation.columns[i].primary_key) pk.push_back(i);
    if (relation.columns[i].key) identity.push_back(i);
  }
  if (!pk.empty()) return pk;
  return relation.replica_identity == 'f' ? std::vector<size_t>{} : identity;
}

// A table as Debezium describes it: per column its type, optionality and default, the
// key columns, and the schemas, made once per Relation message.
struct Table {
  std::shared_ptr<const RelationInfo> relation;  // keeps the cache key alive
  std::vector<FieldType> types;
  std::vector<bool> optional;
  std::vector<std::optional<std::string>> defaults;
  std::vector<size_t> key;
  std::vector<size_t> all;  // 0..n-1: every column, for before and after
  std::string topic;
  std::string key_schema;
  std::string envelope_schema;
};

std::string StructSchema(const Table& t, const std::vector<size_t>& columns, bool optional,
                         std::string_view name, std::string_view field) {
  std::string out = R"({"type":"struct","fields":[)";
  for (size_t n = 0; n < columns.size(); ++n) {
    const size_t i = columns[n];
    if (n > 0) out.push_back(',');
    internal::AppendFieldSchema(t.types[i], t.relation->columns[i].name, t.optional[i],
                                t.defaults[i], &out);
  }
  absl::StrAppend(&out, "],\"optional\":", optional ? "true" : "false", ",\"name\":");
  internal::AppendJsonString(name, &out);
  if (!field.empty()) {
    out.append(",\"field\":");
    internal::AppendJsonString(field, &out);
  }
  out.push_back('}');
  return out;
}

std::unique_ptr<Table> MakeTable(std::shared_ptr<const RelationInfo> relation,
                                 const DebeziumOptions& options) {
  auto t = std::make_unique<Table>();
  t->relation = std::move(relation);
  const RelationInfo& r = *t->relation;
  t->key = KeyColumns(r);
  for (size_t i = 0; i < r.columns.size(); ++i) {
    const RelationInfo::Column& c = r.columns[i];
    t->all.push_back(i);
    t->types.push_back(internal::MapColumn(c, options));
    // Without the catalog, only the key is known to be NOT NULL.
    t->optional.push_back(r.described ? !c.not_null : !c.key || r.replica_identity == 'f');
    t->defaults.push_back(internal::DefaultJson(t->types.back(), c));
  }
  for (size_t i : t->key) t->optional[i] = false;
  const std::string base = absl::StrCat(options.topic_prefix, ".", r.schema, ".", r.table);
  t->topic = base;
  t->key_schema = StructSchema(*t, t->key, false, absl::StrCat(base, ".Key"), "");
  const std::string value_name = absl::StrCat(base, ".Value");
  t->envelope_schema = absl::StrCat(
      R"({"type":"struct","fields":[)", StructSchema(*t, t->all, true, value_name, "before"), ",",
      StructSchema(*t, t->all, true, value_name, "after"), ",", Sv(kSourceSchema), ",",
      Sv(kTransactionSchema),
      R"(,{"type":"string","optional":false,"field":"op"},)"
      R"({"type":"int64","optional":true,"field":"ts_ms"},)"
      R"({"type":"int64","optional":true,"field":"ts_us"},)"
      R"({"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":)");
  internal::AppendJsonString(absl::StrCat(base, ".Envelope"), &t->envelope_schema);
  t->envelope_schema.append(",\"version\":2}");
  return t;
}

// The values of one row by relation column index (row slots carry their column).
std::vector<std::optional<Value>> RowValues(const ChangeData& data, uint32_t first, uint32_t size,
                                            size_t columns) {
  std::vector<std::optional<Value>> out(columns);
  for (uint32_t k = 0; k < size; ++k) {
    const size_t column = data.values[first + k].column;
    if (column < columns) out[column] = data.ValueAt(first + k);
  }
  return out;
}

void AppendRow(const Table& t, const std::vector<std::optional<Value>>& row,
               const std::vector<size_t>& columns, std::string* out) {
  out->push_back('{');
  for (size_t n = 0; n < columns.size(); ++n) {
    const size_t i = columns[n];
    if (n > 0) out->push_back(',');
    internal::AppendJsonString(t.relation->columns[i].name, out);
    out->push_back(':');
    if (row[i]) {
      internal::AppendFieldValue(t.types[i], *row[i], out);
    } else if (t.optional[i]) {
      out->append("null");  // not sent (a key-only old row): null where it may be
    } else {
      out->append(internal::RequiredFallbackJson(t.types[i], t.relation->columns[i]));
    }
  }
  out->push_back('}');
}

std::string WithSchema(bool schemas, std::string_view schema, const std::string& payload) {
  if (!schemas) return payload;
  return absl::StrCat("{\"schema\":", Sv(schema), ",\"payload\":", payload, "}");
}

struct Clock {
  int64_t ns = absl::GetCurrentTimeNanos();
};

void AppendSource(const DebeziumOptions& options, const ChangeData& d, std::string_view schema,
                  std::string_view table, std::string* out) {
  const bool non_transactional = d.op == Operation::kMessage && !d.message_transactional;
  const int64_t us = non_transactional ? d.previous_commit_time_us : d.commit_time_us;
  absl::StrAppend(out, R"({"version":"pgcdc-)", PGCDC_VERSION_STRING,
                  R"(","connector":"postgresql","name":)");
  internal::AppendJsonString(options.topic_prefix, out);
  absl::StrAppend(out, ",\"ts_ms\":", us / 1000, ",\"snapshot\":\"",
                  d.op == Operation::kRead ? "true" : "false", "\",\"db\":");
  internal::AppendJsonString(d.database ? *d.database : "", out);
  // Debezium's sequence: [where the last transaction before this one ended, this lsn].
  const std::string last =
      d.previous_end_lsn == 0 ? "null" : absl::StrCat("\"", d.previous_end_lsn, "\"");
  out->append(",\"sequence\":");
  internal::AppendJsonString(absl::StrCat("[", last, ",\"", d.lsn, "\"]"), out);
  absl::StrAppend(out, ",\"ts_us\":", us, ",\"ts_ns\":", us * 1000, ",\"schema\":");
  internal::AppendJsonString(schema, out);
  out->append(",\"table\":");
  internal::AppendJsonString(table, out);
  out->append(",\"txId\":");
  if (non_transactional || d.xid == 0) {
    out->append("null");
  } else {
    absl::StrAppend(out, d.xid);
  }
  absl::StrAppend(out, ",\"lsn\":", d.lsn, R"(,"xmin":null,"origin":null,"origin_lsn":null})");
}

}  // namespace

struct DebeziumEncoder::Impl {
  DebeziumOptions options;
  absl::flat_hash_map<const RelationInfo*, std::unique_ptr<Table>> tables;

  const Table& TableFor(const std::shared_ptr<const RelationInfo>& relation) {
    std::unique_ptr<Table>& t = tables[relation.get()];
    if (t == nullptr) t = MakeTable(relation, options);
    return *t;
  }

  DebeziumRecord RowRecord(const Table& t, const ChangeData& d, std::string_view op,
                           const std::vector<std::optional<Value>>* before,
                           const std::vector<std::optional<Value>>* after, const Clock& now) {
    const std::vector<std::optional<Value>>& keyed = after != nullptr ? *after : *before;
    DebeziumRecord record;
    record.topic = t.topic;
    record.is_delete = op == "d";
    if (t.key.empty()) {
      record.key = "null";
    } else {
      std::string key;
      AppendRow(t, keyed, t.key, &key);
      record.key = WithSchema(options.schemas, t.key_schema, key);
    }
    std::string payload = "{\"before\":";
    if (before != nullptr) {
      AppendRow(t, *before, t.all, &payload);
    } else {
      payload.append("null");
    }
    payload.append(",\"after\":");
    if (after != nullptr) {
      AppendRow(t, *after, t.all, &payload);
    } else {
      payload.append("null");
    }
    payload.append(",\"source\":");
    AppendSource(options, d, t.relation->schema, t.relation->table, &payload);
    absl::StrAppend(&payload, ",\"transaction\":null,\"op\":\"", Sv(op),
                    "\",\"ts_ms\":", now.ns / 1000000, ",\"ts_us\":", now.ns / 1000,
                    ",\"ts_ns\":", now.ns, "}");
    record.value = WithSchema(options.schemas, t.envelope_schema, payload);
    return record;
  }

  DebeziumRecord MessageRecord(const ChangeData& d, const Change& change, const Clock& now) {
    DebeziumRecord record;
    record.topic = absl::StrCat(options.topic_prefix, ".message");
    std::string key = "{\"prefix\":";
    internal::AppendJsonString(change.message_prefix(), &key);
    key.push_back('}');
    record.key = WithSchema(options.schemas, kMessageKeySchema, key);
    std::string payload =
        absl::StrCat("{\"op\":\"m\",\"ts_ms\":", now.ns / 1000000, ",\"source\":");
    AppendSource(options, d, "", "", &payload);
    payload.append(",\"transaction\":null,\"message\":{\"prefix\":");
    internal::AppendJsonString(change.message_prefix(), &payload);
    absl::StrAppend(&payload, ",\"content\":\"", absl::Base64Escape(Sv(change.message_content())),
                    "\"}}");
    record.value = WithSchema(
        options.schemas,
        absl::StrCat(
            R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"op"},)"
            R"({"type":"int64","optional":true,"field":"ts_ms"},)",
            Sv(kSourceSchema), ",", Sv(kTransactionSchema), ",", Sv(kMessageSchema),
            R"(],"optional":false,"name":"io.debezium.connector.postgresql.MessageValue",)"
            R"("version":1})"),
        payload);
    return record;
  }
};

DebeziumEncoder::DebeziumEncoder(DebeziumOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
DebeziumEncoder::~DebeziumEncoder() = default;
DebeziumEncoder::DebeziumEncoder(DebeziumEncoder&&) noexcept = default;
DebeziumEncoder& DebeziumEncoder::operator=(DebeziumEncoder&&) noexcept = default;

absl::StatusOr<std::vector<DebeziumRecord>> DebeziumEncoder::Encode(const Change& change) {
  const ChangeData& d = ChangeData::Of(change);
  const Clock now;
  std::vector<DebeziumRecord> out;
  if (d.op == Operation::kMessage) {
    out.push_back(impl_->MessageRecord(d, change, now));
    return out;
  }
  if (d.op != Operation::kInsert && d.op != Operation::kUpdate && d.op != Operation::kDelete &&
      d.op != Operation::kRead) {
    return out;  // truncate (skipped.operations=t) and two-phase outcomes
  }
  if (d.relation == nullptr) {
    return absl::InvalidArgumentError("a row change without its relation");
  }
  const Table& t = impl_->TableFor(d.relation);
  const size_t n = t.types.size();
  const auto after = RowValues(d, d.new_first, d.new_size, n);
  const auto before = RowValues(d, d.old_first, d.old_size, n);
  const bool has_before = d.old_row_kind != OldRowKind::kNone;
  switch (d.op) {
    case Operation::kInsert:
      out.push_back(impl_->RowRecord(t, d, "c", nullptr, &after, now));
      break;
    case Operation::kRead:
      out.push_back(impl_->RowRecord(t, d, "r", nullptr, &after, now));
      break;
    case Operation::kDelete:
      out.push_back(impl_->RowRecord(t, d, "d", &before, nullptr, now));
      break;
    default: {
      // A changed primary key: Debezium emits a delete of the old key and a create.
      std::string old_key;
      std::string new_key;
      if (has_before && !t.key.empty()) {
        AppendRow(t, before, t.key, &old_key);
        AppendRow(t, after, t.key, &new_key);
      }
      if (old_key != new_key) {
        out.push_back(impl_->RowRecord(t, d, "d", &before, nullptr, now));
        out.push_back(impl_->RowRecord(t, d, "c", nullptr, &after, now));
      } else {
        out.push_back(impl_->RowRecord(t, d, "u", has_before ? &before : nullptr, &after, now));
      }
    }
  }
  return out;
}

DebeziumRecord Tombstone(const DebeziumRecord& deleted) {
  DebeziumRecord t;
  t.topic = deleted.topic;
  t.key = deleted.key;
  t.value = "null";
  return t;
}

std::string ToJsonLine(const DebeziumRecord& record) {
  std::string out = "{\"topic\":";
  internal::AppendJsonString(record.topic, &out);
  absl::StrAppend(&out, ",\"key\":", record.key, ",\"value\":", record.value, "}");
  return out;
}

absl::StatusOr<DebeziumDecimal> ParseDebeziumDecimal(std::string_view name) {
  if (name == "precise") return DebeziumDecimal::kPrecise;
  if (name == "string") return DebeziumDecimal::kString;
  if (name == "double") return DebeziumDecimal::kDouble;
  return absl::InvalidArgumentError(absl::StrCat("unknown Debezium decimal handling \"", Sv(name),
                                                 "\": use precise, string or double"));
}

absl::StatusOr<DebeziumTime> ParseDebeziumTime(std::string_view name) {
  if (name == "adaptive") return DebeziumTime::kAdaptive;
  if (name == "connect") return DebeziumTime::kConnect;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown Debezium time precision \"", Sv(name), "\": use adaptive or connect"));
}

}  // namespace pgcdc
