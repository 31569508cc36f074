// pgcdc::Change -> pgcdc.v1.Change: the wire format for `pgcdc stream --format
// protobuf` and Python's to_proto(). Field numbers of the enums match (change.h).
#include "record/change_proto.h"

#include <string>

#include "pgcdc/change.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc {
namespace internal {
namespace {

v1::Infinity ToProto(Infinity infinity) { return static_cast<v1::Infinity>(infinity); }

void ArrayLevelToProto(const Array& array, int dimension, size_t* next, v1::Array* out) {
  out->set_element_type_oid(array.element_type_oid());
  const int32_t length = array.length(dimension);
  out->mutable_elements()->Reserve(length);
  for (int32_t i = 0; i < length; ++i) {
    v1::Value* element = out->add_elements();
    if (dimension + 1 < array.dimensions()) {
      ArrayLevelToProto(array, dimension + 1, next, element->mutable_array_value());
    } else {
      ValueToProto(array[(*next)++], element);
    }
  }
}

// One nested Array per dimension, element_type_oid on every level, lower_bounds on
// the outermost only when some bound is not 1 (what array_out prints explicitly).
void ArrayToProto(const Array& array, v1::Array* out) {
  out->set_element_type_oid(array.element_type_oid());
  if (array.dimensions() == 0) return;
  size_t next = 0;
  ArrayLevelToProto(array, 0, &next, out);
  bool all_one = true;
  for (int d = 0; d < array.dimensions(); ++d) all_one = all_one && array.lower_bound(d) == 1;
  if (all_one) return;
  for (int d = 0; d < array.dimensions(); ++d) out->add_lower_bounds(array.lower_bound(d));
}

void RowToProto(const Row& row, v1::Row* out) {
  out->mutable_columns()->Reserve(static_cast<int>(row.size()));
  for (const Column column : row) {
    v1::Column* c = out->add_columns();
    c->set_name(column.name().data(), column.name().size());
    c->set_type_oid(column.type_oid());
    c->set_key(column.key());
    c->set_type_modifier(column.type_modifier());
    ValueToProto(column.value(), c->mutable_value());
  }
}

void SetBytes(std::string_view bytes, std::string* out) { out->assign(bytes.data(), bytes.size()); }

}  // namespace

void ValueToProto(const Value& value, v1::Value* out) {
  switch (value.kind()) {
    case ValueKind::kNull:
      out->mutable_null();
      return;
    case ValueKind::kUnchangedToast:
      out->mutable_unchanged_toast();
      return;
    case ValueKind::kBool:
      return out->set_bool_value(value.bool_value());
    case ValueKind::kInt:
      return out->set_int_value(value.int_value());
    case ValueKind::kFloat:
      return out->set_float_value(value.float_value());
    case ValueKind::kNumeric:
      return SetBytes(value.data(), out->mutable_numeric_value());
    case ValueKind::kText:
      return SetBytes(value.data(), out->mutable_text_value());
    case ValueKind::kBytes:
      return SetBytes(value.data(), out->mutable_bytes_value());
    case ValueKind::kUuid:
      return SetBytes(value.data(), out->mutable_uuid_value());
    case ValueKind::kJson:
      return SetBytes(value.data(), out->mutable_json_value());
    case ValueKind::kInet:
      return SetBytes(value.data(), out->mutable_inet_value());
    case ValueKind::kMacaddr:
      return SetBytes(value.data(), out->mutable_macaddr_value());
    case ValueKind::kDate: {
      const Date date = value.date_value();
      out->mutable_date_value()->set_days(date.days);
      out->mutable_date_value()->set_infinity(ToProto(date.infinity));
      return;
    }
    case ValueKind::kTime:
      return out->set_time_value(value.time_value());
    case ValueKind::kTimeTz: {
      const TimeTz time = value.timetz_value();
      out->mutable_timetz_value()->set_micros(time.micros);
      out->mutable_timetz_value()->set_offset_seconds(time.offset_seconds);
      return;
    }
    case ValueKind::kTimestamp:
    case ValueKind::kTimestampTz: {
      const bool tz = value.kind() == ValueKind::kTimestampTz;
      const Timestamp ts = tz ? value.timestamptz_value() : value.timestamp_value();
      v1::Timestamp* t = tz ? out->mutable_timestamptz_value() : out->mutable_timestamp_value();
      t->set_micros(ts.micros);
      t->set_infinity(ToProto(ts.infinity));
      return;
    }
    case ValueKind::kInterval: {
      const Interval interval = value.interval_value();
      v1::Interval* i = out->mutable_interval_value();
      i->set_months(interval.months);
      i->set_days(interval.days);
      i->set_micros(interval.micros);
      i->set_infinity(ToProto(interval.infinity));
      return;
    }
    case ValueKind::kArray:
      return ArrayToProto(value.array_value(), out->mutable_array_value());
  }
}

}  // namespace internal

void Change::ToProto(v1::Change* out) const {
  out->Clear();
  out->set_id(id());
  out->set_op(static_cast<v1::Operation>(op()));
  out->set_schema(schema().data(), schema().size());
  out->set_table(table().data(), table().size());
  const Operation operation = op();
  if (operation == Operation::kInsert || operation == Operation::kUpdate ||
      operation == Operation::kRead) {
    internal::RowToProto(new_row(), out->mutable_new_row());
  }
  if (old_row_kind() != OldRowKind::kNone) {
    internal::RowToProto(old_row(), out->mutable_old_row());
  }
  out->set_old_row_kind(static_cast<v1::OldRowKind>(old_row_kind()));
  out->set_lsn(lsn().value());
  out->set_commit_lsn(commit_lsn().value());
  out->set_end_lsn(end_lsn().value());
  out->set_xid(xid());
  out->set_commit_time_us(commit_time_us());
  out->set_ordinal(ordinal());
  out->set_last_in_transaction(last_in_transaction());
  if (operation == Operation::kMessage) {
    v1::LogicalMessage* m = out->mutable_message();
    internal::SetBytes(message_prefix(), m->mutable_prefix());
    internal::SetBytes(message_content(), m->mutable_content());
    m->set_transactional(message_transactional());
  }
  if (operation == Operation::kTruncate) {
    out->mutable_truncate()->set_cascade(truncate_cascade());
    out->mutable_truncate()->set_restart_identity(truncate_restart_identity());
  }
  out->set_relation_oid(relation_oid());
  internal::SetBytes(gid(), out->mutable_gid());
}

v1::Change Change::ToProto() const {
  v1::Change out;
  ToProto(&out);
  return out;
}

}  // namespace pgcdc
