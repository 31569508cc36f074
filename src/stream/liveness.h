// The timing decisions of a stream that do not touch the connection: whether the
// server has gone silent for too long (ReceiveWatchdog) and how long to wait before
// the next reconnect attempt (Backoff). No clock of their own: callers pass `now`, so
// unit tests drive them without sleeping.
#ifndef PGCDC_STREAM_LIVENESS_H_
#define PGCDC_STREAM_LIVENESS_H_

#include <cstdint>
#include <optional>
#include <random>

#include "absl/time/time.h"
#include "pgcdc/options.h"

namespace pgcdc::internal {

// PostgreSQL's walreceiver rule (wal_receiver_timeout, walreceiver.c): after half the
// timeout without a message, ask the server for a reply (it answers a status update
// with reply requested by a keepalive); after all of it, the connection is dead.
// Silence counts only while the stream is waiting for the server: between Suspend()
// and Resume() the application was busy and the socket was not read.
class ReceiveWatchdog {
 public:
  enum class Action { kNone, kPing, kDead };

  // Zero timeout: never kPing or kDead.
  ReceiveWatchdog(absl::Duration timeout, absl::Time now) : timeout_(timeout), heard_(now) {}

  void Heard(absl::Time now) {
    heard_ = std::max(heard_, now);
    pinged_ = false;
  }
  void Suspend(absl::Time now) {
    if (!suspended_) suspended_at_ = now;
    suspended_ = true;
  }
  // The busy time between Suspend() and now is not silence.
  void Resume(absl::Time now) {
    if (suspended_ && now > suspended_at_) heard_ += now - suspended_at_;
    suspended_ = false;
  }

  // kPing once per silent spell, at half the timeout; kDead from the full timeout on.
  Action Check(absl::Time now) {
    if (timeout_ <= absl::ZeroDuration()) return Action::kNone;
    const absl::Duration silent = now - heard_;
    if (silent >= timeout_) return Action::kDead;
    if (silent >= timeout_ / 2 && !pinged_) {
      pinged_ = true;
      return Action::kPing;
    }
    return Action::kNone;
  }
  // When Check() must run next.
  absl::Time NextCheck() const {
    if (timeout_ <= absl::ZeroDuration()) return absl::InfiniteFuture();
    return heard_ + (pinged_ ? timeout_ : timeout_ / 2);
  }
  absl::Duration silent(absl::Time now) const { return now - heard_; }

 private:
  absl::Duration timeout_;
  absl::Time heard_;
  bool pinged_ = false;
  bool suspended_ = false;
  absl::Time suspended_at_;
};

// Exponential backoff with jitter, bounded by attempts and time per fault, and by a
// hard deadline (max_duration).
class Backoff {
 public:
  Backoff(const ReconnectPolicy& policy, uint64_t seed) : policy_(policy), random_(seed) {}

  // A new fault at `now` (the first after a working session).
  void StartFault(absl::Time now) {
    fault_started_ = now;
    attempts_ = 0;
  }
  // The wait before the next attempt, or nullopt when the policy is exhausted: too
  // many attempts, or the attempt would start after max_elapsed or `hard_deadline`.
  std::optional<absl::Duration> NextDelay(absl::Time now, absl::Time hard_deadline) {
    if (!policy_.enabled || attempts_ >= policy_.max_attempts) return std::nullopt;
    absl::Duration ceiling = policy_.initial_backoff;
    for (int i = 0; i < attempts_ && ceiling < policy_.max_backoff; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, policy_.max_backoff);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const absl::Duration delay = ceiling * jitter(random_);
    const absl::Time at = now + delay;
    if (at > fault_started_ + policy_.max_elapsed || at > hard_deadline) return std::nullopt;
    ++attempts_;
    return delay;
  }
  int attempts() const { return attempts_; }
  absl::Time fault_started() const { return fault_started_; }

 private:
  ReconnectPolicy policy_;
  std::mt19937_64 random_;
  absl::Time fault_started_;
  int attempts_ = 0;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_STREAM_LIVENESS_H_
