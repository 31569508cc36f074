// Acknowledged progress of a stream: what the application acknowledged, what may be
// confirmed to the server, and what was confirmed. Positions only move forward.
#ifndef PGCDC_STREAM_PROGRESS_H_
#define PGCDC_STREAM_PROGRESS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace pgcdc::internal {

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
  // hold back WAL (pgoutput.md §2.3, the "safe ack rule").
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
