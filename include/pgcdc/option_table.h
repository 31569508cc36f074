// The stream options as data: one table (name, type, unit, default, help) from which
// the CLI builds its flags and --help, the Python package its open_stream() keywords
// and docstring, and doc/options.md the reference. A test fails when the layers and
// StreamOptions disagree. Like librdkafka's property table, it also lets an
// application set options by name from text (a config file, the environment).
#ifndef PGCDC_OPTION_TABLE_H_
#define PGCDC_OPTION_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "pgcdc/lsn.h"
#include "pgcdc/options.h"

namespace pgcdc {

// What an option holds. Each layer converts per type, never per option.
enum class OptionType {
  kString,
  kStringList,        // the CLI flag is repeated, once per element
  kBool,              // CLI: --flag, --no-flag, --flag=true|false
  kOptionalBool,      // unset: decided at connect time (text "auto")
  kCount,             // an integer
  kBytes,             // text: 1048576, 64MiB or 64MB (both 2^20, as PostgreSQL's GUCs)
  kDuration,          // Python: seconds; text: 200us, 2ms, 30s, 5m, or a number of seconds
  kOptionalDuration,  // as kDuration; unset: no limit, or chosen at connect time
  kLsn,               // text: X/Y; unset: the slot's own position
  kChoice,            // one of OptionInfo::choices, by name
};

// An option's value in the form its type takes: monostate is "unset" (only the
// optional types and kLsn), int64_t serves kCount and kBytes, std::string kString and
// kChoice.
using OptionValue = std::variant<std::monostate, bool, int64_t, absl::Duration, Lsn, std::string,
                                 std::vector<std::string>>;

struct OptionInfo {
  std::string_view name;   // the Python keyword, and the name SetOption takes
  std::string_view flag;   // the CLI flag without "--"
  std::string_view field;  // the StreamOptions member ("reconnect.max_attempts")
  OptionType type;
  std::string_view choices;  // kChoice: "a|b|c"
  std::string_view help;     // what it does, for every layer
};

// Every option, in the order the docs present them. Callbacks (on_checkpoint,
// on_snapshot_progress, log_sink) are not options of this kind: they stay typed.
absl::Span<const OptionInfo> StreamOptionTable();
// Null when there is no option of that name (or, with by_flag, that CLI flag).
const OptionInfo* FindStreamOption(std::string_view name, bool by_flag = false);

// "a count", "bytes", "seconds", ...: the unit a layer states for the type.
std::string_view OptionTypeName(OptionType type);

// Sets `name` from a value of its type; kInvalidArgument names the option and what it
// takes. Ranges are Validate()'s business.
absl::Status SetOption(StreamOptions& options, std::string_view name, const OptionValue& value);
// The value `name` has in `options` (in default StreamOptions: its default).
absl::StatusOr<OptionValue> GetOption(const StreamOptions& options, std::string_view name);

// Text in the forms OptionType describes ("" is unset for the optional types; a list
// element stands alone: the caller collects repeated flags).
absl::StatusOr<OptionValue> ParseOptionText(const OptionInfo& option, std::string_view text);
// The inverse, as the docs show defaults ("" for unset, lists comma-joined).
std::string FormatOptionValue(const OptionInfo& option, const OptionValue& value);

}  // namespace pgcdc

#endif  // PGCDC_OPTION_TABLE_H_
