// The ChangeStream state machine: reads CopyData from the walsender, assembles changes,
// tracks acknowledged progress and reports it to the server.
#ifndef PGCDC_STREAM_CHANGE_STREAM_IMPL_H_
#define PGCDC_STREAM_CHANGE_STREAM_IMPL_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "assembly/change_assembler.h"
#include "connection/column_details.h"
#include "connection/replication_setup.h"
#include "internal/logging.h"
#include "pgcdc/change.h"
#include "pgcdc/options.h"
#include "pgcdc/stats.h"
#include "snapshot/snapshot_reader.h"
#include "stream/delivery_order.h"
#include "stream/liveness.h"
#include "stream/progress.h"

namespace pgcdc::internal {

class ChangeStreamImpl {
 public:
  static absl::StatusOr<std::unique_ptr<ChangeStreamImpl>> Open(StreamOptions options);
  ~ChangeStreamImpl();

  // Waits until `deadline` for the next change; nullopt with done() false = timeout.
  absl::StatusOr<std::optional<Change>> Poll(absl::Time deadline);
  // ChangeStream::PollBatch: appends up to `max_changes`, waiting until `deadline` only
  // for the first.
  absl::Status PollBatch(absl::Time deadline, size_t max_changes, std::vector<Change>* out);
  bool done() const { return done_.load(std::memory_order_acquire); }

  void Ack(const Change& change) {
    if (snapshot_ != nullptr) snapshot_->Acked(change);
    progress_.Ack(AckPosition(change));
  }
  void Ack(Lsn lsn) {
    // Clamped for the snapshot as for the slot: a position past everything delivered
    // must not mark undelivered snapshot rows handled.
    if (snapshot_ != nullptr) {
      snapshot_->AckedPosition(std::min(lsn.value(), progress_.delivered()));
    }
    progress_.Ack(lsn.value());
  }
  absl::Status Close();
  void Cancel();

  Lsn acked_lsn() const { return Lsn(progress_.acked()); }
  Lsn confirmed_flush_lsn() const { return Lsn(progress_.confirmed()); }

  // Thread-safe (change_stream_stats.cc): counters only, no lock.
  StreamStats stats() const;
  // Counts a record handed to the application (ChangeStream::Next/Poll).
  void CountDelivered(const Change& change);

  // The position that confirms `change` and everything delivered before it: the end of
  // its transaction if it is the last change of it; otherwise its commit LSN, because
  // a restart at that position re-sends exactly the transactions committing at or
  // after it (doc/protocol.md#acknowledging), i.e. this one, whole.
  static uint64_t AckPosition(const Change& change) {
    return (change.last_in_transaction() ? change.end_lsn() : change.commit_lsn()).value();
  }

 private:
  ChangeStreamImpl(StreamOptions options, ReplicationSession session);

  absl::StatusOr<std::optional<Change>> PollLocked(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status HandleCopyData(std::string_view data) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cancel() or max_duration: end the stream even with changes buffered; sets done_.
  bool HardStopMet(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // stop_at_lsn reached or idle_timeout: checked once the buffer is empty.
  bool StopConditionMet(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `change` lies beyond stop_at_lsn and must not be delivered.
  bool BeyondStop(const Change& change) const;
  // Called when every received change was delivered: applies the last keepalive.
  void AfterDrained() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Change> Deliver(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checkpoint (callback + flush) when due or forced; otherwise a heartbeat when due.
  absl::Status ReportProgress(absl::Time now, bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SendStatus(absl::Time now, uint64_t flushed, bool reply_requested = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t ReportableFlush() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What may be confirmed: the acknowledged position, held before a pending PREPARE.
  uint64_t ConfirmablePosition() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Close() without a session: OK, or the error saying which acknowledged progress
  // never reached the server.
  absl::Status UnreportedProgress() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextWakeup(absl::Time deadline) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<Change>> Fail(absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A fault on the session: reconnects (StreamOptions::reconnect) and returns OK to go
  // on (also when Cancel() or max_duration ended the wait: done() tells), or returns
  // the error that ends the stream.
  absl::Status Recover(absl::Status cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool CanReconnect(const absl::Status& cause) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits `delay` unless Cancel() is called (then false).
  bool WaitForRetry(absl::Duration delay);
  void StartSession(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a status update asking for a reply when the server has been silent for half
  // of receive_timeout; a fault once it was silent for all of it.
  absl::Status CheckLiveness(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void GuardLoop();
  void StopGuard();
  // Initial snapshot (change_stream_snapshot.cc): the next snapshot row, nullopt while
  // waiting or once all were delivered (then: done() for initial_only).
  absl::StatusOr<std::optional<Change>> PollSnapshot(absl::Time now, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Once the last row was acknowledged: on_checkpoint, then the snapshot is marked done.
  absl::Status CompleteSnapshot(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CloseSnapshot(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportSnapshotProgress(absl::Time now, bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StreamOptions options_;  // its log_sink queues to log_
  std::shared_ptr<DeferredLog> log_;
  absl::Mutex mu_;  // held by Poll() and Close(); the guard thread only try-locks it
  ReplicationSession session_ ABSL_GUARDED_BY(mu_);
  ChangeAssembler assembler_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ColumnCatalog> catalog_;  // StreamOptions::describe_columns
  DeliveryOrder order_ ABSL_GUARDED_BY(mu_);
  std::deque<Change> ready_ ABSL_GUARDED_BY(mu_);
  Progress progress_;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> guard_period_us_{0};  // a quarter of it, for the guard thread

  // Liveness and reconnecting (stream/liveness.h).
  ReceiveWatchdog watchdog_ ABSL_GUARDED_BY(mu_);
  Backoff backoff_ ABSL_GUARDED_BY(mu_);
  bool in_fault_ ABSL_GUARDED_BY(mu_) = false;  // reconnected, not yet proven healthy
  absl::Time session_started_ ABSL_GUARDED_BY(mu_);
  absl::Time last_now_ ABSL_GUARDED_BY(mu_);  // the loop's last clock reading
  // The last change returned (DeliveryKey); after a reconnect the server re-sends
  // from the slot's position and everything up to it is skipped.
  std::optional<DeliveryKey> last_delivered_ ABSL_GUARDED_BY(mu_);
  std::optional<DeliveryKey> skip_through_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> redelivered_skipped_{0};

  uint64_t received_lsn_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t keepalive_wal_end_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time started_;
  // The last delivery, or the last change data received (idle_timeout).
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_);
  bool data_received_ ABSL_GUARDED_BY(mu_) = false;  // change data since the last Receive
  absl::Time last_status_sent_ ABSL_GUARDED_BY(mu_);
  absl::Time next_checkpoint_ ABSL_GUARDED_BY(mu_);
  bool stop_after_delivered_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = true;
  bool flush_reported_ ABSL_GUARDED_BY(mu_) = false;        // a checkpoint was sent this session
  bool checkpoint_requested_ ABSL_GUARDED_BY(mu_) = false;  // the server asked for a reply

  std::atomic<bool> done_{false};
  std::atomic<uint64_t> changes_delivered_{0};
  std::atomic<uint64_t> transactions_delivered_{0};
  std::atomic<bool> cancelled_{false};
  int wake_pipe_[2] = {-1, -1};
  std::atomic<int> wake_fd_{-1};  // write end for Cancel(); -1 once closing

  absl::Mutex guard_mu_;
  bool guard_stop_ ABSL_GUARDED_BY(guard_mu_) = false;
  std::thread guard_;

  // Set in Open(), never reset: Ack() reads it without the lock.
  std::unique_ptr<SnapshotReader> snapshot_;
  absl::Time next_snapshot_progress_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pgcdc::internal

#endif  // PGCDC_STREAM_CHANGE_STREAM_IMPL_H_
