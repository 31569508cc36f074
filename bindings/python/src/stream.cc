#include "stream.h"

#include <pybind11/stl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callbacks.h"
#include "change_batch.h"
#include "change_object.h"
#include "errors.h"
#include "options.h"
#include "pgcdc/change_stream.h"
#include "pgcdc/options.h"
#include "pgcdc/snapshot.h"

namespace py = pybind11;

namespace pgcdc::python {
namespace {

// One GIL-released wait lasts this long before signal handlers get a chance to run:
// Ctrl-C must interrupt a blocking iteration within 0.5 s.
constexpr absl::Duration kWaitSlice = absl::Milliseconds(100);

class Stream {
 public:
  Stream(std::shared_ptr<Callbacks> callbacks, ChangeStream stream)
      : callbacks_(std::move(callbacks)), stream_(std::move(stream)) {}
  ~Stream();

  // `options`: {keyword: value} from pgcdc.open_stream (options.h: OptionsFromDict);
  // the callbacks may be None.
  static std::unique_ptr<Stream> Open(const py::dict& options, py::object on_checkpoint,
                                      py::object on_snapshot_progress, py::object log);

  // An iterator over up to `max_changes` changes (change_batch.h): waits for the
  // first, then takes only what is ready. None once the stream has ended cleanly.
  py::object NextBatch(size_t max_changes);
  void AckChange(py::handle change);
  void AckLsn(uint64_t lsn);
  void Close();
  void Cancel() { stream_->Cancel(); }  // thread-safe, and never blocks

  bool done() const { return stream_->done(); }
  bool closed() const { return closed_; }
  uint64_t acked_lsn() const { return stream_->acked_lsn().value(); }
  uint64_t confirmed_flush_lsn() const { return stream_->confirmed_flush_lsn().value(); }
  // Lock-free in the core: no CoreLock, also while another thread iterates.
  py::dict stats() const;

 private:
  // Serializes the core calls (the core stream is not thread-safe), letting the GIL go
  // while it waits: the thread holding core_mu_ may be waiting for the GIL.
  class CoreLock {
   public:
    explicit CoreLock(std::recursive_mutex& mu) : mu_(mu) {
      if (!mu_.try_lock()) {
        py::gil_scoped_release nogil;
        mu_.lock();
      }
    }
    ~CoreLock() { mu_.unlock(); }

   private:
    std::recursive_mutex& mu_;
  };

  // Marks the thread that is inside Poll()/Close(), where on_checkpoint runs.
  class Busy {
   public:
    explicit Busy(std::atomic<std::thread::id>& busy) : busy_(busy) {
      busy_.store(std::this_thread::get_id());
    }
    ~Busy() { busy_.store(std::thread::id()); }

   private:
    std::atomic<std::thread::id>& busy_;
  };

  void RejectReentry(const char* what) const;
  void RejectClosed() const;

  std::shared_ptr<Callbacks> callbacks_;
  std::optional<ChangeStream> stream_;
  // Recursive: on_checkpoint may call ack() on the thread that is inside Poll().
  std::recursive_mutex core_mu_;
  std::atomic<std::thread::id> busy_thread_{};
  absl::Status deferred_;  // ended the stream after a partial batch; raised next (GIL)
  bool closed_ = false;    // (GIL)
};

Stream::~Stream() {
  if (!stream_) return;
  {
    // Destroying the core stream closes it if close() was not called: that may run
    // on_checkpoint (which takes the GIL) and joins the keepalive thread (which may
    // be waiting for the GIL to log).
    py::gil_scoped_release nogil;
    InsideCore inside;
    std::lock_guard<std::recursive_mutex> lock(core_mu_);
    stream_.reset();
  }
  callbacks_->FlushLogs();
}

std::unique_ptr<Stream> Stream::Open(const py::dict& options, py::object on_checkpoint,
                                     py::object on_snapshot_progress, py::object log) {
  StreamOptions core_options = OptionsFromDict(options);
  auto callbacks = std::make_shared<Callbacks>(std::move(on_checkpoint),
                                               std::move(on_snapshot_progress), std::move(log));
  core_options.on_checkpoint = Callbacks::CheckpointFor(callbacks);
  core_options.on_snapshot_progress = Callbacks::SnapshotProgressFor(callbacks);
  core_options.log_sink = Callbacks::LogSinkFor(callbacks);

  absl::StatusOr<ChangeStream> stream;
  {
    py::gil_scoped_release nogil;
    InsideCore inside;
    stream = ChangeStream::Open(std::move(core_options));
  }
  callbacks->FlushLogs();
  if (!stream.ok()) ThrowStatus(stream.status());
  return std::make_unique<Stream>(std::move(callbacks), *std::move(stream));
}

py::object Stream::NextBatch(size_t max_changes) {
  RejectReentry("iterate over");
  RejectClosed();
  // What a callback raised, or the error that ended the stream, during the previous
  // batch (raised after handing out that batch). A Python exception comes first, as
  // it was raised; it is also the cause of an on_checkpoint failure's status.
  if (callbacks_->has_pending_error()) {
    deferred_ = absl::OkStatus();
    callbacks_->ThrowPendingError();
  }
  if (!deferred_.ok()) ThrowStatus(std::exchange(deferred_, absl::OkStatus()));
  std::vector<Change> batch;
  batch.reserve(max_changes < 1024 ? max_changes : 1024);
  while (true) {
    absl::Status status;
    bool done = false;
    {
      CoreLock lock(core_mu_);
      py::gil_scoped_release nogil;
      InsideCore inside;
      Busy busy(busy_thread_);
      // Waits for the first change, then takes only what is ready: a batch never
      // waits for more changes once it has one.
      status = stream_->PollBatch(kWaitSlice, max_changes, &batch);
      done = stream_->done();
    }
    callbacks_->FlushLogs();
    if (!batch.empty()) {
      // Hand out what arrived before the error; raise it on the next call.
      if (!status.ok()) deferred_ = status;
      PyObject* iterator = NewChangeBatch(std::move(batch));
      if (iterator == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(iterator);
    }
    callbacks_->ThrowPendingError();  // a callback's own exception, unchanged
    if (!status.ok()) ThrowStatus(status);
    if (done) return py::none();
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C
  }
}

void Stream::AckChange(py::handle change) {
  const Change* record = ChangeFromObject(change.ptr());
  if (record == nullptr) {
    throw py::type_error("ack() takes a pgcdc.Change or an LSN (int, 'X/Y' text or pgcdc.Lsn)");
  }
  RejectClosed();
  CoreLock lock(core_mu_);
  stream_->Ack(*record);
}

void Stream::AckLsn(uint64_t lsn) {
  RejectClosed();
  CoreLock lock(core_mu_);
  stream_->Ack(Lsn(lsn));
}

void Stream::Close() {
  RejectReentry("close");
  if (closed_) return;
  absl::Status status;
  {
    CoreLock lock(core_mu_);
    py::gil_scoped_release nogil;
    InsideCore inside;
    Busy busy(busy_thread_);
    status = stream_->Close();
  }
  closed_ = true;
  callbacks_->FlushLogs();
  callbacks_->ThrowPendingError();
  if (!status.ok()) ThrowStatus(status);
}

py::dict Stream::stats() const {
  const StreamStats s = stream_->stats();
  py::dict d;
  d["buffered_bytes"] = s.buffered_bytes;
  d["peak_buffered_bytes"] = s.peak_buffered_bytes;
  d["spill_file_bytes"] = s.spill_file_bytes;
  d["spilled_bytes_total"] = s.spilled_bytes_total;
  d["transactions_spilled"] = s.transactions_spilled;
  d["changes_delivered"] = s.changes_delivered;
  d["transactions_delivered"] = s.transactions_delivered;
  d["reconnects"] = s.reconnects;
  d["redelivered_skipped"] = s.redelivered_skipped;
  return d;
}

void Stream::RejectReentry(const char* what) const {
  if (busy_thread_.load() == std::this_thread::get_id()) {
    throw std::runtime_error(std::string("cannot ") + what +
                             " a pgcdc stream from its own on_checkpoint callback");
  }
}

void Stream::RejectClosed() const {
  if (closed_) throw py::value_error("the pgcdc stream is closed");
}

}  // namespace

void RegisterStream(py::module_& m) {
  py::class_<Stream>(m, "Stream")
      .def(py::init(&Stream::Open), py::arg("options"), py::arg("on_checkpoint"),
           py::arg("on_snapshot_progress"), py::arg("log"))
      .def("next_batch", &Stream::NextBatch, py::arg("max_changes"))
      .def("ack_change", &Stream::AckChange, py::arg("change"))
      .def("ack_lsn", &Stream::AckLsn, py::arg("lsn"))
      .def("close", &Stream::Close)
      .def("cancel", &Stream::Cancel)
      .def("stats", &Stream::stats)
      .def_property_readonly("done", &Stream::done)
      .def_property_readonly("closed", &Stream::closed)
      .def_property_readonly("acked_lsn", &Stream::acked_lsn)
      .def_property_readonly("confirmed_flush_lsn", &Stream::confirmed_flush_lsn);
}

}  // namespace pgcdc::python
