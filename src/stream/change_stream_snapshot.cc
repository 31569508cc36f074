// The initial snapshot's part of the stream state machine (doc/adr/0004): its rows are
// delivered before any streamed change, the session is kept alive meanwhile, and the
// snapshot is marked done once the application acknowledged its last row.
#include "absl/strings/str_cat.h"
#include "internal/logging.h"
#include "internal/status_macros.h"
#include "stream/change_stream_impl.h"

namespace pgcdc::internal {

absl::StatusOr<std::optional<Change>> ChangeStreamImpl::PollSnapshot(absl::Time now,
                                                                     absl::Time deadline) {
  if (!snapshot_->delivered_all()) {
    // Short waits: Cancel() (signal-safe, it cannot touch the reader) and heartbeats
    // are noticed within 100 ms.
    const absl::Time wait =
        std::min({deadline, NextWakeup(deadline), now + absl::Milliseconds(100)});
    PGCDC_ASSIGN_OR_RETURN(std::optional<Change> row, snapshot_->Next(wait));
    if (row) {
      order_.Stamp(ChangeData::Mutable(*row));
      progress_.Delivered(AckPosition(*row));
      last_activity_ = now;
      ReportSnapshotProgress(now, false);
      return row;
    }
    if (!snapshot_->delivered_all()) {
      ReportSnapshotProgress(now, false);
      PGCDC_RETURN_IF_ERROR(ReportProgress(now, false));  // heartbeat while readers work
      return std::nullopt;
    }
    ReportSnapshotProgress(now, true);
    Log(options_.log_sink, LogLevel::kInfo,
        absl::StrCat("initial snapshot of slot ", options_.slot_name, " delivered"));
  }
  PGCDC_RETURN_IF_ERROR(CompleteSnapshot(now));
  // initial_only: the stream ends with the snapshot (no START_REPLICATION was sent).
  if (!connected_) done_.store(true, std::memory_order_release);
  return std::nullopt;
}

absl::Status ChangeStreamImpl::CompleteSnapshot(absl::Time now) {
  if (!snapshot_->ReadyToComplete()) return absl::OkStatus();
  const Lsn position(snapshot_->consistent_point());
  if (options_.on_checkpoint && options_.snapshot == SnapshotMode::kInitial) {
    // As for any checkpoint: the application stores its progress first; only then is
    // the snapshot marked done on the server. User code runs without the lock.
    mu_.Unlock();
    absl::Status s = options_.on_checkpoint({options_.slot_name, position, now});
    mu_.Lock();
    if (!s.ok()) {
      return absl::AbortedError(absl::StrCat(
          "on_checkpoint failed for the end of the initial snapshot (", position.ToString(),
          "); the snapshot stays unfinished and starts over on the next open: ", s.message()));
    }
  }
  return snapshot_->Complete();
}

absl::Status ChangeStreamImpl::CloseSnapshot(absl::Time now) {
  absl::Status status = CompleteSnapshot(now);
  snapshot_->Cancel();
  return status;
}

void ChangeStreamImpl::ReportSnapshotProgress(absl::Time now, bool force) {
  if (!options_.on_snapshot_progress || (!force && now < next_snapshot_progress_)) return;
  next_snapshot_progress_ = now + absl::Seconds(1);
  std::vector<TableSnapshotProgress> progress = snapshot_->Progress();
  // User code runs without the lock, so the guard thread keeps the session alive
  // (wal_sender_timeout) however long the callback takes.
  mu_.Unlock();
  options_.on_snapshot_progress(progress);
  mu_.Lock();
}

}  // namespace pgcdc::internal
