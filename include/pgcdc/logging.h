#ifndef PGCDC_LOGGING_H_
#define PGCDC_LOGGING_H_

#include <functional>
#include <string_view>

namespace pgcdc {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Receives pgcdc's log lines. May be called from an internal thread (the keepalive
// guard) as well as from the thread calling ChangeStream methods: keep it thread-safe.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace pgcdc

#endif  // PGCDC_LOGGING_H_
