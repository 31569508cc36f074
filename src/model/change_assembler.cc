#include "model/change_assembler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "model/row_builder.h"
#include "protocol/pgoutput_decoder.h"

namespace pgcdc::internal {
namespace {

// PostgreSQL timestamps count microseconds from 2000-01-01; records use the Unix epoch.
constexpr int64_t kPgEpochUnixMicros = 946684800000000;

void AppendHex(uint64_t value, int digits, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out->push_back(kHex[(value >> shift) & 0xF]);
  }
}

// "<commit_lsn>-<ordinal>": the same transaction replayed after a restart has the same
// commit LSN and the same changes in the same order, so the id is stable; commit LSNs
// are unique per transaction, so it is unique. Fixed width keeps ids sortable.
std::string ChangeId(uint64_t position, uint32_t ordinal) {
  std::string id;
  id.reserve(25);
  AppendHex(position, 16, &id);
  id.push_back('-');
  AppendHex(ordinal, 8, &id);
  return id;
}

std::string MessageId(uint64_t lsn) {
  std::string id;
  id.reserve(18);
  AppendHex(lsn, 16, &id);
  id.append("-M");
  return id;
}

}  // namespace

absl::Status ChangeAssembler::Process(const XLogData& frame, std::deque<v1::Change>* ready) {
  PGCDC_ASSIGN_OR_RETURN(PgoutputMessage message,
                         DecodePgoutput(frame.payload, proto_version_, in_stream_));
  return Handle(message, frame, ready);
}

absl::Status ChangeAssembler::Handle(const PgoutputMessage& message, const XLogData& frame,
                                     std::deque<v1::Change>* ready) {
  if (const auto* m = std::get_if<Insert>(&message)) return HandleRow(*m, frame);
  if (const auto* m = std::get_if<Update>(&message)) return HandleRow(*m, frame);
  if (const auto* m = std::get_if<Delete>(&message)) return HandleRow(*m, frame);
  if (const auto* m = std::get_if<Begin>(&message)) return HandleBegin(*m);
  if (const auto* m = std::get_if<Commit>(&message)) return HandleCommit(*m, ready);
  if (const auto* m = std::get_if<Relation>(&message)) {
    relations_.Apply(*m, StreamXid());
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<Type>(&message)) {
    relations_.Apply(*m, StreamXid());
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<Truncate>(&message)) return HandleTruncate(*m, frame);
  if (const auto* m = std::get_if<LogicalMessage>(&message)) {
    return HandleMessage(*m, frame, ready);
  }
  if (std::holds_alternative<Origin>(message)) return absl::OkStatus();
  if (const auto* m = std::get_if<StreamStart>(&message)) return HandleStreamStart(*m);
  if (std::holds_alternative<StreamStop>(message)) {
    if (!in_stream_) return absl::DataLossError("pgoutput Stream Stop outside a stream block");
    in_stream_ = false;
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<StreamCommit>(&message)) return HandleStreamCommit(*m, ready);
  if (const auto* m = std::get_if<StreamAbort>(&message)) return HandleStreamAbort(*m);
  return absl::FailedPreconditionError(
      "received a two-phase message (Begin Prepare/Prepare/Commit Prepared/Rollback "
      "Prepared) although two_phase was not requested");
}

absl::Status ChangeAssembler::HandleBegin(const Begin& begin) {
  if (open_ || in_stream_) {
    return absl::DataLossError("pgoutput Begin inside an unfinished transaction");
  }
  open_.emplace();
  open_->xid = begin.xid;
  open_->commit_lsn = begin.final_lsn;
  open_->commit_time = begin.commit_time;
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleCommit(const Commit& commit,
                                           std::deque<v1::Change>* ready) {
  if (!open_) return absl::DataLossError("pgoutput Commit without Begin");
  if (commit.commit_lsn != open_->commit_lsn) {
    return absl::DataLossError(absl::StrCat("pgoutput Commit LSN ", commit.commit_lsn,
                                            " differs from its Begin's ", open_->commit_lsn));
  }
  Transaction txn = std::move(*open_);
  open_.reset();
  Deliver(std::move(txn), commit.commit_lsn, commit.end_lsn, commit.commit_time, ready);
  return absl::OkStatus();
}

void ChangeAssembler::Deliver(Transaction txn, uint64_t commit_lsn, uint64_t end_lsn,
                              int64_t commit_time, std::deque<v1::Change>* ready) {
  const int64_t commit_time_us = commit_time + kPgEpochUnixMicros;
  const uint32_t n = static_cast<uint32_t>(txn.changes.size());
  for (uint32_t i = 0; i < n; ++i) {
    v1::Change& change = txn.changes[i];
    change.set_id(ChangeId(commit_lsn, i));
    change.set_ordinal(i);
    change.set_commit_lsn(commit_lsn);
    change.set_end_lsn(end_lsn);
    change.set_xid(txn.xid);
    change.set_commit_time_us(commit_time_us);
    change.set_last_in_transaction(i + 1 == n);
  }
  if (ready->empty()) {
    ready->swap(txn.changes);
    return;
  }
  for (v1::Change& change : txn.changes) ready->push_back(std::move(change));
}

absl::StatusOr<ChangeAssembler::Transaction*> ChangeAssembler::Current(std::string_view what) {
  if (in_stream_) {
    // Inside a block the xid prefix is the (sub)transaction's; changes belong to the
    // block's top-level transaction.
    return &streams_[stream_xid_];
  }
  if (!open_) {
    return absl::DataLossError(absl::StrCat("pgoutput ", Sv(what), " outside a transaction"));
  }
  return &*open_;
}

void ChangeAssembler::Append(Transaction* txn, std::optional<uint32_t> subxid,
                             v1::Change change) {
  if (in_stream_) txn->subxids.push_back(subxid.value_or(stream_xid_));
  txn->changes.push_back(std::move(change));
}

template <typename RowMessage>
absl::Status ChangeAssembler::HandleRow(const RowMessage& message, const XLogData& frame) {
  constexpr bool kInsert = std::is_same_v<RowMessage, Insert>;
  constexpr bool kUpdate = std::is_same_v<RowMessage, Update>;
  const char* what = kInsert ? "Insert" : kUpdate ? "Update" : "Delete";
  PGCDC_ASSIGN_OR_RETURN(Transaction * txn, Current(what));
  const RelationInfo* relation = relations_.Find(message.relation_id, StreamXid());
  if (relation == nullptr) {
    return absl::DataLossError(absl::StrCat("pgoutput ", what, " for relation ",
                                            message.relation_id,
                                            " that no Relation message described"));
  }
  v1::Change change;
  change.set_op(kInsert   ? v1::OPERATION_INSERT
                : kUpdate ? v1::OPERATION_UPDATE
                          : v1::OPERATION_DELETE);
  change.set_schema(relation->schema);
  change.set_table(relation->table);
  change.set_relation_oid(relation->oid);
  change.set_lsn(frame.data_start);
  if constexpr (!kInsert) {
    if (message.old_kind != OldTupleKind::kNone) {
      const bool key_only = message.old_kind == OldTupleKind::kKey;
      change.set_old_row_kind(key_only ? v1::OLD_ROW_KIND_KEY : v1::OLD_ROW_KIND_FULL);
      PGCDC_RETURN_IF_ERROR(
          BuildRow(*relation, message.old_tuple, key_only, change.mutable_old_row()));
    }
  }
  if constexpr (!std::is_same_v<RowMessage, Delete>) {
    PGCDC_RETURN_IF_ERROR(
        BuildRow(*relation, message.new_tuple, false, change.mutable_new_row()));
  }
  if constexpr (kUpdate) {
    if (change.old_row_kind() == v1::OLD_ROW_KIND_FULL) {
      FillUnchangedFromOld(change.old_row(), change.mutable_new_row());
    }
  }
  Append(txn, message.xid, std::move(change));
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleTruncate(const Truncate& truncate, const XLogData& frame) {
  PGCDC_ASSIGN_OR_RETURN(Transaction * txn, Current("Truncate"));
  // One record per table: each carries its own schema and table name.
  for (uint32_t relation_id : truncate.relation_ids) {
    const RelationInfo* relation = relations_.Find(relation_id, StreamXid());
    if (relation == nullptr) {
      return absl::DataLossError(absl::StrCat("pgoutput Truncate of relation ", relation_id,
                                              " that no Relation message described"));
    }
    v1::Change change;
    change.set_op(v1::OPERATION_TRUNCATE);
    change.set_schema(relation->schema);
    change.set_table(relation->table);
    change.set_relation_oid(relation->oid);
    change.set_lsn(frame.data_start);
    change.mutable_truncate()->set_cascade((truncate.options & Truncate::kCascade) != 0);
    change.mutable_truncate()->set_restart_identity(
        (truncate.options & Truncate::kRestartIdentity) != 0);
    Append(txn, truncate.xid, std::move(change));
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleMessage(const LogicalMessage& message,
                                            const XLogData& frame,
                                            std::deque<v1::Change>* ready) {
  v1::Change change;
  change.set_op(v1::OPERATION_MESSAGE);
  change.set_lsn(message.lsn);
  v1::LogicalMessage* m = change.mutable_message();
  m->set_prefix(std::string(message.prefix));
  m->set_content(std::string(message.content));
  m->set_transactional(message.transactional());
  if (message.transactional()) {
    PGCDC_ASSIGN_OR_RETURN(Transaction * txn, Current("Message"));
    Append(txn, message.xid, std::move(change));
    return absl::OkStatus();
  }
  // Non-transactional: delivered at its WAL position, outside any transaction. Its LSN
  // is the END of the message's WAL record (DecodeLogicalMsg passes buf->endptr), while
  // a restart skips records that START before the confirmed position. So confirming
  // exactly `lsn` skips this message and keeps a transaction whose commit record
  // starts right after it (commit_lsn == lsn).
  change.set_id(MessageId(message.lsn));
  change.set_commit_lsn(message.lsn);
  change.set_end_lsn(message.lsn);
  change.set_last_in_transaction(true);
  ready->push_back(std::move(change));
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamStart(const StreamStart& start) {
  if (in_stream_ || open_) {
    return absl::DataLossError("pgoutput Stream Start inside another block or transaction");
  }
  in_stream_ = true;
  stream_xid_ = start.xid;
  if (start.first_segment) {
    // A first segment after a reconnect re-sends the transaction from its start:
    // anything buffered from the old session is stale (§4.8).
    streams_.erase(start.xid);
    relations_.AbortStream(start.xid);
  }
  Transaction& txn = streams_[start.xid];
  txn.xid = start.xid;
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamCommit(const StreamCommit& commit,
                                                 std::deque<v1::Change>* ready) {
  if (in_stream_ || open_) {
    return absl::DataLossError("pgoutput Stream Commit inside a stream block or transaction");
  }
  auto it = streams_.find(commit.xid);
  Transaction txn;
  if (it != streams_.end()) {
    txn = std::move(it->second);
    streams_.erase(it);
  }
  txn.xid = commit.xid;
  relations_.CommitStream(commit.xid);
  Deliver(std::move(txn), commit.commit_lsn, commit.end_lsn, commit.commit_time, ready);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamAbort(const StreamAbort& abort) {
  if (in_stream_) return absl::DataLossError("pgoutput Stream Abort inside a stream block");
  auto it = streams_.find(abort.xid);
  if (abort.subxid == abort.xid) {
    if (it != streams_.end()) streams_.erase(it);
    relations_.AbortStream(abort.xid);
    return absl::OkStatus();
  }
  if (it == streams_.end()) return absl::OkStatus();
  // ROLLBACK TO SAVEPOINT: drop from the subtransaction's first change on, which also
  // covers its nested children (what the built-in apply worker does). Relation
  // messages are kept: the server considers them sent.
  Transaction& txn = it->second;
  for (size_t i = 0; i < txn.subxids.size(); ++i) {
    if (txn.subxids[i] == abort.subxid) {
      txn.changes.erase(txn.changes.begin() + static_cast<std::ptrdiff_t>(i), txn.changes.end());
      txn.subxids.resize(i);
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
