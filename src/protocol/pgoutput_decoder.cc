#include "protocol/pgoutput_decoder.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "internal/status_macros.h"
#include "protocol/wire_reader.h"

namespace pgcdc::internal {
namespace {

// pgoutput protocol versions this decoder knows: 1 (PG10) .. 4 (PG16). A later
// version may change layouts, so it is refused rather than guessed at.
constexpr int kMaxProtoVersion = 4;

struct MessageInfo {
  std::string_view context;  // error prefix; empty for an unknown type byte
  int min_version = 0;
};

// Version gates follow "Logical Replication Message Formats": streaming messages
// arrived with v2 (PG14), two-phase messages with v3 (PG15). 'M' needs only the
// `messages` option (PG14), not a version.
MessageInfo LookupMessage(char type) {
  switch (type) {
    case 'B':
      return {"pgoutput Begin", 1};
    case 'C':
      return {"pgoutput Commit", 1};
    case 'O':
      return {"pgoutput Origin", 1};
    case 'R':
      return {"pgoutput Relation", 1};
    case 'Y':
      return {"pgoutput Type", 1};
    case 'I':
      return {"pgoutput Insert", 1};
    case 'U':
      return {"pgoutput Update", 1};
    case 'D':
      return {"pgoutput Delete", 1};
    case 'T':
      return {"pgoutput Truncate", 1};
    case 'M':
      return {"pgoutput Message", 1};
    case 'S':
      return {"pgoutput Stream Start", 2};
    case 'E':
      return {"pgoutput Stream Stop", 2};
    case 'c':
      return {"pgoutput Stream Commit", 2};
    case 'A':
      return {"pgoutput Stream Abort", 2};
    case 'b':
      return {"pgoutput Begin Prepare", 3};
    case 'P':
      return {"pgoutput Prepare", 3};
    case 'K':
      return {"pgoutput Commit Prepared", 3};
    case 'r':
      return {"pgoutput Rollback Prepared", 3};
    case 'p':
      return {"pgoutput Stream Prepare", 3};
    default:
      return {};
  }
}

// "'N' (0x4E)" for printable bytes, "0x01" otherwise: type bytes are plain ASCII
// letters, so anything else is best shown raw.
std::string DescribeByte(uint8_t b) {
  if (b >= 0x20 && b < 0x7F) return absl::StrFormat("'%c' (0x%02X)", b, b);
  return absl::StrFormat("0x%02X", b);
}

// Inside a Stream Start..Stream Stop block pgoutput prefixes R/Y/I/U/D/T/M with the
// (sub)transaction xid; nothing in the bytes says so, hence the caller's flag.
std::optional<uint32_t> ReadStreamXid(WireReader& r, bool in_stream) {
  if (!in_stream) return std::nullopt;
  return r.ReadU32();
}

// A tag byte steers parsing, so a failed read must be reported as the truncation it
// is, not as a bad tag 0x00.
absl::Status ExpectTag(const WireReader& r, size_t at, uint8_t tag, char want,
                       std::string_view what) {
  if (!r.ok()) return r.status();
  if (tag == static_cast<uint8_t>(want)) return absl::OkStatus();
  return r.MalformedAt(
      at, absl::StrFormat("expected %s marker '%c', got %s", what, want, DescribeByte(tag)));
}

absl::Status DecodeColumn(WireReader& r, int index, TupleColumn& col) {
  const size_t at = r.offset();
  const uint8_t kind = r.ReadU8();
  switch (kind) {
    case 'n':
    case 'u':
      col.kind = static_cast<TupleColumn::Kind>(kind);
      return absl::OkStatus();
    case 't':
    case 'b': {
      col.kind = static_cast<TupleColumn::Kind>(kind);
      const size_t len_at = r.offset();
      const int32_t len = r.ReadI32();
      // The server writes -1 only as the 'n' kind; a negative length here is garbage.
      if (len < 0) {
        return r.MalformedAt(len_at,
                             absl::StrFormat("column %d has negative length %d", index + 1, len));
      }
      col.data = r.ReadBytes(static_cast<size_t>(len));
      return absl::OkStatus();
    }
    default:
      if (!r.ok()) return r.status();
      return r.MalformedAt(at, absl::StrFormat("column %d has invalid TupleData kind %s "
                                               "(want 'n', 'u', 't' or 'b')",
                                               index + 1, DescribeByte(kind)));
  }
}

// The column count is taken as sent: matching it against the Relation is the
// relation cache's job, not the wire decoder's.
absl::Status DecodeTupleData(WireReader& r, TupleData& tuple) {
  const uint16_t ncols = r.ReadU16();
  // Every column takes at least its kind byte, so a bogus count cannot make us
  // reserve more than the payload could describe.
  tuple.columns.reserve(std::min<size_t>(ncols, r.remaining()));
  for (int i = 0; i < ncols && r.ok(); ++i) {
    PGCDC_RETURN_IF_ERROR(DecodeColumn(r, i, tuple.columns.emplace_back()));
  }
  return r.status();
}

absl::StatusOr<Begin> DecodeBegin(WireReader& r) {
  Begin m;
  m.final_lsn = r.ReadU64();
  m.commit_time = r.ReadI64();
  m.xid = r.ReadU32();
  return m;
}

// `flags` is kept, not checked: it is 0 in every version so far, and the caller can
// still see it should a later server set a bit.
absl::StatusOr<Commit> DecodeCommit(WireReader& r) {
  Commit m;
  m.flags = r.ReadU8();
  m.commit_lsn = r.ReadU64();
  m.end_lsn = r.ReadU64();
  m.commit_time = r.ReadI64();
  return m;
}

absl::StatusOr<Origin> DecodeOrigin(WireReader& r) {
  Origin m;
  m.origin_lsn = r.ReadU64();
  m.name = r.ReadCString();
  return m;
}

bool IsReplicaIdentity(char c) { return c == 'd' || c == 'n' || c == 'f' || c == 'i'; }

void DecodeRelationColumn(WireReader& r, RelationColumn& col) {
  col.flags = r.ReadU8();
  col.name = r.ReadCString();
  col.type_oid = r.ReadU32();
  col.type_modifier = r.ReadI32();
}

absl::StatusOr<Relation> DecodeRelation(WireReader& r, bool in_stream) {
  Relation m;
  m.xid = ReadStreamXid(r, in_stream);
  m.relation_id = r.ReadU32();
  m.nspname = r.ReadCString();
  m.relname = r.ReadCString();
  const size_t ident_at = r.offset();
  m.replica_identity = static_cast<char>(r.ReadU8());
  const uint16_t ncols = r.ReadU16();
  if (!r.ok()) return r.status();
  // pg_class.relreplident has exactly these four values; anything else means we are
  // misreading the layout, and downstream code switches on it.
  if (!IsReplicaIdentity(m.replica_identity)) {
    return r.MalformedAt(ident_at, "invalid replica identity " +
                                       DescribeByte(static_cast<uint8_t>(m.replica_identity)));
  }
  // A column takes at least 10 bytes: flags, the name's NUL, type OID, typmod.
  m.columns.reserve(std::min<size_t>(ncols, r.remaining() / 10));
  for (int i = 0; i < ncols && r.ok(); ++i) DecodeRelationColumn(r, m.columns.emplace_back());
  return m;
}

absl::StatusOr<Type> DecodeType(WireReader& r, bool in_stream) {
  Type m;
  m.xid = ReadStreamXid(r, in_stream);
  m.type_oid = r.ReadU32();
  m.nspname = r.ReadCString();
  m.typname = r.ReadCString();
  return m;
}

absl::StatusOr<Insert> DecodeInsert(WireReader& r, bool in_stream) {
  Insert m;
  m.xid = ReadStreamXid(r, in_stream);
  m.relation_id = r.ReadU32();
  const size_t at = r.offset();
  const uint8_t tag = r.ReadU8();
  PGCDC_RETURN_IF_ERROR(ExpectTag(r, at, tag, 'N', "new tuple"));
  PGCDC_RETURN_IF_ERROR(DecodeTupleData(r, m.new_tuple));
  return m;
}

// The old tuple is optional ('K' key columns, or 'O' the whole row under REPLICA
// IDENTITY FULL) and never both; the new tuple 'N' is always last.
absl::StatusOr<Update> DecodeUpdate(WireReader& r, bool in_stream) {
  Update m;
  m.xid = ReadStreamXid(r, in_stream);
  m.relation_id = r.ReadU32();
  size_t at = r.offset();
  uint8_t tag = r.ReadU8();
  if (tag == 'K' || tag == 'O') {
    m.old_kind = static_cast<OldTupleKind>(tag);
    PGCDC_RETURN_IF_ERROR(DecodeTupleData(r, m.old_tuple));
    at = r.offset();
    tag = r.ReadU8();
  }
  PGCDC_RETURN_IF_ERROR(ExpectTag(r, at, tag, 'N', "new tuple"));
  PGCDC_RETURN_IF_ERROR(DecodeTupleData(r, m.new_tuple));
  return m;
}

// A Delete always identifies the row: 'K' (replica identity key) or 'O' (FULL).
absl::StatusOr<Delete> DecodeDelete(WireReader& r, bool in_stream) {
  Delete m;
  m.xid = ReadStreamXid(r, in_stream);
  m.relation_id = r.ReadU32();
  const size_t at = r.offset();
  const uint8_t tag = r.ReadU8();
  if (!r.ok()) return r.status();
  if (tag != 'K' && tag != 'O') {
    return r.MalformedAt(at, "expected old tuple marker 'K' or 'O', got " + DescribeByte(tag));
  }
  m.old_kind = static_cast<OldTupleKind>(tag);
  PGCDC_RETURN_IF_ERROR(DecodeTupleData(r, m.old_tuple));
  return m;
}

absl::StatusOr<Truncate> DecodeTruncate(WireReader& r, bool in_stream) {
  Truncate m;
  m.xid = ReadStreamXid(r, in_stream);
  const uint32_t nrels = r.ReadU32();
  m.options = r.ReadU8();
  // Bound the reservation by what the payload can hold (4 bytes per OID).
  m.relation_ids.reserve(std::min<size_t>(nrels, r.remaining() / 4));
  for (uint32_t i = 0; i < nrels && r.ok(); ++i) m.relation_ids.push_back(r.ReadU32());
  return m;
}

absl::StatusOr<LogicalMessage> DecodeMessage(WireReader& r, bool in_stream) {
  LogicalMessage m;
  m.xid = ReadStreamXid(r, in_stream);
  m.flags = r.ReadU8();
  m.lsn = r.ReadU64();
  m.prefix = r.ReadCString();
  const uint32_t len = r.ReadU32();
  m.content = r.ReadBytes(len);
  return m;
}

absl::StatusOr<StreamStart> DecodeStreamStart(WireReader& r) {
  StreamStart m;
  m.xid = r.ReadU32();
  m.first_segment = r.ReadU8() != 0;
  return m;
}

absl::StatusOr<StreamCommit> DecodeStreamCommit(WireReader& r) {
  StreamCommit m;
  m.xid = r.ReadU32();
  m.flags = r.ReadU8();
  m.commit_lsn = r.ReadU64();
  m.end_lsn = r.ReadU64();
  m.commit_time = r.ReadI64();
  return m;
}

// PG16 appends abort_lsn and abort_time only under `streaming = parallel`, which
// needs v4; a v4 stream with `streaming = on` still sends the short form. Before v4
// the extra 16 bytes are left over and rejected as trailing.
absl::StatusOr<StreamAbort> DecodeStreamAbort(WireReader& r, int proto_version) {
  StreamAbort m;
  m.xid = r.ReadU32();
  m.subxid = r.ReadU32();
  if (proto_version >= 4 && r.ok() && r.remaining() > 0) {
    m.abort_lsn = r.ReadU64();
    m.abort_time = r.ReadI64();
  }
  return m;
}

absl::StatusOr<BeginPrepare> DecodeBeginPrepare(WireReader& r) {
  BeginPrepare m;
  m.prepare_lsn = r.ReadU64();
  m.end_lsn = r.ReadU64();
  m.prepare_time = r.ReadI64();
  m.xid = r.ReadU32();
  m.gid = r.ReadCString();
  return m;
}

// Prepare 'P' and Stream Prepare 'p' share one layout.
template <typename T>
absl::StatusOr<T> DecodePrepare(WireReader& r) {
  T m;
  m.flags = r.ReadU8();
  m.prepare_lsn = r.ReadU64();
  m.end_lsn = r.ReadU64();
  m.prepare_time = r.ReadI64();
  m.xid = r.ReadU32();
  m.gid = r.ReadCString();
  return m;
}

absl::StatusOr<CommitPrepared> DecodeCommitPrepared(WireReader& r) {
  CommitPrepared m;
  m.flags = r.ReadU8();
  m.commit_lsn = r.ReadU64();
  m.end_lsn = r.ReadU64();
  m.commit_time = r.ReadI64();
  m.xid = r.ReadU32();
  m.gid = r.ReadCString();
  return m;
}

absl::StatusOr<RollbackPrepared> DecodeRollbackPrepared(WireReader& r) {
  RollbackPrepared m;
  m.flags = r.ReadU8();
  m.prepare_end_lsn = r.ReadU64();
  m.rollback_end_lsn = r.ReadU64();
  m.prepare_time = r.ReadI64();
  m.rollback_time = r.ReadI64();
  m.xid = r.ReadU32();
  m.gid = r.ReadCString();
  return m;
}

// Layouts are exact: a message is only good if every read fit and nothing is left.
template <typename T, typename Out>
absl::StatusOr<Out> Finish(const WireReader& r, absl::StatusOr<T> decoded) {
  if (!decoded.ok()) return std::move(decoded).status();
  PGCDC_RETURN_IF_ERROR(r.Finish());
  return Out(*std::move(decoded));
}

absl::StatusOr<PgoutputMessage> DecodeBody(WireReader& r, char type, int proto_version,
                                           bool in_stream) {
  using M = PgoutputMessage;
  switch (type) {
    case 'B':
      return Finish<Begin, M>(r, DecodeBegin(r));
    case 'C':
      return Finish<Commit, M>(r, DecodeCommit(r));
    case 'O':
      return Finish<Origin, M>(r, DecodeOrigin(r));
    case 'R':
      return Finish<Relation, M>(r, DecodeRelation(r, in_stream));
    case 'Y':
      return Finish<Type, M>(r, DecodeType(r, in_stream));
    case 'I':
      return Finish<Insert, M>(r, DecodeInsert(r, in_stream));
    case 'U':
      return Finish<Update, M>(r, DecodeUpdate(r, in_stream));
    case 'D':
      return Finish<Delete, M>(r, DecodeDelete(r, in_stream));
    case 'T':
      return Finish<Truncate, M>(r, DecodeTruncate(r, in_stream));
    case 'M':
      return Finish<LogicalMessage, M>(r, DecodeMessage(r, in_stream));
    case 'S':
      return Finish<StreamStart, M>(r, DecodeStreamStart(r));
    case 'E':
      return Finish<StreamStop, M>(r, StreamStop{});
    case 'c':
      return Finish<StreamCommit, M>(r, DecodeStreamCommit(r));
    case 'A':
      return Finish<StreamAbort, M>(r, DecodeStreamAbort(r, proto_version));
    case 'b':
      return Finish<BeginPrepare, M>(r, DecodeBeginPrepare(r));
    case 'P':
      return Finish<Prepare, M>(r, DecodePrepare<Prepare>(r));
    case 'K':
      return Finish<CommitPrepared, M>(r, DecodeCommitPrepared(r));
    case 'r':
      return Finish<RollbackPrepared, M>(r, DecodeRollbackPrepared(r));
    case 'p':
      return Finish<StreamPrepare, M>(r, DecodePrepare<StreamPrepare>(r));
  }
  return absl::InternalError(absl::StrFormat("%s: no decoder", r.context()));
}

absl::StatusOr<XLogData> DecodeXLogData(std::string_view data) {
  WireReader r(data, "replication CopyData XLogData");
  r.ReadU8();  // 'w'
  XLogData m;
  m.data_start = r.ReadU64();
  m.wal_end = r.ReadU64();
  m.send_time = r.ReadI64();
  if (!r.ok()) return r.status();
  // The rest of the frame is exactly one pgoutput message: the walsender never
  // splits a message across frames nor packs two into one.
  m.payload = r.ReadBytes(r.remaining());
  return m;
}

absl::StatusOr<PrimaryKeepalive> DecodeKeepalive(std::string_view data) {
  WireReader r(data, "replication CopyData Keepalive");
  r.ReadU8();  // 'k'
  PrimaryKeepalive m;
  m.wal_end = r.ReadU64();
  m.send_time = r.ReadI64();
  m.reply_requested = r.ReadU8() != 0;
  PGCDC_RETURN_IF_ERROR(r.Finish());
  return m;
}

char* PutU64(char* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) *out++ = static_cast<char>(v >> shift);
  return out;
}

}  // namespace

absl::StatusOr<PgoutputMessage> DecodePgoutput(std::string_view payload, int proto_version,
                                               bool in_stream) {
  if (proto_version < 1 || proto_version > kMaxProtoVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "pgoutput: unsupported proto_version %d (want 1..%d)", proto_version, kMaxProtoVersion));
  }
  if (payload.empty()) return absl::DataLossError("pgoutput: empty message");
  const char type = payload.front();
  const MessageInfo info = LookupMessage(type);
  if (info.context.empty()) {
    return absl::DataLossError(absl::StrFormat("pgoutput: unknown message type %s at byte 0",
                                               DescribeByte(static_cast<uint8_t>(type))));
  }
  if (proto_version < info.min_version) {
    return absl::DataLossError(
        absl::StrFormat("%s: not valid with proto_version %d (needs %d or later)", info.context,
                        proto_version, info.min_version));
  }
  // Stream blocks exist only from v2 on, so this is the caller's bookkeeping error.
  if (in_stream && proto_version < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: in_stream needs proto_version 2 or later (got %d)", info.context, proto_version));
  }
  WireReader r(payload, info.context);
  r.ReadU8();  // the type byte; offsets in errors count it
  return DecodeBody(r, type, proto_version, in_stream);
}

absl::StatusOr<CopyDataMessage> DecodeCopyData(std::string_view data) {
  if (data.empty()) return absl::DataLossError("replication CopyData: empty message");
  switch (data.front()) {
    case 'w': {
      PGCDC_ASSIGN_OR_RETURN(XLogData m, DecodeXLogData(data));
      return m;
    }
    case 'k': {
      PGCDC_ASSIGN_OR_RETURN(PrimaryKeepalive m, DecodeKeepalive(data));
      return m;
    }
  }
  return absl::DataLossError(
      absl::StrFormat("replication CopyData: unknown message type %s at byte 0",
                      DescribeByte(static_cast<uint8_t>(data.front()))));
}

std::array<char, 34> EncodeStandbyStatusUpdate(WalPosition written, WalPosition flushed,
                                               WalPosition applied, PgTimestamp client_time,
                                               bool reply_requested) {
  std::array<char, 34> out{};
  char* p = out.data();
  *p++ = 'r';
  p = PutU64(p, written);
  p = PutU64(p, flushed);
  p = PutU64(p, applied);
  p = PutU64(p, static_cast<uint64_t>(client_time));
  *p = reply_requested ? 1 : 0;
  return out;
}

}  // namespace pgcdc::internal
