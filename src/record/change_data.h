// The storage behind pgcdc::Change: one vector of fixed-size value slots and one byte
// buffer per change, the relation (names, types) shared with the relation cache. Two
// or three allocations per change instead of one per column, value and string
// (doc/adr/0003).
#ifndef PGCDC_RECORD_CHANGE_DATA_H_
#define PGCDC_RECORD_CHANGE_DATA_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgcdc/change.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

// One value. Which fields mean what depends on `kind`:
//   kBool, kInt, kTime:      i
//   kFloat:                  i holds the double's bits
//   byte kinds (numeric, text, bytes, uuid, json, inet, macaddr): bytes[i, i + size)
//   kDate:                   a = days, infinity
//   kTimeTz:                 i = micros, a = offset seconds
//   kTimestamp(Tz):          i = micros, infinity
//   kInterval:               a = months, b = days, i = micros, infinity
//   kArray:                  a = element type OID, b = dimensions, size = elements;
//                            values[i, i + size) are the elements (row-major), then
//                            one header slot per dimension (a = length, b = lower bound)
// Row slots also carry `column`, the index of their column in the relation.
struct ValueSlot {
  ValueKind kind = ValueKind::kNull;
  Infinity infinity = Infinity::kFinite;
  uint16_t column = 0;
  int32_t a = 0;
  int32_t b = 0;
  uint32_t size = 0;
  int64_t i = 0;
};
static_assert(sizeof(ValueSlot) == 24, "a row of the bench table is 8 slots");

struct ChangeData {
  std::shared_ptr<const RelationInfo> relation;  // null for messages
  // A two-phase transaction delivered at PREPARE: its gid, shared by its changes.
  std::shared_ptr<const std::string> gid;
  Operation op = Operation::kInsert;
  OldRowKind old_row_kind = OldRowKind::kNone;
  bool last_in_transaction = false;
  bool message_transactional = false;
  bool truncate_cascade = false;
  bool truncate_restart_identity = false;
  uint32_t xid = 0;
  uint32_t ordinal = 0;
  uint32_t relation_oid = 0;
  uint64_t lsn = 0;
  uint64_t commit_lsn = 0;
  uint64_t end_lsn = 0;
  int64_t commit_time_us = 0;
  // Set as the stream hands the change out (ChangeStreamImpl::Deliver), for records
  // that say where a change sits in the stream (Debezium's source block): the database,
  // where the last transaction delivered before this change's one ended (for a
  // non-transactional message: its own lsn; 0: none since the stream started), and
  // that transaction's commit time.
  std::shared_ptr<const std::string> database;
  uint64_t previous_end_lsn = 0;
  int64_t previous_commit_time_us = 0;
  // op kRead: the row's place in the snapshot (chunk << 40 | row in chunk), which makes
  // its id unique within the snapshot (src/snapshot/snapshot_reader.h).
  uint64_t row_locator = 0;
  // Rows are contiguous runs of `values`; array elements follow after them.
  uint32_t new_first = 0;
  uint32_t new_size = 0;
  uint32_t old_first = 0;
  uint32_t old_size = 0;
  uint32_t message_prefix_size = 0;  // messages: bytes holds the prefix, then the content
  std::vector<ValueSlot> values;
  std::string bytes;

  std::string_view Bytes(const ValueSlot& slot) const {
    return std::string_view(bytes).substr(static_cast<size_t>(slot.i), slot.size);
  }

  Value ValueAt(size_t index) const { return Value(this, &values[index]); }

  static Change Wrap(std::unique_ptr<ChangeData> data) {
    Change change;
    change.data_ = std::move(data);
    return change;
  }
  static const ChangeData& Of(const Change& change) { return *change.data_; }
  static ChangeData& Mutable(Change& change) { return *change.data_; }
};

// Writes one value into a ChangeData. Holds an index, not a reference: decoding an
// array appends slots, which may reallocate the vector.
class ValueWriter {
 public:
  ValueWriter(ChangeData* data, size_t index) : data_(data), index_(index) {}

  ChangeData* data() const { return data_; }
  ValueSlot& slot() const { return data_->values[index_]; }

  void SetKind(ValueKind kind) const { slot().kind = kind; }
  void SetBool(bool value) const { SetScalar(ValueKind::kBool, value ? 1 : 0); }
  void SetInt(int64_t value) const { SetScalar(ValueKind::kInt, value); }
  void SetTime(int64_t micros) const { SetScalar(ValueKind::kTime, micros); }
  void SetFloat(double value) const {
    int64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    SetScalar(ValueKind::kFloat, bits);
  }
  void SetBytes(ValueKind kind, std::string_view bytes) const {
    BeginBytes();
    data_->bytes.append(bytes.data(), bytes.size());
    EndBytes(kind);
  }
  // For parsers that append to a string: BeginBytes(), append to *buffer, EndBytes().
  std::string* BeginBytes() const {
    slot().i = static_cast<int64_t>(data_->bytes.size());
    return &data_->bytes;
  }
  void EndBytes(ValueKind kind) const {
    ValueSlot& s = slot();
    s.kind = kind;
    s.size = static_cast<uint32_t>(data_->bytes.size() - static_cast<size_t>(s.i));
  }
  void SetDate(const Date& date) const {
    ValueSlot& s = slot();
    s.kind = ValueKind::kDate;
    s.a = date.days;
    s.infinity = date.infinity;
  }
  void SetTimeTz(const TimeTz& time) const {
    ValueSlot& s = slot();
    s.kind = ValueKind::kTimeTz;
    s.i = time.micros;
    s.a = time.offset_seconds;
  }
  void SetTimestamp(ValueKind kind, const Timestamp& timestamp) const {
    ValueSlot& s = slot();
    s.kind = kind;
    s.i = timestamp.micros;
    s.infinity = timestamp.infinity;
  }
  void SetInterval(const Interval& interval) const {
    ValueSlot& s = slot();
    s.kind = ValueKind::kInterval;
    s.a = interval.months;
    s.b = interval.days;
    s.i = interval.micros;
    s.infinity = interval.infinity;
  }

 private:
  void SetScalar(ValueKind kind, int64_t value) const {
    ValueSlot& s = slot();
    s.kind = kind;
    s.i = value;
  }

  ChangeData* data_;
  size_t index_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_RECORD_CHANGE_DATA_H_
