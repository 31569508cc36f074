#include <iostream>

#include "args.h"
#include "commands.h"
#include "connection/preflight.h"

namespace pgcdc::cli {

int RunCheck(int argc, char** argv) {
  absl::StatusOr<Args> args = Args::Parse(argc, argv, {"dsn", "publication"}, {});
  if (!args.ok() || !args->Get("dsn")) {
    std::cerr << "pgcdc check: " << (args.ok() ? "--dsn is required" : args.status().message())
              << "\n";
    return 2;
  }
  absl::StatusOr<std::vector<internal::Finding>> findings =
      internal::RunPreflight(*args->Get("dsn"), args->GetAll("publication"));
  if (!findings.ok()) {
    std::cerr << "pgcdc check: " << findings.status().message() << "\n";
    return 2;
  }
  int problems = 0;
  for (const internal::Finding& f : *findings) {
    using Severity = internal::Finding::Severity;
    const char* tag = f.severity == Severity::kOk        ? "ok     "
                      : f.severity == Severity::kWarning ? "warning"
                                                         : "PROBLEM";
    problems += f.severity == Severity::kProblem;
    std::cout << tag << "  " << f.check << ": " << f.detail << "\n";
    if (!f.fix.empty()) std::cout << "         fix: " << f.fix << "\n";
  }
  std::cout << (problems == 0 ? "ready for logical replication\n"
                              : std::to_string(problems) + " problem(s) found\n");
  return problems == 0 ? 0 : 1;
}

}  // namespace pgcdc::cli
