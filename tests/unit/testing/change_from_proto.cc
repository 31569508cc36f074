#include "unit/testing/change_from_proto.h"

#include <memory>
#include <string>
#include <vector>

#include "record/change_data.h"

namespace pgcdc::internal {
namespace {

void WriteValue(const v1::Value& v, ChangeData* data, size_t index);

void CollectLeaves(const v1::Array& array, size_t depth, size_t dims,
                   std::vector<const v1::Value*>* leaves) {
  for (const v1::Value& element : array.elements()) {
    if (depth + 1 < dims) {
      CollectLeaves(element.array_value(), depth + 1, dims, leaves);
    } else {
      leaves->push_back(&element);
    }
  }
}

void WriteArray(const v1::Array& array, ChangeData* data, size_t index) {
  std::vector<int32_t> lengths;
  for (const v1::Array* level = &array; level->elements_size() > 0;) {
    lengths.push_back(level->elements_size());
    if (!level->elements(0).has_array_value()) break;
    level = &level->elements(0).array_value();
  }
  std::vector<const v1::Value*> leaves;
  CollectLeaves(array, 0, lengths.size(), &leaves);
  const size_t first = data->values.size();
  data->values.resize(first + leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) WriteValue(*leaves[i], data, first + i);
  for (size_t d = 0; d < lengths.size(); ++d) {
    ValueSlot& header = data->values.emplace_back();
    header.a = lengths[d];
    header.b = static_cast<int>(d) < array.lower_bounds_size()
                   ? array.lower_bounds(static_cast<int>(d))
                   : 1;
  }
  ValueSlot& slot = data->values[index];
  slot.kind = ValueKind::kArray;
  slot.a = static_cast<int32_t>(array.element_type_oid());
  slot.b = static_cast<int32_t>(lengths.size());
  slot.size = static_cast<uint32_t>(leaves.size());
  slot.i = static_cast<int64_t>(first);
}

void WriteValue(const v1::Value& v, ChangeData* data, size_t index) {
  const ValueWriter out(data, index);
  using V = v1::Value;
  switch (v.kind_case()) {
    case V::kUnchangedToast:
      return out.SetKind(ValueKind::kUnchangedToast);
    case V::kBoolValue:
      return out.SetBool(v.bool_value());
    case V::kIntValue:
      return out.SetInt(v.int_value());
    case V::kFloatValue:
      return out.SetFloat(v.float_value());
    case V::kNumericValue:
      return out.SetBytes(ValueKind::kNumeric, v.numeric_value());
    case V::kTextValue:
      return out.SetBytes(ValueKind::kText, v.text_value());
    case V::kBytesValue:
      return out.SetBytes(ValueKind::kBytes, v.bytes_value());
    case V::kUuidValue:
      return out.SetBytes(ValueKind::kUuid, v.uuid_value());
    case V::kJsonValue:
      return out.SetBytes(ValueKind::kJson, v.json_value());
    case V::kInetValue:
      return out.SetBytes(ValueKind::kInet, v.inet_value());
    case V::kMacaddrValue:
      return out.SetBytes(ValueKind::kMacaddr, v.macaddr_value());
    case V::kDateValue:
      return out.SetDate({v.date_value().days(), static_cast<Infinity>(v.date_value().infinity())});
    case V::kTimeValue:
      return out.SetTime(v.time_value());
    case V::kTimetzValue:
      return out.SetTimeTz({v.timetz_value().micros(), v.timetz_value().offset_seconds()});
    case V::kTimestampValue:
      return out.SetTimestamp(
          ValueKind::kTimestamp,
          {v.timestamp_value().micros(), static_cast<Infinity>(v.timestamp_value().infinity())});
    case V::kTimestamptzValue:
      return out.SetTimestamp(ValueKind::kTimestampTz,
                              {v.timestamptz_value().micros(),
                               static_cast<Infinity>(v.timestamptz_value().infinity())});
    case V::kIntervalValue: {
      const v1::Interval& i = v.interval_value();
      return out.SetInterval(
          {i.months(), i.days(), i.micros(), static_cast<Infinity>(i.infinity())});
    }
    case V::kArrayValue:
      return WriteArray(v.array_value(), data, index);
    case V::kNull:
    case V::KIND_NOT_SET:
      return out.SetKind(ValueKind::kNull);
  }
}

size_t ColumnIndex(RelationInfo* relation, const v1::Column& column) {
  for (size_t i = 0; i < relation->columns.size(); ++i) {
    if (relation->columns[i].name == column.name()) return i;
  }
  relation->columns.push_back({column.name(),
                               column.type_oid(),
                               column.type_oid(),
                               column.key(),
                               column.type_modifier(),
                               false,
                               false,
                               std::nullopt,
                               {}});
  return relation->columns.size() - 1;
}

void WriteRow(const v1::Row& row, RelationInfo* relation, ChangeData* data, uint32_t* first,
              uint32_t* size) {
  *first = static_cast<uint32_t>(data->values.size());
  *size = static_cast<uint32_t>(row.columns_size());
  data->values.resize(data->values.size() + row.columns_size());
  for (int i = 0; i < row.columns_size(); ++i) {
    data->values[*first + i].column = static_cast<uint16_t>(ColumnIndex(relation, row.columns(i)));
    WriteValue(row.columns(i).value(), data, *first + i);
  }
}

}  // namespace

Change ChangeFromProto(const v1::Change& proto) {
  auto data = std::make_unique<ChangeData>();
  auto relation = std::make_shared<RelationInfo>();
  relation->oid = proto.relation_oid();
  relation->schema = proto.schema();
  relation->table = proto.table();
  for (const v1::Column& c : proto.new_row().columns()) ColumnIndex(relation.get(), c);
  WriteRow(proto.new_row(), relation.get(), data.get(), &data->new_first, &data->new_size);
  WriteRow(proto.old_row(), relation.get(), data.get(), &data->old_first, &data->old_size);
  data->relation = relation;
  data->op = static_cast<Operation>(proto.op());
  data->old_row_kind = static_cast<OldRowKind>(proto.old_row_kind());
  data->lsn = proto.lsn();
  data->commit_lsn = proto.commit_lsn();
  data->end_lsn = proto.end_lsn();
  data->xid = proto.xid();
  data->commit_time_us = proto.commit_time_us();
  data->ordinal = proto.ordinal();
  data->last_in_transaction = proto.last_in_transaction();
  data->relation_oid = proto.relation_oid();
  data->truncate_cascade = proto.truncate().cascade();
  data->truncate_restart_identity = proto.truncate().restart_identity();
  if (proto.op() == v1::OPERATION_MESSAGE) {
    data->message_transactional = proto.message().transactional();
    data->message_prefix_size = static_cast<uint32_t>(proto.message().prefix().size());
    data->bytes += proto.message().prefix();
    data->bytes += proto.message().content();
  }
  return ChangeData::Wrap(std::move(data));
}

Change ChangeWithValue(const v1::Value& value) {
  v1::Change proto;
  proto.set_op(v1::OPERATION_INSERT);
  v1::Column* column = proto.mutable_new_row()->add_columns();
  column->set_name("v");
  *column->mutable_value() = value;
  return ChangeFromProto(proto);
}

}  // namespace pgcdc::internal
