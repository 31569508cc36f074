// The Python callables the core calls back: on_checkpoint, on_snapshot_progress, and
// the log sink that forwards the core's log lines to logging.getLogger("pgcdc").
//
// Threads and the GIL: the binding releases the GIL around every core call that can
// block or call back (InsideCore marks those regions). on_checkpoint and
// on_snapshot_progress run on that same thread and take the GIL back for the Python
// call. Log lines are queued and forwarded
// by FlushLogs() once the call returns, on the calling thread; a line logged by the
// core's keepalive thread is forwarded from that thread, which then takes the GIL
// itself, unless the interpreter is exiting (SetExiting), when taking the GIL from a
// foreign thread could hang or kill it.
#ifndef PGCDC_BINDINGS_PYTHON_CALLBACKS_H_
#define PGCDC_BINDINGS_PYTHON_CALLBACKS_H_

#include <pybind11/pybind11.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "pgcdc/checkpoint.h"
#include "pgcdc/logging.h"
#include "pgcdc/snapshot.h"

namespace pgcdc::python {

// While alive, the current thread is inside a core call made for Python, with the GIL
// released.
class InsideCore {
 public:
  InsideCore();
  ~InsideCore();
  InsideCore(const InsideCore&) = delete;
  InsideCore& operator=(const InsideCore&) = delete;

 private:
  bool previous_;
};

class Callbacks {
 public:
  // `on_checkpoint`: None or callable(slot_name: str, flush_lsn: int, time_us: int).
  // `on_snapshot_progress`: None or callable(tables: list of tuples (schema, table,
  // rows_done, bytes_done, rows_estimate, bytes_estimate, done)).
  // `log`: callable(level: int, message: str), e.g. logging.Logger.log.
  // REQUIRES: the GIL is held (also for destruction).
  Callbacks(pybind11::object on_checkpoint, pybind11::object on_snapshot_progress,
            pybind11::object log);
  ~Callbacks();

  // std::function adapters for StreamOptions (empty without a Python callable); they
  // keep `self` alive.
  static CheckpointCallback CheckpointFor(const std::shared_ptr<Callbacks>& self);
  static SnapshotProgressCallback SnapshotProgressFor(const std::shared_ptr<Callbacks>& self);
  static LogSink LogSinkFor(const std::shared_ptr<Callbacks>& self);

  // REQUIRE the GIL. FlushLogs() drops the lines once Python is exiting.
  void FlushLogs();
  bool has_pending_error() const { return pending_.has_value(); }
  // Re-raises, as the very same exception object, what a callback raised, if one did.
  void ThrowPendingError();

  // From Python's atexit: no more GIL acquisition from foreign threads.
  static void SetExiting();

 private:
  absl::Status OnCheckpoint(const Checkpoint& checkpoint);
  void OnSnapshotProgress(const std::vector<TableSnapshotProgress>& tables);
  void OnLog(LogLevel level, std::string_view message);
  bool PythonGone() const;

  pybind11::object on_checkpoint_;
  pybind11::object on_snapshot_progress_;
  pybind11::object log_;
  std::optional<pybind11::error_already_set> pending_;  // guarded by the GIL

  static constexpr size_t kMaxQueuedLines = 1000;
  absl::Mutex mu_;
  std::deque<std::pair<LogLevel, std::string>> lines_ ABSL_GUARDED_BY(mu_);
  size_t dropped_lines_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_CALLBACKS_H_
