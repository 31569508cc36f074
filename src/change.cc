#include "pgcdc/change.h"

#include <cstring>
#include <memory>
#include <string>

#include "record/change_data.h"
#include "record/change_json.h"

namespace pgcdc {
namespace {

using internal::ChangeData;
using internal::ValueSlot;

void AppendHex(uint64_t value, int digits, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out->push_back(kHex[(value >> shift) & 0xF]);
  }
}

const ChangeData& EmptyData() {
  static const ChangeData* const kEmpty = new ChangeData();
  return *kEmpty;
}

}  // namespace

// --- Value ---------------------------------------------------------------------------

Value::Value() : data_(&EmptyData()) {
  static const ValueSlot kNullSlot{ValueKind::kNull};
  slot_ = &kNullSlot;
}

ValueKind Value::kind() const { return slot_->kind; }

bool Value::bool_value() const { return slot_->kind == ValueKind::kBool && slot_->i != 0; }

int64_t Value::int_value() const { return slot_->kind == ValueKind::kInt ? slot_->i : 0; }

double Value::float_value() const {
  if (slot_->kind != ValueKind::kFloat) return 0;
  double value;
  std::memcpy(&value, &slot_->i, sizeof value);
  return value;
}

std::string_view Value::data() const {
  switch (slot_->kind) {
    case ValueKind::kNumeric:
    case ValueKind::kText:
    case ValueKind::kBytes:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kInet:
    case ValueKind::kMacaddr:
      return data_->Bytes(*slot_);
    default:
      return {};
  }
}

std::string_view Value::DataIf(ValueKind kind) const {
  return slot_->kind == kind ? data_->Bytes(*slot_) : std::string_view();
}

Date Value::date_value() const {
  if (slot_->kind != ValueKind::kDate) return {};
  return {slot_->a, slot_->infinity};
}

int64_t Value::time_value() const { return slot_->kind == ValueKind::kTime ? slot_->i : 0; }

TimeTz Value::timetz_value() const {
  if (slot_->kind != ValueKind::kTimeTz) return {};
  return {slot_->i, slot_->a};
}

Timestamp Value::timestamp_value() const {
  if (slot_->kind != ValueKind::kTimestamp) return {};
  return {slot_->i, slot_->infinity};
}

Timestamp Value::timestamptz_value() const {
  if (slot_->kind != ValueKind::kTimestampTz) return {};
  return {slot_->i, slot_->infinity};
}

Interval Value::interval_value() const {
  if (slot_->kind != ValueKind::kInterval) return {};
  return {slot_->a, slot_->b, slot_->i, slot_->infinity};
}

Array Value::array_value() const {
  // A zero-value array for other kinds: no dimensions, no elements.
  static const ValueSlot kEmptyArray{ValueKind::kArray};
  return slot_->kind == ValueKind::kArray ? Array(data_, slot_) : Array(data_, &kEmptyArray);
}

// --- Array ---------------------------------------------------------------------------

uint32_t Array::element_type_oid() const { return static_cast<uint32_t>(slot_->a); }

int Array::dimensions() const { return slot_->b; }

const ValueSlot* Array::header(int dimension) const {
  if (dimension < 0 || dimension >= slot_->b) return nullptr;
  return &data_->values[static_cast<size_t>(slot_->i) + slot_->size +
                        static_cast<size_t>(dimension)];
}

int32_t Array::length(int dimension) const {
  const ValueSlot* h = header(dimension);
  return h == nullptr ? 0 : h->a;
}

int32_t Array::lower_bound(int dimension) const {
  const ValueSlot* h = header(dimension);
  return h == nullptr ? 1 : h->b;
}

size_t Array::size() const { return slot_->size; }

Value Array::operator[](size_t index) const {
  return Value(data_, &data_->values[static_cast<size_t>(slot_->i) + index]);
}

// --- Row -----------------------------------------------------------------------------

Column Row::operator[](size_t index) const {
  const ValueSlot& slot = data_->values[first_ + index];
  const auto& meta = data_->relation->columns[slot.column];
  return Column(meta.name, meta.type_oid, meta.key, meta.type_modifier, Value(data_, &slot));
}

std::optional<Column> Row::Find(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    const ValueSlot& slot = data_->values[first_ + i];
    if (data_->relation->columns[slot.column].name == name) return (*this)[i];
  }
  return std::nullopt;
}

// --- Change --------------------------------------------------------------------------

Change::Change() = default;
Change::~Change() = default;
Change::Change(Change&& other) noexcept = default;
Change& Change::operator=(Change&& other) noexcept = default;

Change::Change(const Change& other)
    : data_(other.data_ ? std::make_unique<ChangeData>(*other.data_) : nullptr) {}

Change& Change::operator=(const Change& other) {
  if (this != &other) {
    data_ = other.data_ ? std::make_unique<ChangeData>(*other.data_) : nullptr;
  }
  return *this;
}

// A default-constructed or moved-from record reads as an empty one.
const ChangeData& Change::data() const { return data_ ? *data_ : EmptyData(); }

std::string Change::id() const {
  const ChangeData& d = data();
  std::string id;
  id.reserve(25);
  // A non-transactional message has no transaction: its own WAL position identifies it.
  if (d.op == Operation::kMessage && !d.message_transactional) {
    AppendHex(d.lsn, 16, &id);
    id.append("-M");
    return id;
  }
  // A snapshot row: "<consistent point>-R<relation oid>-<locator>". The "R" keeps it
  // apart from a transaction that commits exactly at the consistent point.
  if (d.op == Operation::kRead) {
    AppendHex(d.commit_lsn, 16, &id);
    id.append("-R");
    AppendHex(d.relation_oid, 8, &id);
    id.push_back('-');
    AppendHex(d.row_locator, 16, &id);
    return id;
  }
  // The outcome of a prepared transaction: its own WAL record identifies it. ("C" and
  // "R" are not hex digits: no clash with "<commit_lsn>-<ordinal>", and "RP" none with
  // a snapshot row's "R<oid>".)
  if (d.op == Operation::kCommitPrepared) {
    AppendHex(d.commit_lsn, 16, &id);
    id.append("-CP");
    return id;
  }
  if (d.op == Operation::kRollbackPrepared) {
    AppendHex(d.end_lsn, 16, &id);
    id.append("-RP");
    return id;
  }
  // "<commit_lsn>-<ordinal>": the same transaction replayed after a restart has the same
  // commit LSN and the same changes in the same order, so the id is stable; commit LSNs
  // are unique per transaction, so it is unique. Fixed width keeps ids sortable.
  AppendHex(d.commit_lsn, 16, &id);
  id.push_back('-');
  AppendHex(d.ordinal, 8, &id);
  return id;
}

Operation Change::op() const { return data().op; }

std::string_view Change::schema() const {
  const ChangeData& d = data();
  return d.relation ? std::string_view(d.relation->schema) : std::string_view();
}

std::string_view Change::table() const {
  const ChangeData& d = data();
  return d.relation ? std::string_view(d.relation->table) : std::string_view();
}

uint32_t Change::relation_oid() const { return data().relation_oid; }

Row Change::new_row() const {
  const ChangeData& d = data();
  return Row(&d, d.new_first, d.new_size);
}

Row Change::old_row() const {
  const ChangeData& d = data();
  return Row(&d, d.old_first, d.old_size);
}

OldRowKind Change::old_row_kind() const { return data().old_row_kind; }

std::vector<ColumnInfo> Change::columns() const {
  std::vector<ColumnInfo> out;
  const Operation op = data().op;
  const bool row_op = op == Operation::kInsert || op == Operation::kUpdate ||
                      op == Operation::kDelete || op == Operation::kRead;
  if (!row_op || data().relation == nullptr) return out;
  out.reserve(data().relation->columns.size());
  for (const auto& c : data().relation->columns) {
    out.push_back(
        ColumnInfo{c.name, c.type_oid, c.type_modifier, c.key, !c.not_null, c.primary_key});
  }
  return out;
}
Lsn Change::lsn() const { return Lsn(data().lsn); }
Lsn Change::commit_lsn() const { return Lsn(data().commit_lsn); }
Lsn Change::end_lsn() const { return Lsn(data().end_lsn); }
uint32_t Change::xid() const { return data().xid; }
int64_t Change::commit_time_us() const { return data().commit_time_us; }
uint32_t Change::ordinal() const { return data().ordinal; }
bool Change::last_in_transaction() const { return data().last_in_transaction; }

std::string_view Change::gid() const {
  const ChangeData& d = data();
  return d.gid ? std::string_view(*d.gid) : std::string_view();
}

std::string_view Change::message_prefix() const {
  const ChangeData& d = data();
  if (d.op != Operation::kMessage) return {};
  return std::string_view(d.bytes).substr(0, d.message_prefix_size);
}

std::string_view Change::message_content() const {
  const ChangeData& d = data();
  if (d.op != Operation::kMessage) return {};
  return std::string_view(d.bytes).substr(d.message_prefix_size);
}

bool Change::message_transactional() const { return data().message_transactional; }
bool Change::truncate_cascade() const { return data().truncate_cascade; }
bool Change::truncate_restart_identity() const { return data().truncate_restart_identity; }

size_t Change::ByteSize() const {
  if (!data_) return sizeof(Change);
  return sizeof(Change) + sizeof(ChangeData) + data_->values.capacity() * sizeof(ValueSlot) +
         data_->bytes.capacity();
}

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kInsert:
      return "insert";
    case Operation::kUpdate:
      return "update";
    case Operation::kDelete:
      return "delete";
    case Operation::kTruncate:
      return "truncate";
    case Operation::kMessage:
      return "message";
    case Operation::kRead:
      return "read";
    case Operation::kCommitPrepared:
      return "commit_prepared";
    case Operation::kRollbackPrepared:
      return "rollback_prepared";
  }
  return "unspecified";
}

std::string ToJson(const Change& change) {
  std::string out;
  internal::AppendChangeJson(change, &out);
  return out;
}

}  // namespace pgcdc
