// The subcommands' flags: "--flag value", "--flag=value", switches ("--flag",
// "--no-flag"), repeated flags, --help, and the closest valid flag named when one is
// unknown. absl's flags library is not used for this: its flags are process-global and
// declared at compile time, while each subcommand here has its own flags and those of
// the stream options come from a table at run time (pgcdc/option_table.h). Values are
// parsed by the library's own text forms (ParseOptionText), the same for every layer.
#ifndef PGCDC_TOOLS_ARGS_H_
#define PGCDC_TOOLS_ARGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pgcdc/option_table.h"

namespace pgcdc::cli {

struct FlagSpec {
  std::string flag;        // without "--"
  std::string value_name;  // empty: a switch (--flag, --no-flag, --flag=true|false)
  std::string help;
  std::string default_text;  // shown in --help when not empty
  // A deprecated spelling: its value, with `value_suffix` appended, goes to `renamed_to`.
  std::string renamed_to;
  std::string value_suffix;
};

// One flag per stream option (pgcdc::StreamOptionTable()).
std::vector<FlagSpec> StreamOptionFlags();

class Args {
 public:
  // Fails on an unknown flag (naming the closest one), a missing value or a stray
  // argument. "--help" or "-h" anywhere sets help() and skips the other checks.
  static absl::StatusOr<Args> Parse(int argc, char** argv, const std::vector<FlagSpec>& specs);

  bool help() const { return help_; }
  bool Has(const std::string& flag) const { return values_.contains(flag); }
  // The last value given (a switch: "true" or "false").
  std::optional<std::string> Get(const std::string& flag) const;
  std::vector<std::string> GetAll(const std::string& flag) const;
  // The deprecation warnings to print (one per deprecated flag used).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  absl::flat_hash_map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> warnings_;
  bool help_ = false;
};

// Sets every stream option given on the command line; kInvalidArgument names the flag.
absl::Status ApplyStreamOptionFlags(const Args& args, StreamOptions& options);

// The flag in `specs` nearest to `flag` by edit distance, or "" when none is close.
std::string ClosestFlag(std::string_view flag, const std::vector<FlagSpec>& specs);

// `pgcdc COMMAND --help`: the synopsis, what it does, and every flag with its help
// and default, wrapped to 80 columns.
std::string Usage(std::string_view synopsis, std::string_view about,
                  const std::vector<FlagSpec>& specs);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_ARGS_H_
