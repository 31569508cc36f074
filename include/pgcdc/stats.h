// Counters of a ChangeStream (ChangeStream::stats()): how much of the transactions not
// yet delivered sits in memory and in spill files, and how much was delivered.
#ifndef PGCDC_STATS_H_
#define PGCDC_STATS_H_

#include <cstdint>

namespace pgcdc {

struct StreamStats {
  // Bytes of transactions not yet delivered held in memory: the raw messages of
  // streamed (and prepared) transactions, which StreamOptions::max_buffered_bytes
  // bounds by spilling, plus the decoded changes of the transaction being received,
  // which it bounds by delivering them early (one budget for both: the buffered
  // messages spill first). Not counted: up to 4096 decoded changes
  // waiting for Next().
  uint64_t buffered_bytes = 0;
  uint64_t peak_buffered_bytes = 0;  // the highest buffered_bytes seen between messages
  // Bytes now in spill files (back to 0 once the spilled transactions were delivered
  // or aborted), and all bytes ever written to them.
  uint64_t spill_file_bytes = 0;
  uint64_t spilled_bytes_total = 0;
  // Transactions that moved to a spill file (one counted again if the server re-sends
  // it after a reconnect and it spills again).
  uint64_t transactions_spilled = 0;
  // Records returned by Next()/Poll(), snapshot rows included.
  uint64_t changes_delivered = 0;
  // Transactions whose last change was returned (a prepared transaction delivered at
  // PREPARE counts then; its outcome record, snapshot rows and non-transactional
  // messages do not count).
  uint64_t transactions_delivered = 0;
  // Sessions re-established after a retryable fault (StreamOptions::reconnect), and
  // changes the server sent again after one that were skipped because this stream
  // had returned them already.
  uint64_t reconnects = 0;
  uint64_t redelivered_skipped = 0;
};

}  // namespace pgcdc

#endif  // PGCDC_STATS_H_
