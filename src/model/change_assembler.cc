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

std::unique_ptr<ChangeData> NewChange(Operation op, uint64_t lsn) {
  auto data = std::make_unique<ChangeData>();
  data->op = op;
  data->lsn = lsn;
  return data;
}

}  // namespace

absl::Status ChangeAssembler::Process(const XLogData& frame, std::deque<Change>* ready) {
  PGCDC_ASSIGN_OR_RETURN(PgoutputMessage message,
                         DecodePgoutput(frame.payload, proto_version_, in_stream_));
  return Handle(message, frame, ready);
}

absl::Status ChangeAssembler::Handle(const PgoutputMessage& message, const XLogData& frame,
                                     std::deque<Change>* ready) {
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
                                           std::deque<Change>* ready) {
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
                              int64_t commit_time, std::deque<Change>* ready) {
  const int64_t commit_time_us = commit_time + kPgEpochUnixMicros;
  const uint32_t n = static_cast<uint32_t>(txn.changes.size());
  for (uint32_t i = 0; i < n; ++i) {
    ChangeData& change = ChangeData::Mutable(txn.changes[i]);
    change.ordinal = i;
    change.commit_lsn = commit_lsn;
    change.end_lsn = end_lsn;
    change.xid = txn.xid;
    change.commit_time_us = commit_time_us;
    change.last_in_transaction = i + 1 == n;
  }
  if (ready->empty()) {
    ready->swap(txn.changes);
    return;
  }
  for (Change& change : txn.changes) ready->push_back(std::move(change));
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
                             std::unique_ptr<ChangeData> change) {
  if (in_stream_) txn->subxids.push_back(subxid.value_or(stream_xid_));
  txn->changes.push_back(ChangeData::Wrap(std::move(change)));
}

template <typename RowMessage>
absl::Status ChangeAssembler::HandleRow(const RowMessage& message, const XLogData& frame) {
  constexpr bool kInsert = std::is_same_v<RowMessage, Insert>;
  constexpr bool kUpdate = std::is_same_v<RowMessage, Update>;
  const char* what = kInsert ? "Insert" : kUpdate ? "Update" : "Delete";
  PGCDC_ASSIGN_OR_RETURN(Transaction * txn, Current(what));
  const std::shared_ptr<const RelationInfo>* relation =
      relations_.Find(message.relation_id, StreamXid());
  if (relation == nullptr) {
    return absl::DataLossError(absl::StrCat("pgoutput ", what, " for relation ",
                                            message.relation_id,
                                            " that no Relation message described"));
  }
  const RelationInfo& info = **relation;
  auto change = NewChange(kInsert   ? Operation::kInsert
                          : kUpdate ? Operation::kUpdate
                                    : Operation::kDelete,
                          frame.data_start);
  change->relation = *relation;
  change->relation_oid = info.oid;
  change->values.reserve(info.columns.size() * (kUpdate ? 2 : 1));
  // Decoded values are never longer than their text in the message: one allocation.
  change->bytes.reserve(frame.payload.size());
  [[maybe_unused]] RowSlots old_row;
  if constexpr (!kInsert) {
    if (message.old_kind != OldTupleKind::kNone) {
      const bool key_only = message.old_kind == OldTupleKind::kKey;
      change->old_row_kind = key_only ? OldRowKind::kKey : OldRowKind::kFull;
      PGCDC_ASSIGN_OR_RETURN(old_row,
                             BuildRow(info, message.old_tuple, key_only, change.get()));
      change->old_first = old_row.first;
      change->old_size = old_row.size;
    }
  }
  if constexpr (!std::is_same_v<RowMessage, Delete>) {
    PGCDC_ASSIGN_OR_RETURN(RowSlots new_row,
                           BuildRow(info, message.new_tuple, false, change.get()));
    change->new_first = new_row.first;
    change->new_size = new_row.size;
    if constexpr (kUpdate) {
      if (change->old_row_kind == OldRowKind::kFull) {
        FillUnchangedFromOld(old_row, new_row, change.get());
      }
    }
  }
  Append(txn, message.xid, std::move(change));
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleTruncate(const Truncate& truncate, const XLogData& frame) {
  PGCDC_ASSIGN_OR_RETURN(Transaction * txn, Current("Truncate"));
  // One record per table: each carries its own schema and table name.
  for (uint32_t relation_id : truncate.relation_ids) {
    const std::shared_ptr<const RelationInfo>* relation =
        relations_.Find(relation_id, StreamXid());
    if (relation == nullptr) {
      return absl::DataLossError(absl::StrCat("pgoutput Truncate of relation ", relation_id,
                                              " that no Relation message described"));
    }
    auto change = NewChange(Operation::kTruncate, frame.data_start);
    change->relation = *relation;
    change->relation_oid = (*relation)->oid;
    change->truncate_cascade = (truncate.options & Truncate::kCascade) != 0;
    change->truncate_restart_identity = (truncate.options & Truncate::kRestartIdentity) != 0;
    Append(txn, truncate.xid, std::move(change));
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleMessage(const LogicalMessage& message,
                                            const XLogData& frame,
                                            std::deque<Change>* ready) {
  auto change = NewChange(Operation::kMessage, message.lsn);
  change->message_transactional = message.transactional();
  change->message_prefix_size = static_cast<uint32_t>(message.prefix.size());
  change->bytes.reserve(message.prefix.size() + message.content.size());
  change->bytes.append(message.prefix.data(), message.prefix.size());
  change->bytes.append(message.content.data(), message.content.size());
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
  change->commit_lsn = message.lsn;
  change->end_lsn = message.lsn;
  change->last_in_transaction = true;
  ready->push_back(ChangeData::Wrap(std::move(change)));
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
                                                 std::deque<Change>* ready) {
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
