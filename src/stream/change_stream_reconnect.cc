// The stream's liveness check and its recovery from faults a retry can heal
// (StreamOptions::receive_timeout, StreamOptions::reconnect; stream/liveness.h).
#include <poll.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "internal/logging.h"
#include "internal/strings.h"
#include "pgcdc/status.h"
#include "stream/change_stream_impl.h"

namespace pgcdc::internal {
namespace {

// What a session after a reconnect must not do again: create the slot or the
// publication, start at the application's start_lsn (the slot is past it now), or
// take a snapshot.
StreamOptions ReconnectOptions(const StreamOptions& options) {
  StreamOptions again = options;
  again.create_slot = false;
  again.publication_tables.clear();
  again.start_lsn.reset();
  again.snapshot = SnapshotMode::kNever;
  again.on_snapshot_progress = nullptr;
  return again;
}

// `status` with the same code and payloads (SQLSTATE), its message extended.
absl::Status WithNote(const absl::Status& status, std::string_view note) {
  absl::Status out(status.code(), absl::StrCat(status.message(), Sv(note)));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace

absl::Status ChangeStreamImpl::CheckLiveness(absl::Time now) {
  if (!connected_) return absl::OkStatus();
  switch (watchdog_.Check(now)) {
    case ReceiveWatchdog::Action::kNone:
      return absl::OkStatus();
    case ReceiveWatchdog::Action::kPing:
      // The walsender answers a status update that requests a reply with a keepalive
      // (ProcessStandbyReplyMessage), so a live server is heard from again.
      return SendStatus(now, ReportableFlush(), /*reply_requested=*/true);
    case ReceiveWatchdog::Action::kDead:
      break;
  }
  // Nothing can be sent or ended politely on it: drop it (Close() would otherwise
  // wait on it).
  session_.conn.reset();
  connected_ = false;
  return absl::UnavailableError(absl::StrCat(
      "nothing received from the server for ", absl::FormatDuration(watchdog_.silent(now)),
      " although it was asked to answer (receive_timeout ",
      absl::FormatDuration(options_.receive_timeout),
      "): the connection is presumed dead (a network partition, or a hung server)"));
}

bool ChangeStreamImpl::CanReconnect(const absl::Status& cause) const {
  // An unfinished snapshot cannot continue on a new session: it starts over on the
  // next open (doc/adr/0004).
  return options_.reconnect.enabled && IsRetryable(cause) &&
         !cancelled_.load(std::memory_order_acquire) &&
         (snapshot_ == nullptr || snapshot_->completed());
}

bool ChangeStreamImpl::WaitForRetry(absl::Duration delay) {
  pollfd wake = {wake_pipe_[0], POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(delay));
  if (poll(&wake, 1, ms) > 0) return false;
  return !cancelled_.load(std::memory_order_acquire);
}

absl::Status ChangeStreamImpl::Recover(absl::Status cause) {
  if (!CanReconnect(cause)) return cause;
  if (!in_fault_) backoff_.StartFault(absl::Now());
  in_fault_ = true;
  Log(options_.log_sink, LogLevel::kWarning,
      absl::StrCat("slot ", options_.slot_name, ": ", cause.message(), "; reconnecting"));
  // Nothing received on the broken session is kept (but what holds the slot before a
  // pending PREPARE): the next one re-sends everything after the slot's position.
  session_.conn.reset();
  connected_ = false;
  ready_.clear();
  keepalive_wal_end_ = 0;
  checkpoint_requested_ = false;
  const absl::Time hard_deadline =
      options_.max_duration ? started_ + *options_.max_duration : absl::InfiniteFuture();
  absl::Status last = std::move(cause);
  for (;;) {
    std::optional<absl::Duration> delay = backoff_.NextDelay(absl::Now(), hard_deadline);
    if (!delay) {
      return WithNote(
          last, absl::StrCat(" (gave up reconnecting after ", backoff_.attempts(), " attempts in ",
                             absl::FormatDuration(absl::Trunc(
                                 absl::Now() - backoff_.fault_started(), absl::Milliseconds(1))),
                             ": StreamOptions::reconnect)"));
    }
    // The application sees the warnings while this goes on, not only once it ends:
    // its log sink must not run under the stream lock (DeferredLog).
    mu_.Unlock();
    log_->Flush();
    mu_.Lock();
    if (!WaitForRetry(*delay)) return absl::OkStatus();  // Cancel(): the loop ends
    StreamOptions again = ReconnectOptions(options_);
    // An attempt must not outlast max_duration (a Lambda's budget) either.
    again.connect_timeout =
        std::min(options_.connect_timeout, std::max(hard_deadline - absl::Now(), absl::Seconds(1)));
    absl::StatusOr<ReplicationSession> session = OpenReplicationSession(again);
    if (!session.ok()) {
      last = session.status();
      if (!IsRetryable(last)) return last;
      Log(options_.log_sink, LogLevel::kInfo,
          absl::StrCat("slot ", options_.slot_name, ": reconnect attempt ", backoff_.attempts(),
                       " failed: ", last.message()));
      continue;
    }
    session_ = *std::move(session);
    connected_ = true;
    flush_reported_ = false;  // as for a new stream (ReportableFlush)
    assembler_.Reset(session_.proto_version);
    progress_.Confirmed(session_.confirmed_flush_lsn);
    skip_through_ = last_delivered_;
    StartSession(absl::Now());
    reconnects_.fetch_add(1, std::memory_order_relaxed);
    Log(options_.log_sink, LogLevel::kWarning,
        absl::StrCat("slot ", options_.slot_name, ": reconnected after ", backoff_.attempts(),
                     backoff_.attempts() == 1 ? " attempt" : " attempts", "; resuming from ",
                     Lsn(session_.confirmed_flush_lsn).ToString()));
    return absl::OkStatus();
  }
}

}  // namespace pgcdc::internal
