// Two-phase transactions kept until their outcome (PreparedDelivery::kAtCommit;
// protocol v3, doc/protocol.md#two-phase): the block between Begin Prepare and Prepare,
// the prepared transactions by gid as raw messages (FrameStore), and the positions at
// which they hold the slot. (Delivered at PREPARE instead, a prepared transaction is an
// ordinary one to ChangeAssembler and never comes here.)
#ifndef PGCDC_ASSEMBLY_PREPARED_TRANSACTIONS_H_
#define PGCDC_ASSEMBLY_PREPARED_TRANSACTIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "assembly/frame_accounting.h"
#include "assembly/frame_store.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

struct PreparedTransaction {
  uint32_t xid = 0;
  uint64_t prepare_lsn = 0;
  bool streamed = false;  // its Relation messages were not applied on arrival
  FrameStore frames;
};

class PreparedTransactions {
 public:
  explicit PreparedTransactions(FrameAccounting& accounting) : accounting_(accounting) {}

  // Between Begin Prepare and Prepare.
  bool in_block() const { return block_ != nullptr; }
  void BeginBlock(const BeginPrepare& begin);
  // Keeps a message of the block.
  absl::Status Append(const XLogData& frame);
  // Prepare ends the block of transaction `xid`.
  absl::StatusOr<PreparedTransaction> EndBlock(uint32_t xid);

  // The transaction is prepared: it waits for its outcome. A gid prepared again (a new
  // session re-sent it) replaces the stale copy.
  void Add(const std::string& gid, PreparedTransaction txn);
  // COMMIT PREPARED: the transaction to deliver (its frames still counted until
  // released), or nullopt if its PREPARE never arrived. It keeps holding the slot at
  // its PREPARE until the application acknowledged `commit_end_lsn` (ReleaseHolds).
  std::optional<PreparedTransaction> Commit(const std::string& gid, uint64_t commit_end_lsn);
  // ROLLBACK PREPARED: dropped. Returns its xid if it was streamed (its schema overlay
  // must go too).
  std::optional<uint32_t> Rollback(const std::string& gid);

  // The earliest PREPARE whose outcome has not arrived, or whose COMMIT PREPARED the
  // application has not acknowledged whole. Confirming at or past it would make a
  // restarted server skip the prepared changes and later send COMMIT PREPARED alone,
  // so progress is held just before it.
  std::optional<uint64_t> hold_lsn() const;
  void ReleaseHolds(uint64_t acked);

  // A new session: the open block goes; prepared transactions stay, only to keep
  // holding the slot until the server re-sends them (their PREPARE lies after the
  // slot's position, so it comes again and replaces the stale copy).
  void EndSession() { block_.reset(); }

  template <typename F>
  void ForEachStore(F&& f) {
    for (auto& [gid, txn] : prepared_) f(txn.frames);
    if (block_) f(block_->frames);
  }

 private:
  FrameAccounting& accounting_;
  std::unique_ptr<PreparedTransaction> block_;
  absl::flat_hash_map<std::string, PreparedTransaction> prepared_;  // by gid
  // Prepared transactions whose COMMIT PREPARED arrived: {commit end_lsn, prepare_lsn}.
  std::vector<std::pair<uint64_t, uint64_t>> committed_holds_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_ASSEMBLY_PREPARED_TRANSACTIONS_H_
