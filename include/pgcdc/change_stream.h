#ifndef PGCDC_CHANGE_STREAM_H_
#define PGCDC_CHANGE_STREAM_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pgcdc/change.h"
#include "pgcdc/lsn.h"
#include "pgcdc/options.h"
#include "pgcdc/stats.h"

namespace pgcdc {
namespace internal {
class ChangeStreamImpl;
}  // namespace internal

// A ChangeStream reads decoded changes from one logical replication slot (pgoutput),
// whole transactions in commit order, and reports acknowledged progress to the server.
//
// Example:
//
//   absl::StatusOr<pgcdc::ChangeStream> stream = pgcdc::ChangeStream::Open(options);
//   if (!stream.ok()) return stream.status();
//   while (true) {
//     absl::StatusOr<std::optional<pgcdc::Change>> change = stream->Next();
//     if (!change.ok()) return change.status();
//     if (!*change) break;                        // a stop condition was met
//     if (absl::Status s = sink.Write(**change); !s.ok()) return s;
//     stream->Ack(**change);                      // handled, durably
//   }
//   return stream->Close();
//
// Progress: Ack() only records a position. Every `status_interval`, and in Close(),
// on_checkpoint is called with the acknowledged position and, once it returns OK, the
// position is sent to the server, which then moves the slot. It never moves backwards.
// After a crash every change after the last checkpoint is delivered again, with the
// same ids.
//
// Threads: callbacks run on the thread calling Next(), Poll() or Close(). While the
// application is busy between calls, an internal thread keeps the server from timing
// the connection out (wal_sender_timeout) by reporting the already-confirmed position;
// it never calls user code except the log sink.
//
// Thread safety: not thread-safe, except Cancel() and stats().
class ChangeStream {
 public:
  // Connects, checks the server, slot and publications, and starts replication.
  static absl::StatusOr<ChangeStream> Open(StreamOptions options);

  ChangeStream(ChangeStream&&) noexcept;
  ChangeStream& operator=(ChangeStream&&) noexcept;
  // Closes (which may call on_checkpoint: keep what it uses alive until then); errors
  // are logged, not reported.
  ~ChangeStream();

  // Blocks until the next change. std::nullopt once the stream has ended (a stop
  // condition was met, or Cancel() was called). An error ends the stream.
  absl::StatusOr<std::optional<Change>> Next();

  // Waits at most `timeout`. std::nullopt means no change yet, or the end: check done().
  absl::StatusOr<std::optional<Change>> Poll(absl::Duration timeout);

  // Batch form of Poll(), for consumers that hand changes on in groups (the Python
  // binding does): appends up to `max_changes` changes to `*out`, waiting at most
  // `timeout` for the first and then taking only what is ready without waiting. The
  // changes and their order are exactly what Poll() would return, with less
  // per-change overhead. Appending none means a timeout or the end: check done(). On
  // an error, which ends the stream, the changes appended before it stay in `*out`.
  absl::Status PollBatch(absl::Duration timeout, size_t max_changes, std::vector<Change>* out);

  bool done() const;

  // Records that `change` and everything delivered before it are durably handled.
  void Ack(const Change& change);
  // Records that everything up to `lsn` is durably handled: pass the end_lsn of the
  // last handled transaction. Positions past the last delivered change are clamped to
  // it.
  void Ack(Lsn lsn);

  // Reports acknowledged progress (after on_checkpoint), then disconnects.
  absl::Status Close();

  // Makes a blocked Next()/Poll() return soon with the end of the stream (also between
  // the changes of a buffered transaction). Callable from any thread and from a signal
  // handler, but not concurrently with the stream's destruction.
  void Cancel();

  Lsn acked_lsn() const;            // what the application acknowledged (flushable)
  Lsn confirmed_flush_lsn() const;  // last position reported to the server

  // Memory, spill and delivery counters (pgcdc/stats.h). Callable from any thread,
  // also while Next() blocks in another; each value is current, the set is not one
  // instant's snapshot.
  StreamStats stats() const;

 private:
  explicit ChangeStream(std::unique_ptr<internal::ChangeStreamImpl> impl);
  std::unique_ptr<internal::ChangeStreamImpl> impl_;
};

}  // namespace pgcdc

#endif  // PGCDC_CHANGE_STREAM_H_
