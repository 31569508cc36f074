#include <iostream>

#include "args.h"
#include "commands.h"
#include "connection/preflight.h"

namespace pgcdc::cli {

int RunCheck(int argc, char** argv) {
  std::vector<FlagSpec> flags;
  for (const FlagSpec& spec : StreamOptionFlags()) {
    if (spec.flag == "dsn" || spec.flag == "publication") flags.push_back(spec);
  }
  absl::StatusOr<Args> args = Args::Parse(argc, argv, flags);
  if (args.ok() && args->help()) {
    std::cout << Usage("pgcdc check --dsn DSN [--publication NAME ...]",
                       "Preflight, before streaming: wal_level, the role's privileges, free "
                       "replication slots and WAL senders, and the replica identity of the "
                       "published tables. Each finding says what to change. Exits 1 when a "
                       "problem was found, 2 when the check could not run.",
                       flags);
    return 0;
  }
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
