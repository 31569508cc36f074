#include "stream/change_stream_impl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "internal/logging.h"
#include "internal/status_macros.h"
#include "protocol/pgoutput_decoder.h"

namespace pgcdc::internal {
namespace {

int64_t PgNow(absl::Time now) { return absl::ToUnixMicros(now) - kPgEpochUnixMicros; }

// The walsender ends a session it has not heard from for wal_sender_timeout; report
// at a third of it so one late report is harmless, and at least every 10 s like
// pg_recvlogical.
absl::Duration HeartbeatInterval(absl::Duration wal_sender_timeout) {
  if (wal_sender_timeout <= absl::ZeroDuration()) return absl::Seconds(10);
  return std::clamp(wal_sender_timeout / 3, absl::Milliseconds(100), absl::Seconds(10));
}

// Changes decoded ahead of the application: enough to amortize a socket read, few
// enough that a slow consumer never makes the stream read without bound.
constexpr size_t kReadyBatch = 4096;

AssemblerLimits Limits(const StreamOptions& options) {
  AssemblerLimits limits;
  limits.max_buffered_bytes = options.max_buffered_bytes;
  limits.spill_dir = options.spill_dir;
  if (limits.spill_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    limits.spill_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  return limits;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChangeStreamImpl>> ChangeStreamImpl::Open(StreamOptions options) {
  // Every log line goes through the queue, flushed only outside the stream lock.
  auto log = std::make_shared<DeferredLog>(std::move(options.log_sink));
  options.log_sink = DeferredLog::QueueTo(log);
  absl::Cleanup flush_log = [&log] { log->Flush(); };
  // The snapshot (if any) is imported while the session is opened (doc/adr/0004).
  std::unique_ptr<SnapshotReader> snapshot;
  if (options.snapshot != SnapshotMode::kNever)
    snapshot = std::make_unique<SnapshotReader>(options);
  PGCDC_ASSIGN_OR_RETURN(ReplicationSession session,
                         OpenReplicationSession(options, snapshot.get()));
  if (snapshot != nullptr && !snapshot->imported()) snapshot.reset();  // finished before
  std::unique_ptr<ChangeStreamImpl> impl(
      new ChangeStreamImpl(std::move(options), std::move(session)));
  impl->log_ = log;
  impl->snapshot_ = std::move(snapshot);
  {
    absl::MutexLock lock(&impl->mu_);  // initial_only: no START_REPLICATION, nothing to report
    impl->connected_ = impl->session_.conn->in_copy();
  }
  if (pipe2(impl->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError("pipe2 failed");
  }
  impl->wake_fd_.store(impl->wake_pipe_[1], std::memory_order_release);
  impl->guard_ = std::thread([p = impl.get()] { p->GuardLoop(); });
  return impl;
}

ChangeStreamImpl::ChangeStreamImpl(StreamOptions options, ReplicationSession session)
    : options_(std::move(options)),
      session_(std::move(session)),
      assembler_(session_.proto_version, Limits(options_), options_.deliver_prepared),
      order_(session_.conn->database()),
      progress_(session_.confirmed_flush_lsn),
      watchdog_(options_.receive_timeout, absl::Now()),
      backoff_(options_.reconnect, absl::ToUnixNanos(absl::Now()) ^ getpid()) {
  started_ = absl::Now();
  if (options_.describe_columns) {
    ConnectParams params;
    params.dsn = options_.dsn;
    params.application_name = options_.application_name;
    params.connect_timeout = options_.connect_timeout;
    params.tcp_user_timeout = options_.receive_timeout;
    params.notices = options_.log_sink;
    // A silent partition must not hold the stream longer than its own liveness check.
    const absl::Duration timeout = options_.receive_timeout > absl::ZeroDuration()
                                       ? options_.receive_timeout
                                       : options_.connect_timeout;
    catalog_ = std::make_unique<ColumnCatalog>(std::move(params), timeout);
    assembler_.set_describer(
        [catalog = catalog_.get()](RelationInfo& info) { return catalog->Describe(info); });
  }
  StartSession(started_);
  last_activity_ = started_;
  next_checkpoint_ = started_ + options_.status_interval;
  Log(options_.log_sink, LogLevel::kInfo,
      absl::StrCat("streaming slot ", options_.slot_name, " from ",
                   Lsn(session_.confirmed_flush_lsn).ToString(), " with pgoutput protocol v",
                   session_.proto_version));
}

ChangeStreamImpl::~ChangeStreamImpl() {
  if (absl::Status s = Close(); !s.ok()) {
    Log(options_.log_sink, LogLevel::kWarning, absl::StrCat("closing the stream: ", s.message()));
  }
  log_->Flush();
  // REQUIRES (documented on Cancel): no Cancel() runs concurrently with destruction.
  wake_fd_.store(-1, std::memory_order_release);
  for (int fd : wake_pipe_) {
    if (fd >= 0) close(fd);
  }
}

void ChangeStreamImpl::StartSession(absl::Time now) {
  session_.conn->set_read_linger(options_.read_linger.value_or(
      session_.conn->unix_socket() ? absl::Microseconds(200) : absl::Milliseconds(2)));
  heartbeat_interval_ = HeartbeatInterval(session_.wal_sender_timeout);
  guard_period_us_.store(absl::ToInt64Microseconds(heartbeat_interval_ / 4));
  last_status_sent_ = now;
  session_started_ = now;
  watchdog_.Heard(now);
}

absl::StatusOr<std::optional<Change>> ChangeStreamImpl::Poll(absl::Time deadline) {
  absl::Cleanup flush_log = [this] { log_->Flush(); };  // after the lock is released
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<Change>> change = PollLocked(deadline);
  watchdog_.Suspend(last_now_);  // the application's time is not the server's silence
  return change;
}

absl::Status ChangeStreamImpl::PollBatch(absl::Time deadline, size_t max_changes,
                                         std::vector<Change>* out) {
  absl::Cleanup flush_log = [this] { log_->Flush(); };
  absl::MutexLock lock(&mu_);
  const size_t first = out->size();
  while (out->size() - first < max_changes) {
    // Only the first change is waited for; after it, InfinitePast() takes what is
    // decoded already or readable from the socket at once.
    absl::StatusOr<std::optional<Change>> next =
        PollLocked(out->size() == first ? deadline : absl::InfinitePast());
    if (!next.ok()) return next.status();
    if (!next->has_value()) break;
    out->push_back(**std::move(next));
  }
  watchdog_.Suspend(last_now_);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Change>> ChangeStreamImpl::PollLocked(absl::Time deadline) {
  bool read_once = false;  // even with a zero timeout, look at the socket once
  bool resumed = false;
  while (!done()) {
    const absl::Time now = absl::Now();
    last_now_ = now;
    if (!std::exchange(resumed, true)) watchdog_.Resume(now);
    if (HardStopMet(now)) break;
    if (snapshot_ != nullptr) {  // snapshot rows come first (change_stream_snapshot.cc)
      absl::StatusOr<std::optional<Change>> row = PollSnapshot(now, deadline);
      if (!row.ok()) return Fail(row.status());
      if (*row || done()) return row;
      if (!snapshot_->delivered_all()) {
        watchdog_.Heard(now);  // the session is not read while the snapshot runs
        if (now >= deadline) return std::nullopt;
        continue;
      }
    }
    if (!ready_.empty()) {
      if (std::optional<Change> change = Deliver(now)) return change;
      continue;
    }
    if (assembler_.replaying()) {  // a committed streamed transaction, a batch at a time
      if (absl::Status s = assembler_.Produce(kReadyBatch, &ready_); !s.ok()) return Fail(s);
      continue;
    }
    AfterDrained();
    if (StopConditionMet(now)) break;
    absl::Status s = CheckLiveness(now);
    if (s.ok()) s = ReportProgress(now, std::exchange(checkpoint_requested_, false));
    if (!s.ok()) {
      if (absl::Status end = Recover(std::move(s)); !end.ok()) return Fail(std::move(end));
      continue;
    }
    if (now >= deadline && read_once) return std::nullopt;
    read_once = true;
    absl::StatusOr<ReceiveResult> r = session_.conn->Receive(
        std::max(NextWakeup(deadline), now), wake_pipe_[0],
        [this](std::string_view data)
            ABSL_NO_THREAD_SAFETY_ANALYSIS { return HandleCopyData(data); },
        // Bounded: stop taking messages once a batch is ready or a replay must run.
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return ready_.size() < kReadyBatch && !assembler_.replaying();
        });
    if (!r.ok()) {
      if (absl::Status end = Recover(r.status()); !end.ok()) return Fail(std::move(end));
      continue;
    }
    if (*r == ReceiveResult::kData) {
      const absl::Time received = absl::Now();
      watchdog_.Heard(received);
      if (std::exchange(data_received_, false)) last_activity_ = received;
      // A session that has worked for a while ends the fault: the next one starts
      // with a fresh reconnect budget.
      if (in_fault_ && received - session_started_ >= options_.reconnect.max_backoff) {
        in_fault_ = false;
      }
    }
    // A transaction committing after the stop position is never delivered: stop
    // before buffering it (it may be large) once what precedes it is delivered.
    if (options_.stop_at_lsn &&
        assembler_.open_commit_lsn().value_or(0) > options_.stop_at_lsn->value()) {
      stop_after_delivered_ = true;
    }
    if (*r == ReceiveResult::kEndOfStream) {
      connected_ = false;
      absl::Status end = Recover(absl::UnavailableError(
          "the server ended the replication stream (is it shutting down?); reconnect to "
          "resume from the last checkpoint"));
      if (!end.ok()) return Fail(std::move(end));
    }
  }
  return std::nullopt;
}

std::optional<Change> ChangeStreamImpl::Deliver(absl::Time now) {
  if (BeyondStop(ready_.front())) {
    ready_.clear();
    done_.store(true, std::memory_order_release);
    return std::nullopt;
  }
  Change change = std::move(ready_.front());
  ready_.pop_front();
  const bool at_record_end =
      (change.op() == Operation::kMessage && !change.message_transactional()) ||
      change.op() == Operation::kRollbackPrepared;
  const DeliveryKey key{change.commit_lsn().value(), !at_record_end, change.ordinal()};
  if (skip_through_) {
    // Re-sent after a reconnect and returned before.
    if (key <= *skip_through_) {
      redelivered_skipped_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    skip_through_.reset();
  }
  last_delivered_ = key;
  order_.Stamp(ChangeData::Mutable(change));
  in_fault_ = false;
  progress_.Delivered(AckPosition(change));
  last_activity_ = now;
  if (options_.stop_at_lsn && change.last_in_transaction() &&
      change.end_lsn() >= *options_.stop_at_lsn) {
    stop_after_delivered_ = true;
  }
  return change;
}

void ChangeStreamImpl::AfterDrained() {
  // The last keepalive's position covers everything the server had sent before it
  // (doc/protocol.md#keepalives, #status-updates).
  if (keepalive_wal_end_ == 0) return;
  // Stop position: every transaction committed before the keepalive's position was
  // sent before it. One still in progress there (streamed in blocks, or prepared and
  // awaiting its outcome) commits after it, so beyond the stop: only a transaction
  // being received or replayed now must be finished first.
  if (options_.stop_at_lsn && keepalive_wal_end_ >= options_.stop_at_lsn->value() &&
      !assembler_.open_commit_lsn() && !assembler_.replaying()) {
    stop_after_delivered_ = true;
  }
  // Confirming it needs more: nothing started and unfinished at all, and everything
  // delivered acknowledged (Progress::Keepalive).
  if (!assembler_.has_pending()) progress_.Keepalive(keepalive_wal_end_);
}

bool ChangeStreamImpl::BeyondStop(const Change& change) const {
  // Like pg_recvlogical --endpos: nothing that starts after the stop position.
  return options_.stop_at_lsn && change.commit_lsn() > *options_.stop_at_lsn;
}

bool ChangeStreamImpl::HardStopMet(absl::Time now) {
  // Checked before every delivery: Cancel() and the time budget must not wait until a
  // buffered transaction has been handed out. Stopping inside a transaction is safe:
  // its acknowledged changes confirm only its commit LSN, so it comes again whole.
  const bool stop = cancelled_.load(std::memory_order_acquire) ||
                    (options_.max_duration && now - started_ >= *options_.max_duration);
  if (stop) done_.store(true, std::memory_order_release);
  return stop;
}

bool ChangeStreamImpl::StopConditionMet(absl::Time now) {
  const bool stop = stop_after_delivered_ ||
                    (options_.idle_timeout && now - last_activity_ >= *options_.idle_timeout);
  if (stop) done_.store(true, std::memory_order_release);
  return stop;
}

absl::Time ChangeStreamImpl::NextWakeup(absl::Time deadline) const {
  absl::Time t = std::min(deadline, last_status_sent_ + heartbeat_interval_);
  if (progress_.has_unconfirmed()) t = std::min(t, next_checkpoint_);
  if (options_.max_duration) t = std::min(t, started_ + *options_.max_duration);
  if (options_.idle_timeout) t = std::min(t, last_activity_ + *options_.idle_timeout);
  return std::min(t, watchdog_.NextCheck());
}

absl::Status ChangeStreamImpl::HandleCopyData(std::string_view data) {
  PGCDC_ASSIGN_OR_RETURN(CopyDataMessage message, DecodeCopyData(data));
  if (const auto* x = std::get_if<XLogData>(&message)) {
    received_lsn_ = std::max({received_lsn_, x->data_start, x->wal_end});
    // Receiving a transaction (a large one may take minutes to arrive as stream blocks
    // before its first change can be delivered) is not idle time. Begin and Commit
    // alone are not change data: before PostgreSQL 15 the server sends them for every
    // transaction, also those without a published change.
    if (!x->payload.empty() && x->payload[0] != 'B' && x->payload[0] != 'C') {
      data_received_ = true;
    }
    return assembler_.Process(*x, &ready_);
  }
  const auto& keepalive = std::get<PrimaryKeepalive>(message);
  received_lsn_ = std::max(received_lsn_, keepalive.wal_end);
  // Applied once everything received before it has been delivered (AfterDrained): the
  // server may not send another keepalive for a long time after this one.
  keepalive_wal_end_ = std::max(keepalive_wal_end_, keepalive.wal_end);
  // The walsender asks for a reply when half of wal_sender_timeout has passed
  // without hearing from us; answer at once.
  // A shutting-down walsender also asks, and waits until the reported position reaches
  // what it sent: confirm what can be confirmed at the next opportunity, not only at
  // the next status_interval.
  if (keepalive.reply_requested) {
    checkpoint_requested_ = true;
    return SendStatus(absl::Now(), ReportableFlush());
  }
  return absl::OkStatus();
}

absl::Status ChangeStreamImpl::ReportProgress(absl::Time now, bool force) {
  if (!connected_) return absl::OkStatus();
  assembler_.ReleaseHolds(progress_.acked());  // committed prepared ones acknowledged
  const uint64_t position = ConfirmablePosition();
  if (position > progress_.confirmed() && (force || now >= next_checkpoint_)) {
    if (options_.on_checkpoint) {
      // User code runs without the lock, so the guard thread keeps the session alive
      // (wal_sender_timeout) however long the callback takes.
      mu_.Unlock();
      absl::Status s = options_.on_checkpoint({options_.slot_name, Lsn(position), now});
      mu_.Lock();
      if (!s.ok()) {
        return absl::AbortedError(absl::StrCat("on_checkpoint failed for position ",
                                               Lsn(position).ToString(),
                                               "; the slot was not moved: ", s.message()));
      }
    }
    next_checkpoint_ = now + options_.status_interval;
    PGCDC_RETURN_IF_ERROR(SendStatus(now, position));
    progress_.Confirmed(position);
    flush_reported_ = true;
    return absl::OkStatus();
  }
  if (force || now - last_status_sent_ >= heartbeat_interval_) {
    return SendStatus(now, ReportableFlush());
  }
  return absl::OkStatus();
}

uint64_t ChangeStreamImpl::ReportableFlush() const {
  // Until this session confirmed something itself, report no flush position (0 means
  // "no information" to the walsender) rather than the slot position read before
  // START_REPLICATION, which someone may have advanced since: a lower flush would move
  // the slot backwards on servers that accept it.
  if (!flush_reported_) return 0;
  // Held at a pending PREPARE (two_phase) and confirmed up to it: the slot cannot move
  // until COMMIT PREPARED. A shutting-down walsender waits until the reported flush
  // position, or without one the write position, reaches what it sent (WalSndDone);
  // a flush held below that would stall the server's shutdown. Report none: the slot
  // keeps the confirmed position, and the walsender goes by the write position.
  if (const std::optional<uint64_t> hold = assembler_.hold_lsn();
      hold && progress_.confirmed() >= *hold) {
    return 0;
  }
  return progress_.confirmed();
}

absl::Status ChangeStreamImpl::SendStatus(absl::Time now, uint64_t flushed, bool reply_requested) {
  // Only `flushed` moves the slot; `written` shows what we received
  // (pg_stat_replication.write_lsn), and is what a shutting-down walsender waits for
  // when flushed is 0.
  const std::array<char, 34> message = EncodeStandbyStatusUpdate(
      std::max(received_lsn_, flushed), flushed, flushed, PgNow(now), reply_requested);
  last_status_sent_ = now;
  return session_.conn->SendCopyData(std::string_view(message.data(), message.size()));
}

absl::StatusOr<std::optional<Change>> ChangeStreamImpl::Fail(absl::Status status) {
  done_.store(true, std::memory_order_release);
  ready_.clear();
  // After the server ended COPY with an error, or the connection broke, there is no
  // session left to report progress to.
  if (session_.conn == nullptr || !session_.conn->in_copy() || !session_.conn->connected()) {
    connected_ = false;
  }
  return status;
}

absl::Status ChangeStreamImpl::Close() {
  Cancel();  // a Next() blocked in another thread returns, so the lock comes free
  StopGuard();
  absl::Cleanup flush_log = [this] { log_->Flush(); };
  absl::MutexLock lock(&mu_);
  done_.store(true, std::memory_order_release);
  if (session_.conn == nullptr) return UnreportedProgress();
  absl::Status status = absl::OkStatus();
  if (snapshot_ != nullptr) status = CloseSnapshot(absl::Now());
  if (!connected_ && status.ok()) status = UnreportedProgress();
  if (connected_) {
    if (status.ok()) status = ReportProgress(absl::Now(), /*force=*/true);
    absl::Status end = session_.conn->EndCopyBoth(absl::Seconds(5));
    if (status.ok() && !end.ok()) {
      Log(options_.log_sink, LogLevel::kWarning,
          absl::StrCat("ending replication: ", end.message()));
    }
  }
  session_.conn.reset();
  return status;
}

uint64_t ChangeStreamImpl::ConfirmablePosition() const {
  // Not past a PREPARE still waiting for its outcome (ChangeAssembler::hold_lsn).
  const std::optional<uint64_t> hold = assembler_.hold_lsn();
  return hold ? std::min(progress_.acked(), *hold) : progress_.acked();
}

absl::Status ChangeStreamImpl::UnreportedProgress() const {
  const uint64_t position = ConfirmablePosition();
  if (position <= progress_.confirmed()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the connection to the server was lost before acknowledged progress up to ",
      Lsn(position).ToString(), " could be reported: the slot stays at ",
      Lsn(progress_.confirmed()).ToString(),
      ", so the changes after it are delivered again (same ids) when the stream is opened "
      "again"));
}

void ChangeStreamImpl::Cancel() {
  cancelled_.store(true, std::memory_order_release);
  // write() is async-signal-safe: Cancel() may run in a signal handler.
  const int fd = wake_fd_.load(std::memory_order_acquire);
  if (fd >= 0) {
    const char byte = 1;
    ssize_t ignored = write(fd, &byte, 1);
    (void)ignored;
  }
}

void ChangeStreamImpl::GuardLoop() {
  // While the application is between calls the socket is not read, so the server
  // hears nothing from us; report the confirmed position before wal_sender_timeout.
  absl::MutexLock guard_lock(&guard_mu_);
  while (!guard_stop_) {
    guard_mu_.AwaitWithTimeout(absl::Condition(&guard_stop_),
                               absl::Microseconds(guard_period_us_.load()));
    if (guard_stop_ || !mu_.TryLock()) continue;
    const absl::Time now = absl::Now();
    absl::Status s = absl::OkStatus();
    if (connected_ && session_.conn != nullptr && now - last_status_sent_ >= heartbeat_interval_) {
      s = SendStatus(now, ReportableFlush());
    }
    mu_.Unlock();
    if (!s.ok()) {
      Log(options_.log_sink, LogLevel::kWarning,
          absl::StrCat("keepalive while the application is busy: ", s.message()));
      log_->Flush();  // this thread holds no stream lock: deliver it now
    }
  }
}

void ChangeStreamImpl::StopGuard() {
  {
    absl::MutexLock lock(&guard_mu_);
    guard_stop_ = true;
  }
  if (guard_.joinable()) guard_.join();
}

}  // namespace pgcdc::internal
