#include "internal/logging.h"

#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace pgcdc::internal {
namespace {

spdlog::logger& StderrLogger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("pgcdc");
    l->set_level(spdlog::level::warn);
    l->set_pattern("pgcdc %^%l%$: %v");
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void Log(const LogSink& sink, LogLevel level, std::string_view message) {
  if (sink) {
    sink(level, message);
    return;
  }
  StderrLogger().log(ToSpdlog(level), "{}", message);
}

LogSink DeferredLog::QueueTo(std::shared_ptr<DeferredLog> log) {
  return [log = std::move(log)](LogLevel level, std::string_view message) {
    absl::MutexLock lock(&log->mu_);
    log->lines_.emplace_back(level, std::string(message));
  };
}

void DeferredLog::Flush() {
  std::vector<std::pair<LogLevel, std::string>> lines;
  {
    absl::MutexLock lock(&mu_);
    if (lines_.empty()) return;
    lines.swap(lines_);
  }
  for (const auto& [level, message] : lines) Log(sink_, level, message);
}

}  // namespace pgcdc::internal
