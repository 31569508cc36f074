// ChangeAssembler, two-phase transactions (protocol v3, two_phase; doc/protocol.md#two-phase):
// Begin Prepare 'b' ... Prepare 'P' (or stream blocks, then Stream Prepare 'p') at
// PREPARE TRANSACTION, later Commit Prepared 'K' or Rollback Prepared 'r' by gid.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/change_assembler.h"

namespace pgcdc::internal {
namespace {

std::shared_ptr<const std::string> SharedGid(const std::string& gid) {
  return std::make_shared<const std::string>(gid);
}

}  // namespace

absl::Status ChangeAssembler::HandleBeginPrepare(const BeginPrepare& begin) {
  if (open_ || in_stream_ || prepare_block_) {
    return absl::DataLossError("pgoutput Begin Prepare inside an unfinished transaction");
  }
  if (at_prepare()) {
    // An ordinary transaction whose PREPARE record stands in for the commit record:
    // its changes go out at Prepare (or as they arrive, past max_buffered_bytes).
    open_.emplace();
    open_->position = {begin.xid, begin.prepare_lsn, 0, UnixMicros(begin.prepare_time),
                       SharedGid(begin.gid)};
    return absl::OkStatus();
  }
  prepare_block_ = std::make_unique<Prepared>();
  prepare_block_->xid = begin.xid;
  prepare_block_->prepare_lsn = begin.prepare_lsn;
  prepare_block_gid_ = begin.gid;
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandlePrepare(const Prepare& prepare, bool streamed,
                                            std::deque<Change>* ready) {
  if (at_prepare()) {
    return streamed ? ReplayStreamPrepared(prepare) : DeliverPrepared(prepare, ready);
  }
  Prepared txn;
  if (streamed) {  // Stream Prepare: the streamed transaction's chunks are complete
    if (in_stream_ || open_ || prepare_block_) {
      return absl::DataLossError("pgoutput Stream Prepare inside a block or transaction");
    }
    txn.streamed = true;
    txn.frames = TakeStream(prepare.xid);
  } else {
    if (!prepare_block_ || prepare_block_->xid != prepare.xid) {
      return absl::DataLossError("pgoutput Prepare without its Begin Prepare");
    }
    txn = std::move(*prepare_block_);
    prepare_block_.reset();
  }
  txn.xid = prepare.xid;
  txn.prepare_lsn = prepare.prepare_lsn;
  // A gid prepared again (after a restart re-sent it) replaces the stale copy.
  if (auto it = prepared_.find(prepare.gid); it != prepared_.end()) Release(it->second.frames);
  prepared_.insert_or_assign(prepare.gid, std::move(txn));
  return LimitMemory();
}

absl::Status ChangeAssembler::DeliverPrepared(const Prepare& prepare, std::deque<Change>* ready) {
  if (!open_ || !open_->position.gid || open_->position.xid != prepare.xid ||
      open_->position.commit_lsn != prepare.prepare_lsn) {
    return absl::DataLossError("pgoutput Prepare without its Begin Prepare");
  }
  Transaction txn = std::move(*open_);
  open_.reset();
  // Acknowledging the last change confirms the PREPARE's end: the server then skips the
  // prepared changes on a restart and sends only COMMIT/ROLLBACK PREPARED
  // (doc/protocol.md#acknowledging).
  txn.position.end_lsn = prepare.end_lsn;
  Deliver(std::move(txn), ready);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::ReplayStreamPrepared(const Prepare& prepare) {
  if (in_stream_ || open_) {
    return absl::DataLossError("pgoutput Stream Prepare inside a block or transaction");
  }
  FrameStore frames = TakeStream(prepare.xid);
  // The schema the transaction described stays its own until its outcome: the server
  // keeps it as sent for that xid only (pgoutput merges it at a commit).
  StartReplay({prepare.xid, prepare.prepare_lsn, prepare.end_lsn, UnixMicros(prepare.prepare_time),
               SharedGid(prepare.gid)},
              std::move(frames), /*streamed=*/true, Overlay::kKeep);
  return absl::OkStatus();
}

void ChangeAssembler::DeliverOutcome(Operation op, const CommitPosition& position,
                                     std::deque<Change>* ready) {
  auto data = std::make_unique<ChangeData>();
  data->op = op;
  data->lsn = position.commit_lsn;
  Transaction txn;
  txn.position = position;
  txn.changes.push_back(ChangeData::Wrap(std::move(data)));
  Deliver(std::move(txn), ready);  // one record, last of its "transaction": acks end_lsn
}

absl::Status ChangeAssembler::HandleCommitPrepared(const CommitPrepared& commit,
                                                   std::deque<Change>* ready) {
  if (open_ || in_stream_ || prepare_block_) {
    return absl::DataLossError("pgoutput Commit Prepared inside an unfinished transaction");
  }
  if (at_prepare()) {
    // Also when the PREPARE was delivered in an earlier session: the server sends 'K'
    // alone once the slot is past it.
    relations_.CommitStream(commit.xid);
    DeliverOutcome(Operation::kCommitPrepared,
                   {commit.xid, commit.commit_lsn, commit.end_lsn, UnixMicros(commit.commit_time),
                    SharedGid(commit.gid)},
                   ready);
    return absl::OkStatus();
  }
  auto it = prepared_.find(commit.gid);
  if (it == prepared_.end()) {
    return absl::DataLossError(absl::StrCat(
        "COMMIT PREPARED of \"", commit.gid,
        "\" arrived but its PREPARE was not received: "
        "the slot was confirmed past the PREPARE by another consumer, by one that delivers "
        "prepared transactions at PREPARE (deliver_prepared), or without two_phase"));
  }
  // A streamed transaction's Relation messages were only stored: apply them for the
  // session once it committed. Otherwise they were applied on arrival already.
  const bool streamed = it->second.streamed;
  committed_holds_.emplace_back(commit.end_lsn, it->second.prepare_lsn);
  // Delivered as committed: no gid (Change::gid() marks changes not committed yet).
  StartReplay({it->second.xid, commit.commit_lsn, commit.end_lsn, UnixMicros(commit.commit_time),
               /*gid=*/nullptr},
              std::move(it->second.frames), streamed, streamed ? Overlay::kCommit : Overlay::kDrop);
  prepared_.erase(it);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleRollbackPrepared(const RollbackPrepared& rollback,
                                                     std::deque<Change>* ready) {
  if (open_ || in_stream_ || prepare_block_) {
    return absl::DataLossError("pgoutput Rollback Prepared inside an unfinished transaction");
  }
  if (at_prepare()) {
    // The server sends only the rollback record's end: it identifies the record and is what
    // confirms it (doc/protocol.md#acknowledging). Also sent for a gid never seen here
    // (prepared before the slot was consistent or before two_phase was enabled): delivered
    // all the same.
    relations_.AbortStream(rollback.xid);
    DeliverOutcome(Operation::kRollbackPrepared,
                   {rollback.xid, rollback.rollback_end_lsn, rollback.rollback_end_lsn,
                    UnixMicros(rollback.rollback_time), SharedGid(rollback.gid)},
                   ready);
    return absl::OkStatus();
  }
  if (auto it = prepared_.find(rollback.gid); it != prepared_.end()) {
    Release(it->second.frames);
    if (it->second.streamed) relations_.AbortStream(it->second.xid);
    prepared_.erase(it);
  }
  return absl::OkStatus();
}

std::optional<uint64_t> ChangeAssembler::hold_lsn() const {
  // Only transactions kept until their outcome (kAtCommit): one delivered at PREPARE
  // may be confirmed past, like a committed one.
  std::optional<uint64_t> hold;
  for (const auto& [gid, txn] : prepared_) {
    if (!hold || txn.prepare_lsn < *hold) hold = txn.prepare_lsn;
  }
  if (prepare_block_ && (!hold || prepare_block_->prepare_lsn < *hold)) {
    hold = prepare_block_->prepare_lsn;
  }
  for (const auto& [end_lsn, prepare_lsn] : committed_holds_) {
    if (!hold || prepare_lsn < *hold) hold = prepare_lsn;
  }
  return hold;
}

void ChangeAssembler::ReleaseHolds(uint64_t acked) {
  committed_holds_.erase(std::remove_if(committed_holds_.begin(), committed_holds_.end(),
                                        [acked](const auto& hold) { return hold.first <= acked; }),
                         committed_holds_.end());
}

}  // namespace pgcdc::internal
