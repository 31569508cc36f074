#include "assembly/prepared_transactions.h"

#include <algorithm>

namespace pgcdc::internal {

void PreparedTransactions::BeginBlock(const BeginPrepare& begin) {
  block_ = std::make_unique<PreparedTransaction>();
  block_->xid = begin.xid;
  block_->prepare_lsn = begin.prepare_lsn;
}

absl::Status PreparedTransactions::Append(const XLogData& frame) {
  FrameStore& store = block_->frames;
  const uint32_t xid = block_->xid;
  return accounting_.Account(store,
                             [&] { return store.Append(frame.data_start, xid, frame.payload); });
}

absl::StatusOr<PreparedTransaction> PreparedTransactions::EndBlock(uint32_t xid) {
  if (!block_ || block_->xid != xid) {
    return absl::DataLossError("pgoutput Prepare without its Begin Prepare");
  }
  PreparedTransaction txn = std::move(*block_);
  block_.reset();
  return txn;
}

void PreparedTransactions::Add(const std::string& gid, PreparedTransaction txn) {
  if (auto it = prepared_.find(gid); it != prepared_.end()) accounting_.Release(it->second.frames);
  prepared_.insert_or_assign(gid, std::move(txn));
}

std::optional<PreparedTransaction> PreparedTransactions::Commit(const std::string& gid,
                                                                uint64_t commit_end_lsn) {
  auto it = prepared_.find(gid);
  if (it == prepared_.end()) return std::nullopt;
  committed_holds_.emplace_back(commit_end_lsn, it->second.prepare_lsn);
  PreparedTransaction txn = std::move(it->second);
  prepared_.erase(it);
  return txn;
}

std::optional<uint32_t> PreparedTransactions::Rollback(const std::string& gid) {
  auto it = prepared_.find(gid);
  if (it == prepared_.end()) return std::nullopt;
  accounting_.Release(it->second.frames);
  std::optional<uint32_t> streamed_xid;
  if (it->second.streamed) streamed_xid = it->second.xid;
  prepared_.erase(it);
  return streamed_xid;
}

std::optional<uint64_t> PreparedTransactions::hold_lsn() const {
  std::optional<uint64_t> hold;
  for (const auto& [gid, txn] : prepared_) {
    if (!hold || txn.prepare_lsn < *hold) hold = txn.prepare_lsn;
  }
  if (block_ && (!hold || block_->prepare_lsn < *hold)) hold = block_->prepare_lsn;
  for (const auto& [end_lsn, prepare_lsn] : committed_holds_) {
    if (!hold || prepare_lsn < *hold) hold = prepare_lsn;
  }
  return hold;
}

void PreparedTransactions::ReleaseHolds(uint64_t acked) {
  committed_holds_.erase(std::remove_if(committed_holds_.begin(), committed_holds_.end(),
                                        [acked](const auto& hold) { return hold.first <= acked; }),
                         committed_holds_.end());
}

}  // namespace pgcdc::internal
