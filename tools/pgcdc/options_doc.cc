#include "options_doc.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "internal/strings.h"
#include "pgcdc/option_table.h"

namespace pgcdc::cli {
namespace {

using internal::Sv;

constexpr char kIntro[] =
    "# Stream options\n"
    "\n"
    "<!-- Generated from src/option_table.cc by tests/unit/cli_args_test.cc:\n"
    "     PGCDC_UPDATE_DOCS=1 build/tests/cli_args_test rewrites it. -->\n"
    "\n"
    "One table defines the options of a stream (`src/option_table.cc`, readable at run\n"
    "time as `pgcdc::StreamOptionTable()`). The C++ `pgcdc::StreamOptions` fields, the\n"
    "keywords of Python's `pgcdc.open_stream()` and the flags of `pgcdc stream` are its\n"
    "three spellings, and tests fail when they disagree. Callbacks (`on_checkpoint`,\n"
    "`on_snapshot_progress`, `log_sink`) are typed per language and not in the table.\n"
    "\n"
    "Units, one convention per layer:\n"
    "\n"
    "| type | C++ | Python | CLI and `pgcdc::SetOption` text |\n"
    "|---|---|---|---|\n"
    "| duration | `absl::Duration` | seconds (`float`) or `datetime.timedelta` | "
    "`200us`, `2ms`, `30s`, `5m`, or a number of seconds |\n"
    "| size | `size_t` bytes | `int` bytes | `1048576`, `64MiB` or `64MB` (both 2^20, as "
    "PostgreSQL's settings) |\n"
    "| LSN | `std::optional<pgcdc::Lsn>` | `int`, `'X/Y'` or `pgcdc.Lsn` | `X/Y` |\n"
    "| unset | `std::nullopt` | `None` | flag left out (or `auto`) |\n"
    "| switch | `bool` | `bool` | `--flag`, `--no-flag`, `--flag=false` |\n"
    "| list | `std::vector<std::string>` | a sequence of `str` | the flag repeated |\n"
    "\n";

std::string TypeCell(const OptionInfo& o) {
  switch (o.type) {
    case OptionType::kString:
      return "string";
    case OptionType::kStringList:
      return "list";
    case OptionType::kBool:
      return "switch";
    case OptionType::kOptionalBool:
      return "switch or unset";
    case OptionType::kCount:
      return "integer";
    case OptionType::kBytes:
      return "size";
    case OptionType::kDuration:
      return "duration";
    case OptionType::kOptionalDuration:
      return "duration or unset";
    case OptionType::kLsn:
      return "LSN or unset";
    case OptionType::kChoice:  // a | would end the table cell, even in a code span
      return absl::StrCat("`", absl::StrReplaceAll(Sv(o.choices), {{"|", "`, `"}}), "`");
  }
  return "";
}

}  // namespace

std::string OptionsMarkdown() {
  const StreamOptions defaults;
  std::string out = kIntro;
  absl::StrAppend(&out, "| Python keyword | C++ field | CLI flag | type | default |\n",
                  "|---|---|---|---|---|\n");
  for (const OptionInfo& o : StreamOptionTable()) {
    std::string value = FormatOptionValue(o, *GetOption(defaults, o.name));
    if (value.empty()) {
      value = o.type == OptionType::kString       ? "\"\""
              : o.type == OptionType::kStringList ? "[]"
                                                  : "unset";
    }
    absl::StrAppend(&out, "| [`", Sv(o.name), "`](#", Sv(o.name), ") | `", Sv(o.field), "` | `--",
                    Sv(o.flag), "` | ", TypeCell(o), " | `", value, "` |\n");
  }
  for (const OptionInfo& o : StreamOptionTable()) {
    absl::StrAppend(&out, "\n### ", Sv(o.name), "\n\n", Sv(o.help), "\n");
  }
  return out;
}

}  // namespace pgcdc::cli
