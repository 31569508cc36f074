// One memory budget over the raw messages that streamed and prepared transactions
// keep (FrameStore): what is in memory and in spill files now, and what spilled ever.
// The stores belong to StreamedTransactions, PreparedTransactions and the replay;
// every change to one goes through Account() so that the totals stay exact.
#ifndef PGCDC_ASSEMBLY_FRAME_ACCOUNTING_H_
#define PGCDC_ASSEMBLY_FRAME_ACCOUNTING_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "assembly/frame_store.h"

namespace pgcdc::internal {

class FrameAccounting {
 public:
  // Runs `op` (which may append, spill or truncate) on `store` and accounts for what
  // it changed in memory and on disk.
  template <typename Op>
  absl::Status Account(FrameStore& store, Op op) {
    const size_t memory = store.memory_bytes();
    const uint64_t file = store.file_bytes();
    const uint64_t written = store.bytes_written();
    const bool spilled = store.spilled();
    absl::Status status = op();
    buffered_bytes_ = buffered_bytes_ - memory + store.memory_bytes();
    spill_file_bytes_ = spill_file_bytes_ - file + store.file_bytes();
    spilled_bytes_total_ += store.bytes_written() - written;
    if (!spilled && store.spilled()) ++transactions_spilled_;
    return status;
  }
  // `store` is about to be dropped: it no longer counts.
  void Release(const FrameStore& store) {
    buffered_bytes_ -= store.memory_bytes();
    spill_file_bytes_ -= store.file_bytes();
  }
  // A new session: nothing counts now except what Recount() adds back; the totals of
  // what ever spilled stay.
  void ClearCurrent() {
    buffered_bytes_ = 0;
    spill_file_bytes_ = 0;
  }
  void Recount(const FrameStore& store) {
    buffered_bytes_ += store.memory_bytes();
    spill_file_bytes_ += store.file_bytes();
  }

  size_t buffered_bytes() const { return buffered_bytes_; }
  uint64_t spill_file_bytes() const { return spill_file_bytes_; }
  uint64_t spilled_bytes_total() const { return spilled_bytes_total_; }
  uint64_t transactions_spilled() const { return transactions_spilled_; }

 private:
  size_t buffered_bytes_ = 0;
  uint64_t spill_file_bytes_ = 0;
  uint64_t spilled_bytes_total_ = 0;
  uint64_t transactions_spilled_ = 0;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_ASSEMBLY_FRAME_ACCOUNTING_H_
