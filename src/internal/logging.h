#ifndef PGCDC_INTERNAL_LOGGING_H_
#define PGCDC_INTERNAL_LOGGING_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "pgcdc/logging.h"

namespace pgcdc::internal {

// Sends a log line to the application's sink, or, without one, warnings and errors to
// stderr through spdlog (a private dependency: no spdlog types in public headers).
void Log(const LogSink& sink, LogLevel level, std::string_view message);

// Holds log lines written while the stream lock is held, for the application's sink
// to receive after it is released: user code never runs under that lock, which the
// keepalive guard needs to answer the server (wal_sender_timeout).
class DeferredLog {
 public:
  explicit DeferredLog(LogSink sink) : sink_(std::move(sink)) {}
  // A sink that only queues (thread-safe); valid while `log` lives.
  static LogSink QueueTo(std::shared_ptr<DeferredLog> log);
  // Hands the queued lines to the application's sink (or stderr), in order. Call
  // without the stream lock.
  void Flush();

 private:
  const LogSink sink_;
  absl::Mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pgcdc::internal

#endif  // PGCDC_INTERNAL_LOGGING_H_
