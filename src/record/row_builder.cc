#include "record/row_builder.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"
#include "values/value_decoder.h"

namespace pgcdc::internal {
namespace {

absl::Status DecodeColumn(const RelationInfo& relation, const RelationInfo::Column& meta,
                          const TupleColumn& column, const ValueWriter& value) {
  switch (column.kind) {
    case TupleColumn::Kind::kNull:
      value.SetKind(ValueKind::kNull);
      return absl::OkStatus();
    case TupleColumn::Kind::kUnchangedToast:
      value.SetKind(ValueKind::kUnchangedToast);
      return absl::OkStatus();
    case TupleColumn::Kind::kText:
      break;
    case TupleColumn::Kind::kBinary:
      return absl::DataLossError(
          absl::StrCat("column \"", meta.name, "\" of ", relation.schema, ".", relation.table,
                       " arrived in binary format, which pgcdc did not request"));
  }
  absl::Status status = DecodeTextValue(meta.decode_oid, column.data, value);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("column \"", meta.name, "\" of ", relation.schema, ".",
                                            relation.table, ": ", status.message()));
  }
  return status;
}

}  // namespace

absl::StatusOr<RowSlots> BuildRow(const RelationInfo& relation, const TupleData& tuple,
                                  bool key_only, ChangeData* data) {
  const size_t count = tuple.columns.size();
  if (count != relation.columns.size()) {
    return absl::DataLossError(
        absl::StrCat("a row of ", relation.schema, ".", relation.table, " has ", count,
                     " columns but its Relation message described ", relation.columns.size()));
  }
  size_t kept = count;
  if (key_only) {
    kept = 0;
    for (const RelationInfo::Column& meta : relation.columns) kept += meta.key ? 1 : 0;
  }
  // The row's slots first, so that they stay contiguous: arrays append theirs after.
  RowSlots row{static_cast<uint32_t>(data->values.size()), static_cast<uint32_t>(kept)};
  data->values.resize(data->values.size() + kept);
  size_t next = row.first;
  for (size_t i = 0; i < count; ++i) {
    const RelationInfo::Column& meta = relation.columns[i];
    if (key_only && !meta.key) continue;
    data->values[next].column = static_cast<uint16_t>(i);
    PGCDC_RETURN_IF_ERROR(DecodeColumn(relation, meta, tuple.columns[i], ValueWriter(data, next)));
    ++next;
  }
  return row;
}

void FillUnchangedFromOld(RowSlots old_row, RowSlots new_row, ChangeData* data) {
  // Both rows come from the same Relation message, so positions line up. Copying a
  // slot is enough: byte payloads and array elements live in the same ChangeData.
  if (old_row.size != new_row.size) return;
  for (uint32_t i = 0; i < new_row.size; ++i) {
    ValueSlot& column = data->values[new_row.first + i];
    const ValueSlot& old = data->values[old_row.first + i];
    if (column.kind == ValueKind::kUnchangedToast && old.kind != ValueKind::kUnchangedToast) {
      column = old;
    }
  }
}

}  // namespace pgcdc::internal
