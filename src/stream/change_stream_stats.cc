// ChangeStream::stats(): the assembler's memory and spill counters plus what was
// handed to the application. Every counter is atomic, so stats() takes no lock and
// never waits for a Next() blocked in another thread.
#include "stream/change_stream_impl.h"

namespace pgcdc::internal {
namespace {

// A transaction ends with the record marked last of it, except for records that are
// not transactions: snapshot rows, non-transactional messages, and the outcome of a
// prepared transaction already counted at its PREPARE.
bool EndsTransaction(const Change& change) {
  if (!change.last_in_transaction()) return false;
  switch (change.op()) {
    case Operation::kRead:
    case Operation::kCommitPrepared:
    case Operation::kRollbackPrepared:
      return false;
    case Operation::kMessage:
      return change.message_transactional();
    default:
      return true;
  }
}

// One writer (the thread calling Next()): a plain store, no locked read-modify-write
// on the per-change path.
void Increment(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

void ChangeStreamImpl::CountDelivered(const Change& change) {
  Increment(changes_delivered_);
  if (EndsTransaction(change)) Increment(transactions_delivered_);
}

// assembler_ is guarded by mu_, but stats() reads only its atomic copies of the
// counters (ChangeAssembler::stats()).
StreamStats ChangeStreamImpl::stats() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const AssemblerStats assembled = assembler_.stats();
  StreamStats stats;
  stats.buffered_bytes = assembled.buffered_bytes;
  stats.peak_buffered_bytes = assembled.peak_buffered_bytes;
  stats.spill_file_bytes = assembled.spill_file_bytes;
  stats.spilled_bytes_total = assembled.spilled_bytes_total;
  stats.transactions_spilled = assembled.transactions_spilled;
  stats.changes_delivered = changes_delivered_.load(std::memory_order_relaxed);
  stats.transactions_delivered = transactions_delivered_.load(std::memory_order_relaxed);
  stats.reconnects = reconnects_.load(std::memory_order_relaxed);
  stats.redelivered_skipped = redelivered_skipped_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace pgcdc::internal
