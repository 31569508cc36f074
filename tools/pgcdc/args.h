// A small "--flag value" parser for the subcommands (absl flags are process-global and
// do not fit per-subcommand options).
#ifndef PGCDC_TOOLS_ARGS_H_
#define PGCDC_TOOLS_ARGS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pgcdc::cli {

class Args {
 public:
  // `flags` take a value; `switches` do not. Repeated flags accumulate.
  static absl::StatusOr<Args> Parse(int argc, char** argv, const std::set<std::string>& flags,
                                    const std::set<std::string>& switches);

  bool Has(const std::string& name) const { return values_.contains(name); }
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  absl::StatusOr<std::optional<absl::Duration>> GetSeconds(const std::string& name) const;
  // An integer of at least `min`; otherwise an error saying the flag takes `what`.
  absl::StatusOr<std::optional<int>> GetInt(const std::string& name, int min,
                                            const char* what) const;

 private:
  absl::flat_hash_map<std::string, std::vector<std::string>> values_;
};

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_ARGS_H_
