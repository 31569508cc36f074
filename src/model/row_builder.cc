#include "model/row_builder.h"

#include "absl/strings/str_cat.h"
#include "model/value_decoder.h"

namespace pgcdc::internal {
namespace {

absl::Status DecodeColumn(const RelationInfo& relation, const RelationInfo::Column& meta,
                          const TupleColumn& column, v1::Value* value) {
  switch (column.kind) {
    case TupleColumn::Kind::kNull:
      value->mutable_null();
      return absl::OkStatus();
    case TupleColumn::Kind::kUnchangedToast:
      value->mutable_unchanged_toast();
      return absl::OkStatus();
    case TupleColumn::Kind::kText:
      break;
    case TupleColumn::Kind::kBinary:
      return absl::DataLossError(absl::StrCat(
          "column \"", meta.name, "\" of ", relation.schema, ".", relation.table,
          " arrived in binary format, which pgcdc did not request"));
  }
  absl::Status status = DecodeTextValue(meta.decode_oid, column.data, value);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("column \"", meta.name, "\" of ", relation.schema,
                                            ".", relation.table, ": ", status.message()));
  }
  return status;
}

}  // namespace

absl::Status BuildRow(const RelationInfo& relation, const TupleData& tuple, bool key_only,
                      v1::Row* row) {
  if (tuple.columns.size() != relation.columns.size()) {
    return absl::DataLossError(absl::StrCat(
        "a row of ", relation.schema, ".", relation.table, " has ", tuple.columns.size(),
        " columns but its Relation message described ", relation.columns.size()));
  }
  row->mutable_columns()->Reserve(static_cast<int>(tuple.columns.size()));
  for (size_t i = 0; i < tuple.columns.size(); ++i) {
    const RelationInfo::Column& meta = relation.columns[i];
    if (key_only && !meta.key) continue;
    v1::Column* column = row->add_columns();
    column->set_name(meta.name);
    column->set_type_oid(meta.type_oid);
    column->set_key(meta.key);
    if (absl::Status s = DecodeColumn(relation, meta, tuple.columns[i], column->mutable_value());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void FillUnchangedFromOld(const v1::Row& old_row, v1::Row* new_row) {
  // Both rows come from the same Relation message, so positions line up.
  if (old_row.columns_size() != new_row->columns_size()) return;
  for (int i = 0; i < new_row->columns_size(); ++i) {
    v1::Column* column = new_row->mutable_columns(i);
    if (column->value().has_unchanged_toast() &&
        !old_row.columns(i).value().has_unchanged_toast()) {
      *column->mutable_value() = old_row.columns(i).value();
    }
  }
}

}  // namespace pgcdc::internal
