// `pgcdc check`: everything that keeps logical replication from working, each problem
// with its fix, found with ordinary SQL before anything is created.
#ifndef PGCDC_CONNECTION_PREFLIGHT_H_
#define PGCDC_CONNECTION_PREFLIGHT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pgcdc::internal {

struct Finding {
  enum class Severity { kOk, kWarning, kProblem };
  Severity severity = Severity::kOk;
  std::string check;   // "wal_level"
  std::string detail;  // what was found
  std::string fix;     // empty when nothing to do
};

// Connects with `dsn` (an ordinary connection) and runs every check. A connection
// failure is itself a finding; the status is an error only for a malformed DSN.
absl::StatusOr<std::vector<Finding>> RunPreflight(const std::string& dsn,
                                                  const std::vector<std::string>& publications);

}  // namespace pgcdc::internal

#endif  // PGCDC_CONNECTION_PREFLIGHT_H_
