#include "callbacks.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace py = pybind11;

namespace pgcdc::python {
namespace {

thread_local bool t_inside_core = false;
std::atomic<bool> g_exiting{false};

bool InterpreterFinalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

int PythonLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 10;
    case LogLevel::kInfo:
      return 20;
    case LogLevel::kWarning:
      return 30;
    case LogLevel::kError:
      return 40;
  }
  return 20;
}

py::str Text(std::string_view s) {
  // Server messages may carry bytes in another encoding: never fail on them.
  return py::reinterpret_steal<py::str>(
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

}  // namespace

InsideCore::InsideCore() : previous_(t_inside_core) { t_inside_core = true; }
InsideCore::~InsideCore() { t_inside_core = previous_; }

Callbacks::Callbacks(py::object on_checkpoint, py::object on_snapshot_progress, py::object log)
    : on_checkpoint_(std::move(on_checkpoint)),
      on_snapshot_progress_(std::move(on_snapshot_progress)),
      log_(std::move(log)) {}

Callbacks::~Callbacks() {
  // Members are destroyed after this body: drop the Python references here, under the
  // GIL (taken again in case the last owner let it go).
  py::gil_scoped_acquire gil;
  if (pending_) pending_->discard_as_unraisable("pgcdc: exception from on_checkpoint");
  pending_.reset();
  on_checkpoint_ = py::object();
  on_snapshot_progress_ = py::object();
  log_ = py::object();
}

CheckpointCallback Callbacks::CheckpointFor(const std::shared_ptr<Callbacks>& self) {
  if (self->on_checkpoint_.is_none()) return nullptr;
  return [self](const Checkpoint& checkpoint) { return self->OnCheckpoint(checkpoint); };
}

SnapshotProgressCallback Callbacks::SnapshotProgressFor(const std::shared_ptr<Callbacks>& self) {
  if (self->on_snapshot_progress_.is_none()) return nullptr;
  return [self](const std::vector<TableSnapshotProgress>& tables) {
    self->OnSnapshotProgress(tables);
  };
}

LogSink Callbacks::LogSinkFor(const std::shared_ptr<Callbacks>& self) {
  return [self](LogLevel level, std::string_view message) { self->OnLog(level, message); };
}

bool Callbacks::PythonGone() const { return g_exiting.load() || InterpreterFinalizing(); }

absl::Status Callbacks::OnCheckpoint(const Checkpoint& checkpoint) {
  // The slot must not move without the application's consent: refuse rather than call
  // into a dying interpreter.
  if (PythonGone()) {
    return absl::AbortedError("the Python interpreter is exiting; on_checkpoint not called");
  }
  py::gil_scoped_acquire gil;
  if (pending_) {  // on_snapshot_progress raised: that comes out first, slot unmoved
    return absl::AbortedError("a callback raised; on_checkpoint not called");
  }
  try {
    on_checkpoint_(Text(checkpoint.slot_name), checkpoint.flush_lsn.value(),
                   absl::ToUnixMicros(checkpoint.time));
    return absl::OkStatus();
  } catch (py::error_already_set& e) {
    std::string what = e.what();
    pending_.emplace(std::move(e));
    return absl::AbortedError(absl::StrCat("on_checkpoint raised ", what));
  }
}

void Callbacks::OnSnapshotProgress(const std::vector<TableSnapshotProgress>& tables) {
  if (PythonGone()) return;
  py::gil_scoped_acquire gil;
  if (pending_) return;  // already failed: raised once the core call returns
  try {
    py::list rows;
    for (const TableSnapshotProgress& t : tables) {
      rows.append(py::make_tuple(Text(t.schema), Text(t.table), t.rows_done, t.bytes_done,
                                 t.rows_estimate, t.bytes_estimate, t.done));
    }
    on_snapshot_progress_(rows);
  } catch (py::error_already_set& e) {
    // Progress reports cannot stop the core; the exception comes out of the iteration
    // when the current call returns.
    pending_.emplace(std::move(e));
  }
}

void Callbacks::OnLog(LogLevel level, std::string_view message) {
  {
    absl::MutexLock lock(&mu_);
    if (lines_.size() < kMaxQueuedLines) {
      lines_.emplace_back(level, std::string(message));
    } else {
      ++dropped_lines_;
    }
  }
  if (t_inside_core || PythonGone()) return;
  PyGILState_STATE state = PyGILState_Ensure();
  FlushLogs();
  PyGILState_Release(state);
}

void Callbacks::FlushLogs() {
  if (PythonGone()) return;  // logging may already be torn down
  std::deque<std::pair<LogLevel, std::string>> lines;
  size_t dropped;
  {
    absl::MutexLock lock(&mu_);
    lines.swap(lines_);
    dropped = std::exchange(dropped_lines_, 0);
  }
  if (log_.is_none()) return;
  if (dropped > 0) {
    lines.emplace_back(LogLevel::kWarning,
                       absl::StrCat(dropped, " log lines were dropped (logged too fast)"));
  }
  for (const auto& [level, message] : lines) {
    try {
      log_(PythonLevel(level), Text(message));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("pgcdc: forwarding a log line to logging");
    }
  }
}

void Callbacks::ThrowPendingError() {
  if (!pending_) return;
  py::error_already_set error = std::move(*pending_);
  pending_.reset();
  throw error;  // pybind11 restores the original exception object
}

void Callbacks::SetExiting() { g_exiting.store(true); }

}  // namespace pgcdc::python
