#ifndef PGCDC_INTERNAL_LOGGING_H_
#define PGCDC_INTERNAL_LOGGING_H_

#include <string_view>

#include "pgcdc/logging.h"

namespace pgcdc::internal {

// Sends a log line to the application's sink, or, without one, warnings and errors to
// stderr through spdlog (a private dependency: no spdlog types in public headers).
void Log(const LogSink& sink, LogLevel level, std::string_view message);

}  // namespace pgcdc::internal

#endif  // PGCDC_INTERNAL_LOGGING_H_
