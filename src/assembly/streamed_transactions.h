// Streamed in-progress transactions (protocol v2+, doc/protocol.md#streaming): the
// server sends a large transaction in stream blocks before it commits. Their raw
// messages are kept per top-level xid (FrameStore, spilling past the budget) until
// Stream Commit (taken for decoding) or Stream Abort (dropped: whole, or from a
// rolled-back subtransaction on).
#ifndef PGCDC_ASSEMBLY_STREAMED_TRANSACTIONS_H_
#define PGCDC_ASSEMBLY_STREAMED_TRANSACTIONS_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "assembly/frame_accounting.h"
#include "assembly/frame_store.h"
#include "protocol/pgoutput_messages.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

class StreamedTransactions {
 public:
  explicit StreamedTransactions(FrameAccounting& accounting) : accounting_(accounting) {}

  // Between Stream Start and Stream Stop.
  bool in_block() const { return in_block_; }
  // No streamed transaction is waiting for its end.
  bool empty() const { return streams_.empty(); }

  // Stream Start. A first segment re-sends its transaction from the start (after a
  // reconnect): what the old session buffered for it, and its schema overlay in
  // `relations`, is stale and goes.
  void Start(const StreamStart& start, RelationCache& relations);
  absl::Status Stop();
  // Keeps a message of the current block, under the (sub)transaction that made it.
  absl::Status Append(const PgoutputMessage& message, const XLogData& frame);
  // The transaction's messages (empty if it sent none) for decoding at its commit or
  // prepare; they stay counted in the accounting until released.
  FrameStore Take(uint32_t xid);
  // Stream Abort: the whole transaction, or a subtransaction and what followed it.
  absl::Status Abort(const StreamAbort& abort, RelationCache& relations);
  // A new session re-sends them: forget all (the caller resets the accounting).
  void Clear();

  template <typename F>
  void ForEachStore(F&& f) {
    for (auto& [xid, store] : streams_) f(store);
  }

 private:
  FrameAccounting& accounting_;
  bool in_block_ = false;
  uint32_t block_xid_ = 0;
  absl::flat_hash_map<uint32_t, FrameStore> streams_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_ASSEMBLY_STREAMED_TRANSACTIONS_H_
