// ChangeAssembler, two-phase transactions (protocol v3, two_phase; doc/protocol.md#two-phase):
// Begin Prepare 'b' ... Prepare 'P' (or stream blocks, then Stream Prepare 'p') at
// PREPARE TRANSACTION, later Commit Prepared 'K' or Rollback Prepared 'r' by gid.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "assembly/change_assembler.h"
#include "internal/status_macros.h"

namespace pgcdc::internal {
namespace {

std::shared_ptr<const std::string> SharedGid(const std::string& gid) {
  return std::make_shared<const std::string>(gid);
}

}  // namespace

absl::Status ChangeAssembler::HandleBeginPrepare(const BeginPrepare& begin) {
  if (open_ || streams_.in_block() || prepared_.in_block()) {
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
  prepared_.BeginBlock(begin);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandlePrepare(const Prepare& prepare, bool streamed,
                                            std::deque<Change>* ready) {
  if (at_prepare()) {
    return streamed ? ReplayStreamPrepared(prepare) : DeliverPrepared(prepare, ready);
  }
  PreparedTransaction txn;
  if (streamed) {  // Stream Prepare: the streamed transaction's chunks are complete
    if (streams_.in_block() || open_ || prepared_.in_block()) {
      return absl::DataLossError("pgoutput Stream Prepare inside a block or transaction");
    }
    txn.streamed = true;
    txn.frames = streams_.Take(prepare.xid);
  } else {
    PGCDC_ASSIGN_OR_RETURN(txn, prepared_.EndBlock(prepare.xid));
  }
  txn.xid = prepare.xid;
  txn.prepare_lsn = prepare.prepare_lsn;
  prepared_.Add(prepare.gid, std::move(txn));
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
  if (streams_.in_block() || open_) {
    return absl::DataLossError("pgoutput Stream Prepare inside a block or transaction");
  }
  FrameStore frames = streams_.Take(prepare.xid);
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
  if (open_ || streams_.in_block() || prepared_.in_block()) {
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
  std::optional<PreparedTransaction> txn = prepared_.Commit(commit.gid, commit.end_lsn);
  if (!txn) {
    return absl::DataLossError(absl::StrCat(
        "COMMIT PREPARED of \"", commit.gid,
        "\" arrived but its PREPARE was not received: "
        "the slot was confirmed past the PREPARE by another consumer, by one that delivers "
        "prepared transactions at PREPARE (deliver_prepared), or without two_phase"));
  }
  // A streamed transaction's Relation messages were only stored: apply them for the
  // session once it committed. Otherwise they were applied on arrival already.
  // Delivered as committed: no gid (Change::gid() marks changes not committed yet).
  const bool streamed = txn->streamed;
  StartReplay({txn->xid, commit.commit_lsn, commit.end_lsn, UnixMicros(commit.commit_time),
               /*gid=*/nullptr},
              std::move(txn->frames), streamed, streamed ? Overlay::kCommit : Overlay::kDrop);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleRollbackPrepared(const RollbackPrepared& rollback,
                                                     std::deque<Change>* ready) {
  if (open_ || streams_.in_block() || prepared_.in_block()) {
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
  if (std::optional<uint32_t> streamed_xid = prepared_.Rollback(rollback.gid)) {
    relations_.AbortStream(*streamed_xid);
  }
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
