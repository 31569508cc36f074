// Acknowledged progress of a stream: what the application acknowledged, what may be
// confirmed to the server, and what was confirmed. Positions only move forward.
#ifndef PGCDC_STREAM_PROGRESS_H_
#define PGCDC_STREAM_PROGRESS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace pgcdc::internal {

// The order in which a stream returns changes, as a value: after a reconnect the
// server re-sends from the slot's position, and every change at or before the last
// one returned is skipped. Commit order makes (commit LSN, ordinal) grow, with one
// tie: a record positioned at the END of its WAL record (a non-transactional
// message, a ROLLBACK PREPARED outcome) shares that LSN with a transaction whose
// commit record starts right there, and is returned before it.
struct DeliveryKey {
  uint64_t commit_lsn = 0;
  bool after_record_end = true;  // false: positioned at the end of its own record
  uint32_t ordinal = 0;

  friend bool operator<(const DeliveryKey& a, const DeliveryKey& b) {
    if (a.commit_lsn != b.commit_lsn) return a.commit_lsn < b.commit_lsn;
    if (a.after_record_end != b.after_record_end) return !a.after_record_end;
    return a.ordinal < b.ordinal;
  }
  friend bool operator<=(const DeliveryKey& a, const DeliveryKey& b) { return !(b < a); }
};

class Progress {
 public:
  explicit Progress(uint64_t confirmed = 0)
      : delivered_(confirmed), acked_(confirmed), confirmed_(confirmed) {}

  // A change was handed to the application; acknowledging it may confirm `position`.
  void Delivered(uint64_t position) { delivered_ = std::max(delivered_, position); }

  // The application acknowledged up to `position`. Positions past what was delivered
  // are clamped: nothing the application has not seen can be confirmed.
  void Ack(uint64_t position) {
    const uint64_t p = std::min(position, delivered_);
    if (p > acked_.load(std::memory_order_relaxed)) acked_.store(p, std::memory_order_relaxed);
  }

  // A keepalive reported that the server has sent everything before `wal_end`.
  // REQUIRES: everything received before it was delivered. If it was also all
  // acknowledged, that position may be confirmed too, so an idle publication does not
  // hold back WAL (doc/protocol.md#status-updates, the "safe ack rule").
  void Keepalive(uint64_t wal_end) {
    if (acked_.load(std::memory_order_relaxed) < delivered_) return;
    delivered_ = std::max(delivered_, wal_end);
    Ack(wal_end);
  }

  void Confirmed(uint64_t position) {
    if (position > confirmed_.load(std::memory_order_relaxed)) {
      confirmed_.store(position, std::memory_order_relaxed);
    }
  }

  uint64_t delivered() const { return delivered_; }
  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t confirmed() const { return confirmed_.load(std::memory_order_relaxed); }
  bool has_unconfirmed() const { return acked() > confirmed(); }

 private:
  uint64_t delivered_;
  std::atomic<uint64_t> acked_;
  std::atomic<uint64_t> confirmed_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_STREAM_PROGRESS_H_
