// Plain structs for the pgoutput logical replication messages (protocol v1-v4), as
// documented in "Logical Replication Message Formats" of the PostgreSQL manual.
//
// Lifetime: string_view / Span fields point into the payload that was decoded; the
// caller keeps that buffer alive while it uses the message. Names (relation, column,
// type, origin, gid) are owned std::strings because they outlive the payload in caches.
#ifndef PGCDC_PROTOCOL_PGOUTPUT_MESSAGES_H_
#define PGCDC_PROTOCOL_PGOUTPUT_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pgcdc::internal {

// LSN and TimestampTz as on the wire: u64 WAL position; i64 microseconds since
// 2000-01-01 00:00:00 UTC (the PostgreSQL epoch).
using WalPosition = uint64_t;
using PgTimestamp = int64_t;

// PostgreSQL timestamps count microseconds from 2000-01-01; records use the Unix epoch.
inline constexpr int64_t kPgEpochUnixMicros = 946684800000000;
constexpr int64_t UnixMicros(PgTimestamp t) { return t + kPgEpochUnixMicros; }

// One column of a TupleData: 'n' NULL, 'u' unchanged TOAST value, 't' text, 'b' binary.
struct TupleColumn {
  enum class Kind : char {
    kNull = 'n',
    kUnchangedToast = 'u',
    kText = 't',
    kBinary = 'b',
  };
  Kind kind = Kind::kNull;
  std::string_view data;  // empty unless kText / kBinary
};

struct TupleData {
  std::vector<TupleColumn> columns;
};

struct Begin {                // 'B'
  WalPosition final_lsn = 0;  // = Commit.commit_lsn
  PgTimestamp commit_time = 0;
  uint32_t xid = 0;
};

struct Commit {  // 'C'
  uint8_t flags = 0;
  WalPosition commit_lsn = 0;
  WalPosition end_lsn = 0;
  PgTimestamp commit_time = 0;
};

struct Origin {  // 'O'
  WalPosition origin_lsn = 0;
  std::string name;
};

struct RelationColumn {
  uint8_t flags = 0;  // bit 0: part of the replica identity key
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool is_key() const { return (flags & 1) != 0; }
};

struct Relation {               // 'R'
  std::optional<uint32_t> xid;  // present only inside a stream block (v2+)
  uint32_t relation_id = 0;
  std::string nspname;  // "" means pg_catalog
  std::string relname;
  char replica_identity = 'd';  // 'd' default, 'n' nothing, 'f' full, 'i' index
  std::vector<RelationColumn> columns;
};

struct Type {  // 'Y'
  std::optional<uint32_t> xid;
  uint32_t type_oid = 0;
  std::string nspname;  // for a domain: the base type's namespace
  std::string typname;  // for a domain: the base type's name
};

struct Insert {  // 'I'
  std::optional<uint32_t> xid;
  uint32_t relation_id = 0;
  TupleData new_tuple;
};

// Which old tuple an Update / Delete carried: none, 'K' (key columns only; other
// columns are sent as 'n'), or 'O' (the whole old row, REPLICA IDENTITY FULL).
enum class OldTupleKind : char { kNone = 0, kKey = 'K', kFull = 'O' };

struct Update {  // 'U'
  std::optional<uint32_t> xid;
  uint32_t relation_id = 0;
  OldTupleKind old_kind = OldTupleKind::kNone;
  TupleData old_tuple;
  TupleData new_tuple;
};

struct Delete {  // 'D'
  std::optional<uint32_t> xid;
  uint32_t relation_id = 0;
  OldTupleKind old_kind = OldTupleKind::kKey;
  TupleData old_tuple;
};

struct Truncate {  // 'T'
  static constexpr uint8_t kCascade = 1;
  static constexpr uint8_t kRestartIdentity = 2;
  std::optional<uint32_t> xid;
  uint8_t options = 0;
  std::vector<uint32_t> relation_ids;
};

struct LogicalMessage {  // 'M'
  std::optional<uint32_t> xid;
  uint8_t flags = 0;  // bit 0: transactional
  WalPosition lsn = 0;
  std::string_view prefix;
  std::string_view content;
  bool transactional() const { return (flags & 1) != 0; }
};

struct StreamStart {  // 'S'
  uint32_t xid = 0;
  bool first_segment = false;
};

struct StreamStop {};  // 'E'

struct StreamCommit {  // 'c'
  uint32_t xid = 0;
  uint8_t flags = 0;
  WalPosition commit_lsn = 0;
  WalPosition end_lsn = 0;
  PgTimestamp commit_time = 0;
};

struct StreamAbort {  // 'A'
  uint32_t xid = 0;
  uint32_t subxid = 0;  // == xid when the whole transaction aborted
  // Only with protocol v4 and streaming = parallel (PostgreSQL 16+).
  std::optional<WalPosition> abort_lsn;
  std::optional<PgTimestamp> abort_time;
};

struct BeginPrepare {  // 'b'
  WalPosition prepare_lsn = 0;
  WalPosition end_lsn = 0;
  PgTimestamp prepare_time = 0;
  uint32_t xid = 0;
  std::string gid;
};

struct Prepare {  // 'P'
  uint8_t flags = 0;
  WalPosition prepare_lsn = 0;
  WalPosition end_lsn = 0;
  PgTimestamp prepare_time = 0;
  uint32_t xid = 0;
  std::string gid;
};

struct CommitPrepared {  // 'K'
  uint8_t flags = 0;
  WalPosition commit_lsn = 0;
  WalPosition end_lsn = 0;
  PgTimestamp commit_time = 0;
  uint32_t xid = 0;
  std::string gid;
};

struct RollbackPrepared {  // 'r'
  uint8_t flags = 0;
  WalPosition prepare_end_lsn = 0;
  WalPosition rollback_end_lsn = 0;
  PgTimestamp prepare_time = 0;
  PgTimestamp rollback_time = 0;
  uint32_t xid = 0;
  std::string gid;
};

struct StreamPrepare : Prepare {};  // 'p': same layout as Prepare

using PgoutputMessage =
    std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate,
                 LogicalMessage, StreamStart, StreamStop, StreamCommit, StreamAbort, BeginPrepare,
                 Prepare, CommitPrepared, RollbackPrepared, StreamPrepare>;

// Replication-layer CopyData messages (server to client).
struct XLogData {  // 'w'
  WalPosition data_start = 0;
  WalPosition wal_end = 0;
  PgTimestamp send_time = 0;
  std::string_view payload;  // exactly one pgoutput message
};

struct PrimaryKeepalive {  // 'k'
  WalPosition wal_end = 0;
  PgTimestamp send_time = 0;
  bool reply_requested = false;
};

using CopyDataMessage = std::variant<XLogData, PrimaryKeepalive>;

}  // namespace pgcdc::internal

#endif  // PGCDC_PROTOCOL_PGOUTPUT_MESSAGES_H_
