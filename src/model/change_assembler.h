// pgoutput messages -> committed pgcdc::Change records, whole transactions in commit
// order. Streamed in-progress transactions (protocol v2+) are buffered per top-level
// xid until Stream Commit; aborted (sub)transactions are dropped (pgoutput.md §4.8).
#ifndef PGCDC_MODEL_CHANGE_ASSEMBLER_H_
#define PGCDC_MODEL_CHANGE_ASSEMBLER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/relation_cache.h"
#include "model/change_data.h"
#include "pgcdc/change.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

// Changes of a transaction that has not committed yet. (At namespace scope: clang
// rejects std::optional<T>::emplace() for a nested T with default member initializers
// inside its enclosing class.)
struct PendingTransaction {
  uint32_t xid = 0;
  uint64_t commit_lsn = 0;
  int64_t commit_time = 0;
  // A deque: growing it never moves or reallocates the records already buffered.
  std::deque<Change> changes;
  std::vector<uint32_t> subxids;  // per change (streams only): who made it
};

class ChangeAssembler {
 public:
  explicit ChangeAssembler(int proto_version) : proto_version_(proto_version) {}

  // Decodes the pgoutput message in `frame` and appends every change that became
  // deliverable (a committed transaction, or a non-transactional message) to `ready`.
  absl::Status Process(const XLogData& frame, std::deque<Change>* ready);

  // True while a transaction (or a stream block, or a streamed transaction) has been
  // started but not finished: a keepalive position is then not safe to confirm.
  bool has_pending() const { return open_.has_value() || in_stream_ || !streams_.empty(); }

  // The commit LSN of the transaction being received (between Begin and Commit).
  std::optional<uint64_t> open_commit_lsn() const {
    return open_ ? std::optional<uint64_t>(open_->commit_lsn) : std::nullopt;
  }

 private:
  using Transaction = PendingTransaction;

  absl::Status Handle(const PgoutputMessage& message, const XLogData& frame,
                      std::deque<Change>* ready);
  absl::Status HandleBegin(const Begin& begin);
  absl::Status HandleCommit(const Commit& commit, std::deque<Change>* ready);
  absl::Status HandleStreamCommit(const StreamCommit& commit, std::deque<Change>* ready);
  absl::Status HandleStreamAbort(const StreamAbort& abort);
  absl::Status HandleStreamStart(const StreamStart& start);
  absl::Status HandleMessage(const LogicalMessage& message, const XLogData& frame,
                             std::deque<Change>* ready);
  absl::Status HandleTruncate(const Truncate& truncate, const XLogData& frame);

  template <typename RowMessage>
  absl::Status HandleRow(const RowMessage& message, const XLogData& frame);

  // The transaction a transactional message belongs to, or an error if none is open.
  absl::StatusOr<Transaction*> Current(std::string_view what);
  std::optional<uint32_t> StreamXid() const {
    return in_stream_ ? std::optional<uint32_t>(stream_xid_) : std::nullopt;
  }
  void Append(Transaction* txn, std::optional<uint32_t> subxid,
              std::unique_ptr<ChangeData> change);
  static void Deliver(Transaction txn, uint64_t commit_lsn, uint64_t end_lsn,
                      int64_t commit_time, std::deque<Change>* ready);

  int proto_version_;
  RelationCache relations_;
  std::optional<Transaction> open_;  // between Begin and Commit
  bool in_stream_ = false;
  uint32_t stream_xid_ = 0;
  absl::flat_hash_map<uint32_t, Transaction> streams_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_MODEL_CHANGE_ASSEMBLER_H_
