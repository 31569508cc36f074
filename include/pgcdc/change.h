// The change record. In memory it is flat (one vector of fixed-size values and one
// byte buffer per change, column names shared with the relation it was decoded with),
// because building a protobuf message per change costs several times the decoding
// (doc/adr/0003). Its accessors mirror pgcdc.v1.Change (proto/pgcdc/v1/change.proto),
// and ToProto() builds that message for those who want the wire format.
#ifndef PGCDC_CHANGE_H_
#define PGCDC_CHANGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcdc/lsn.h"

namespace pgcdc {
namespace v1 {
class Change;  // pgcdc/v1/change.pb.h
}
namespace internal {
struct ChangeData;
struct ValueSlot;
}  // namespace internal

// Same numbers as pgcdc.v1.Operation.
enum class Operation : uint8_t {
  kInsert = 1,
  kUpdate = 2,
  kDelete = 3,
  kTruncate = 4,
  kMessage = 5,
  kRead = 6,  // a row of an initial snapshot
  // The outcome of a prepared transaction delivered at its PREPARE
  // (PreparedDelivery::kAtPrepare): a record without rows, carrying gid() and xid().
  kCommitPrepared = 7,
  kRollbackPrepared = 8,
};

// Same numbers as pgcdc.v1.OldRowKind.
enum class OldRowKind : uint8_t {
  kNone = 0,  // no old row was sent
  kKey = 1,   // replica identity columns only (the others are absent)
  kFull = 2,  // the whole old row (REPLICA IDENTITY FULL)
};

// Same numbers as pgcdc.v1.Infinity.
enum class Infinity : uint8_t { kFinite = 0, kPositive = 1, kNegative = 2 };

struct Date {
  int32_t days = 0;  // since 1970-01-01 (proleptic Gregorian)
  Infinity infinity = Infinity::kFinite;
};
struct Timestamp {
  int64_t micros = 0;  // since 1970-01-01 00:00:00 (UTC for timestamptz)
  Infinity infinity = Infinity::kFinite;
};
struct TimeTz {
  int64_t micros = 0;          // since midnight, local to the offset
  int32_t offset_seconds = 0;  // east of UTC (+05:30 is 19800)
};
struct Interval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;
  Infinity infinity = Infinity::kFinite;  // PostgreSQL 17+
};

// Same numbers as the fields of pgcdc.v1.Value's oneof.
enum class ValueKind : uint8_t {
  kNull = 1,
  kUnchangedToast = 2,  // an unchanged TOAST value the server did not send
  kBool = 3,
  kInt = 4,      // int2, int4, int8, oid, xid
  kFloat = 5,    // float4, float8 (NaN and infinities as IEEE values)
  kNumeric = 6,  // exact decimal text; "NaN", "Infinity", "-Infinity"; money too
  kText = 7,     // text types, enums, and the text form of any other type
  kBytes = 8,    // bytea
  kDate = 9,
  kTime = 10,  // microseconds since midnight
  kTimeTz = 11,
  kTimestamp = 12,
  kTimestampTz = 13,
  kInterval = 14,
  kUuid = 15,  // 16 bytes
  kJson = 16,  // json or jsonb document text, as the server printed it
  kArray = 17,
  kInet = 18,     // inet, cidr: canonical text
  kMacaddr = 19,  // macaddr, macaddr8: canonical text
};

class Array;

// A view of one value inside a Change; valid as long as the Change (or the Change it
// was moved into) lives. Accessors for another kind than kind() return a zero value.
class Value {
 public:
  Value();  // SQL NULL
  ValueKind kind() const;
  bool is_null() const { return kind() == ValueKind::kNull; }
  bool is_unchanged_toast() const { return kind() == ValueKind::kUnchangedToast; }

  bool bool_value() const;
  int64_t int_value() const;
  double float_value() const;
  // The bytes of numeric, text, bytes, uuid, json, inet and macaddr values.
  std::string_view data() const;
  std::string_view numeric_value() const { return DataIf(ValueKind::kNumeric); }
  std::string_view text_value() const { return DataIf(ValueKind::kText); }
  std::string_view bytes_value() const { return DataIf(ValueKind::kBytes); }
  std::string_view uuid_value() const { return DataIf(ValueKind::kUuid); }
  std::string_view json_value() const { return DataIf(ValueKind::kJson); }
  std::string_view inet_value() const { return DataIf(ValueKind::kInet); }
  std::string_view macaddr_value() const { return DataIf(ValueKind::kMacaddr); }
  Date date_value() const;
  int64_t time_value() const;
  TimeTz timetz_value() const;
  Timestamp timestamp_value() const;
  Timestamp timestamptz_value() const;
  Interval interval_value() const;
  Array array_value() const;

 private:
  friend class Array;
  friend class Row;
  friend struct internal::ChangeData;
  Value(const internal::ChangeData* data, const internal::ValueSlot* slot)
      : data_(data), slot_(slot) {}
  std::string_view DataIf(ValueKind kind) const;

  const internal::ChangeData* data_;
  const internal::ValueSlot* slot_;
};

// A PostgreSQL array: rectangular, with one or more dimensions (none when empty), its
// elements in row-major order, and a lower bound per dimension (1 unless the value was
// built with explicit bounds such as '[0:1]={a,b}').
class Array {
 public:
  uint32_t element_type_oid() const;
  int dimensions() const;
  int32_t length(int dimension) const;
  int32_t lower_bound(int dimension) const;
  // All elements, row-major: element [i][j] of a 2-D array is at i * length(1) + j.
  size_t size() const;
  Value operator[](size_t index) const;

 private:
  friend class Value;
  Array(const internal::ChangeData* data, const internal::ValueSlot* slot)
      : data_(data), slot_(slot) {}
  const internal::ValueSlot* header(int dimension) const;

  const internal::ChangeData* data_;
  const internal::ValueSlot* slot_;
};

class Column {
 public:
  std::string_view name() const { return name_; }
  uint32_t type_oid() const { return type_oid_; }  // a domain keeps its own OID
  bool key() const { return key_; }                // part of the replica identity
  // The column's atttypmod, -1 when the type has none: numeric(p,s) is
  // ((p << 16) | s) + 4, varchar(n) and char(n) are n + 4, timestamp(p), time(p) and
  // interval(p) are p (PostgreSQL's own encodings; pgoutput sends them as they are).
  int32_t type_modifier() const { return type_modifier_; }
  Value value() const { return value_; }

 private:
  friend class Row;
  Column(std::string_view name, uint32_t type_oid, bool key, int32_t type_modifier, Value value)
      : name_(name), type_oid_(type_oid), key_(key), type_modifier_(type_modifier), value_(value) {}
  std::string_view name_;
  uint32_t type_oid_;
  bool key_;
  int32_t type_modifier_;
  Value value_;
};

// The columns of a row, in table order (a key-only old row holds only the replica
// identity columns).
class Row {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Column operator[](size_t index) const;
  // The column named `name` (exact, case-sensitive match), if the row has it.
  std::optional<Column> Find(std::string_view name) const;

  class iterator {
   public:
    Column operator*() const { return (*row_)[index_]; }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const iterator& other) const { return index_ != other.index_; }
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    friend class Row;
    iterator(const Row* row, size_t index) : row_(row), index_(index) {}
    const Row* row_;
    size_t index_;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size_); }

 private:
  friend class Change;
  Row(const internal::ChangeData* data, uint32_t first, uint32_t size)
      : data_(data), first_(first), size_(size) {}
  const internal::ChangeData* data_;
  uint32_t first_;
  uint32_t size_;
};

// A column of a change's table, as its Relation message (or, for snapshot rows, the
// catalog) describes it, whether or not a row of the change carries it.
struct ColumnInfo {
  std::string_view name;
  uint32_t type_oid = 0;       // for a domain, the domain's OID
  int32_t type_modifier = -1;  // atttypmod, as Column::type_modifier
  bool key = false;            // part of the replica identity
  // False for a NOT NULL column. From the catalog (StreamOptions::describe_columns;
  // always true when that is off, as pgoutput does not send it).
  bool nullable = true;
  // Part of the table's primary key. From the catalog (describe_columns; always false
  // when that is off): with REPLICA IDENTITY FULL, `key` marks every column.
  bool primary_key = false;
};

class Change {
 public:
  Change();
  ~Change();
  Change(const Change& other);
  Change& operator=(const Change& other);
  Change(Change&& other) noexcept;
  Change& operator=(Change&& other) noexcept;

  // Identical every time this change is delivered again (after a restart or replay),
  // unique otherwise: "<commit_lsn as 16 hex digits>-<ordinal as 8 hex digits>", or
  // "<lsn>-M" for a non-transactional message, and for a snapshot row (op kRead)
  // "<consistent point>-R<relation oid as 8 hex digits>-<locator as 16 hex digits>",
  // unique within its snapshot. Snapshot rows keep their ids only within one
  // snapshot: one that was interrupted starts over under a new consistent point, and
  // its rows get new ids. A read record is an upsert of the row as of its snapshot:
  // deduplicate snapshot rows by table and primary key, not by id.
  // A change delivered at PREPARE has the PREPARE record's start as commit_lsn; the
  // outcome records are "<commit_lsn>-CP" (kCommitPrepared) and "<end_lsn>-RP"
  // (kRollbackPrepared: the server sends only the end of that record).
  std::string id() const;
  Operation op() const;
  std::string_view schema() const;  // empty for messages
  std::string_view table() const;
  uint32_t relation_oid() const;
  Row new_row() const;  // insert, update, read
  Row old_row() const;  // update, delete (as the server sent it)
  OldRowKind old_row_kind() const;
  // Every column of the table in table order (none for messages, truncates and the
  // two-phase outcome records): what a typed sink needs to lay out its schema.
  std::vector<ColumnInfo> columns() const;

  Lsn lsn() const;
  Lsn commit_lsn() const;  // start of the transaction's commit record
  Lsn end_lsn() const;     // end of it: acknowledging this confirms the transaction
  uint32_t xid() const;
  int64_t commit_time_us() const;  // microseconds since the Unix epoch, UTC
  uint32_t ordinal() const;        // 0-based position of the change in its transaction
  bool last_in_transaction() const;
  // The global identifier of a two-phase transaction (PREPARE TRANSACTION 'gid'), set
  // on changes delivered at PREPARE, which are not committed yet, and on the
  // kCommitPrepared / kRollbackPrepared records that tell their outcome. Empty
  // otherwise (also for a prepared transaction delivered at COMMIT PREPARED).
  std::string_view gid() const;

  // op() == kMessage (pg_logical_emit_message).
  std::string_view message_prefix() const;
  std::string_view message_content() const;
  bool message_transactional() const;
  // op() == kTruncate.
  bool truncate_cascade() const;
  bool truncate_restart_identity() const;

  // The pgcdc.v1.Change message (include "pgcdc/v1/change.pb.h" to use it).
  v1::Change ToProto() const;
  void ToProto(v1::Change* out) const;

  // Approximate heap bytes held by this record (for memory accounting).
  size_t ByteSize() const;

 private:
  friend struct internal::ChangeData;
  const internal::ChangeData& data() const;
  std::unique_ptr<internal::ChangeData> data_;
};

// "insert", "update", "delete", "truncate", "message", "read", "commit_prepared",
// "rollback_prepared".
std::string_view OperationName(Operation op);

// One compact JSON object (no trailing newline), the format of `pgcdc stream`:
// {"id":…,"op":…,"schema":…,"table":…,"new":{…},"old":…, …}. Unchanged TOAST values
// are left out of "new" and listed under "unchanged".
std::string ToJson(const Change& change);

}  // namespace pgcdc

#endif  // PGCDC_CHANGE_H_
