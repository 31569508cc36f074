// pgoutput messages -> committed pgcdc::Change records, whole transactions in commit
// order, in bounded memory. The dispatch of every message, the transaction being
// received whole, and the decoding of streamed and prepared transactions once their
// outcome is known live here; their buffering lives in StreamedTransactions and
// PreparedTransactions, under one memory budget (FrameAccounting).
//
// A transaction sent whole after its commit (the server's normal path) is buffered
// until its Commit, but only up to `max_buffered_bytes`: beyond that its changes are
// handed out as they arrive (their end_lsn is then unknown: 0), so a huge transaction
// never accumulates. A streamed in-progress transaction (protocol v2+) is kept as raw
// messages per top-level xid (FrameStore), spilling to a file past the memory limit,
// and decoded one change at a time after its Stream Commit (Produce()); aborted
// (sub)transactions are dropped (doc/protocol.md#streaming).
//
// Two-phase (protocol v3, doc/protocol.md#two-phase): a prepared transaction is either kept
// until COMMIT PREPARED (PreparedDelivery::kAtCommit) or delivered at its PREPARE like
// a committed one, its outcome following as a record of its own (kAtPrepare).
#ifndef PGCDC_ASSEMBLY_CHANGE_ASSEMBLER_H_
#define PGCDC_ASSEMBLY_CHANGE_ASSEMBLER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "assembly/frame_accounting.h"
#include "assembly/frame_store.h"
#include "assembly/prepared_transactions.h"
#include "assembly/streamed_transactions.h"
#include "pgcdc/change.h"
#include "pgcdc/options.h"
#include "protocol/pgoutput_messages.h"
#include "record/change_data.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

struct AssemblerLimits {
  size_t max_buffered_bytes = 64 << 20;
  std::string spill_dir = "/tmp";
};

// Where a transaction's changes sit: the same for all of them, known from Begin
// (end_lsn only from the commit). For a transaction delivered at PREPARE: the PREPARE
// record's start, end and time, and its gid.
struct CommitPosition {
  uint32_t xid = 0;
  uint64_t commit_lsn = 0;
  uint64_t end_lsn = 0;
  int64_t commit_time_us = 0;              // Unix epoch
  std::shared_ptr<const std::string> gid;  // null unless delivered at PREPARE
};

// Memory and spill counters (pgcdc::StreamStats).
struct AssemblerStats {
  uint64_t buffered_bytes = 0;
  uint64_t peak_buffered_bytes = 0;
  uint64_t spill_file_bytes = 0;
  uint64_t spilled_bytes_total = 0;
  uint64_t transactions_spilled = 0;
};

// Changes decoded from one message: one, or one per table for a Truncate.
using BuiltChanges = absl::InlinedVector<std::unique_ptr<ChangeData>, 1>;

// Changes of a transaction that has not committed yet. (At namespace scope: clang
// rejects std::optional<T>::emplace() for a nested T with default member initializers
// inside its enclosing class.)
struct PendingTransaction {
  CommitPosition position;
  std::deque<Change> changes;
  size_t bytes = 0;        // ByteSize() of `changes`
  uint32_t delivered = 0;  // changes handed out before the Commit arrived
};

class ChangeAssembler {
 public:
  explicit ChangeAssembler(int proto_version, AssemblerLimits limits = {},
                           PreparedDelivery prepared = PreparedDelivery::kAtCommit);
  ~ChangeAssembler();

  // Reads what only the catalog knows for every relation described from now on
  // (RelationInfo::described).
  void set_describer(RelationDescriber describer) {
    describer_ = std::move(describer);
    relations_ = RelationCache(describer_);
  }

  // Decodes the pgoutput message in `frame` and appends every change that became
  // deliverable to `ready`. After a Stream Commit, call Produce() until !replaying().
  absl::Status Process(const XLogData& frame, std::deque<Change>* ready);

  // Forgets what a new session re-sends from the slot's position: open, streamed and
  // replaying transactions, their spill files, and the relations. Prepared
  // transactions stay, only to keep holding the slot (hold_lsn) until re-sent. The
  // counters of stats() stay.
  void Reset(int proto_version);

  // Decodes up to `max` changes of the committed streamed transaction into `ready`.
  absl::Status Produce(size_t max, std::deque<Change>* ready);
  bool replaying() const { return replay_ != nullptr; }

  // True while a transaction (or a stream block, or a streamed transaction, or a
  // prepared one) has been started but not finished: a keepalive position is then not
  // safe to confirm.
  bool has_pending() const {
    return open_.has_value() || streams_.in_block() || !streams_.empty() || replay_ != nullptr ||
           prepared_.in_block();
  }

  // Two-phase: the earliest PREPARE whose COMMIT/ROLLBACK PREPARED has not arrived.
  // Confirming at or past it would make a restarted server skip the prepared changes
  // and later send COMMIT PREPARED alone, so progress is held just before it.
  // A prepared transaction keeps holding after its COMMIT PREPARED arrived, until the
  // application acknowledged it whole (its commit's end_lsn): confirming past the
  // PREPARE any earlier would make the next session receive COMMIT PREPARED alone.
  std::optional<uint64_t> hold_lsn() const { return prepared_.hold_lsn(); }
  // The application acknowledged up to `acked`: committed prepared transactions that
  // end at or before it no longer hold.
  void ReleaseHolds(uint64_t acked) { prepared_.ReleaseHolds(acked); }

  // The commit LSN of the transaction being received (between Begin and Commit).
  std::optional<uint64_t> open_commit_lsn() const {
    return open_ ? std::optional<uint64_t>(open_->position.commit_lsn) : std::nullopt;
  }

  // Raw messages of streamed and prepared transactions held in memory (those being
  // replayed included), and the bytes now in their spill files.
  size_t buffered_bytes() const { return accounting_.buffered_bytes(); }
  uint64_t spilled_bytes() const { return accounting_.spill_file_bytes(); }

  // The counters as of the end of the last Process() or replay. Thread-safe: another
  // thread may call it while this one feeds the assembler.
  AssemblerStats stats() const;

 private:
  using Transaction = PendingTransaction;
  struct Replay;

  absl::Status Handle(const PgoutputMessage& message, const XLogData& frame,
                      std::deque<Change>* ready);
  absl::Status HandleBegin(const Begin& begin);
  absl::Status HandleCommit(const Commit& commit, std::deque<Change>* ready);
  absl::Status HandleStreamCommit(const StreamCommit& commit);
  absl::Status HandleStreamAbort(const StreamAbort& abort);
  absl::Status HandleStreamStart(const StreamStart& start);
  absl::Status HandleMessage(const LogicalMessage& message, std::deque<Change>* ready);
  absl::Status HandleBeginPrepare(const BeginPrepare& begin);
  absl::Status HandlePrepare(const Prepare& prepare, bool streamed, std::deque<Change>* ready);
  absl::Status HandleCommitPrepared(const CommitPrepared& commit, std::deque<Change>* ready);
  absl::Status HandleRollbackPrepared(const RollbackPrepared& rollback, std::deque<Change>* ready);
  // PreparedDelivery::kAtPrepare.
  bool at_prepare() const { return prepared_delivery_ == PreparedDelivery::kAtPrepare; }
  absl::Status DeliverPrepared(const Prepare& prepare, std::deque<Change>* ready);
  absl::Status ReplayStreamPrepared(const Prepare& prepare);
  void DeliverOutcome(Operation op, const CommitPosition& position, std::deque<Change>* ready);
  // Inside a stream block: keep the raw message for when the transaction commits.
  absl::Status Buffer(const PgoutputMessage& message, const XLogData& frame);
  absl::Status LimitMemory();
  // Makes the counters visible to stats().
  void PublishStats();

  // Decodes a row, truncate or transactional message into changes (without positions).
  absl::Status BuildChanges(const PgoutputMessage& message, uint64_t lsn,
                            std::optional<uint32_t> stream_xid, BuiltChanges* out);
  template <typename RowMessage>
  absl::StatusOr<std::unique_ptr<ChangeData>> BuildRowChange(const RowMessage& message,
                                                             uint64_t lsn,
                                                             std::optional<uint32_t> stream_xid);

  absl::Status Append(std::unique_ptr<ChangeData> change, std::deque<Change>* ready);
  static void Deliver(Transaction txn, std::deque<Change>* ready);
  // What a replayed transaction's Relation and Type messages become at its end.
  enum class Overlay {
    kCommit,  // the session's (a streamed transaction that committed)
    kDrop,    // nothing (a prepared block: applied for the session on arrival already)
    kKeep,    // the transaction's, until COMMIT or ROLLBACK PREPARED (delivered at PREPARE)
  };
  void StartReplay(const CommitPosition& position, FrameStore frames, bool streamed,
                   Overlay overlay);

  int proto_version_;
  AssemblerLimits limits_;
  PreparedDelivery prepared_delivery_;
  RelationDescriber describer_;
  RelationCache relations_;
  // Value slots of the last row change built and its relation: arrays add slots
  // beyond one per column, and reserving them up front saves a reallocation per row.
  uint32_t slots_hint_relation_ = 0;
  size_t slots_hint_ = 0;
  std::optional<Transaction> open_;  // between Begin and Commit
  // Declared before the two that keep a reference to it.
  FrameAccounting accounting_;
  StreamedTransactions streams_{accounting_};
  PreparedTransactions prepared_{accounting_};  // kept until their outcome (kAtCommit)
  std::unique_ptr<Replay> replay_;
  // Copies of the counters for stats() from another thread.
  std::atomic<uint64_t> published_buffered_{0};
  std::atomic<uint64_t> published_peak_{0};
  std::atomic<uint64_t> published_spill_file_{0};
  std::atomic<uint64_t> published_spilled_total_{0};
  std::atomic<uint64_t> published_transactions_spilled_{0};
};

}  // namespace pgcdc::internal

#endif  // PGCDC_ASSEMBLY_CHANGE_ASSEMBLER_H_
