#include "args.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "internal/strings.h"

namespace pgcdc::cli {
namespace {

using internal::Sv;

const FlagSpec* Find(std::string_view flag, const std::vector<FlagSpec>& specs) {
  for (const FlagSpec& s : specs) {
    if (s.flag == flag) return &s;
  }
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

absl::Status UnknownFlag(std::string_view flag, const std::vector<FlagSpec>& specs) {
  std::string closest = ClosestFlag(flag, specs);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown option --", Sv(flag),
      closest.empty() ? std::string("") : absl::StrCat("; did you mean --", closest, "?"),
      " (--help lists the options)"));
}

std::string ValueName(const OptionInfo& o) {
  switch (o.type) {
    case OptionType::kBool:
    case OptionType::kOptionalBool:
      return "";
    case OptionType::kStringList:
      return "NAME";
    case OptionType::kCount:
      return "N";
    case OptionType::kBytes:
      return "SIZE";
    case OptionType::kDuration:
    case OptionType::kOptionalDuration:
      return "DURATION";
    case OptionType::kLsn:
      return "LSN";
    case OptionType::kChoice:
      return std::string(o.choices);
    case OptionType::kString:
      break;
  }
  return o.name == "dsn" ? "DSN" : o.name == "spill_dir" ? "DIR" : "NAME";
}

// Greedy word wrap, each line indented by `indent`.
std::string Wrap(std::string_view text, size_t indent, size_t width = 80) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(Sv(text), ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, std::string(indent, ' '), line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, std::string(indent, ' '), line, "\n");
  return out;
}

}  // namespace

std::vector<FlagSpec> StreamOptionFlags() {
  const StreamOptions defaults;
  std::vector<FlagSpec> specs;
  for (const OptionInfo& o : StreamOptionTable()) {
    FlagSpec spec{std::string(o.flag), ValueName(o), std::string(o.help), "", "", ""};
    if (o.type == OptionType::kStringList) spec.help += " Repeat the flag for more than one.";
    spec.default_text = FormatOptionValue(o, *GetOption(defaults, o.name));
    if (o.type == OptionType::kOptionalBool) spec.default_text = "auto";
    specs.push_back(std::move(spec));
  }
  // Renamed when the flags came to follow the table (sizes in bytes, durations with
  // units); the old spellings keep working, with a warning.
  specs.push_back({"max-buffered-mb", "N", "", "", "max-buffered-bytes", "MiB"});
  specs.push_back({"read-linger-us", "N", "", "", "read-linger", "us"});
  return specs;
}

absl::StatusOr<Args> Args::Parse(int argc, char** argv, const std::vector<FlagSpec>& specs) {
  Args args;
  for (int i = 0; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      args.help_ = true;
      return args;
    }
  }
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      // "-slot": one dash where the flags take two.
      if (arg.size() > 1 && arg[0] == '-') {
        const std::string name(arg.substr(1, arg.find('=') - 1));
        const std::string closest = ClosestFlag(name, specs);
        return absl::InvalidArgumentError(
            absl::StrCat("unknown option ", Sv(arg), "; options start with two dashes",
                         closest.empty() ? "" : absl::StrCat(": did you mean --", closest, "?")));
      }
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", Sv(arg), "\""));
    }
    std::string name(arg.substr(2));
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = Find(name, specs);
    if (spec == nullptr && name.rfind("no-", 0) == 0 && !value) {
      spec = Find(name.substr(3), specs);
      if (spec != nullptr && spec->value_name.empty()) {
        args.values_[spec->flag].push_back("false");
        continue;
      }
      spec = nullptr;
    }
    if (spec == nullptr) return UnknownFlag(name, specs);
    if (spec->value_name.empty()) {
      args.values_[spec->flag].push_back(value.value_or("true"));
      continue;
    }
    if (!value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    if (!spec->renamed_to.empty()) {
      args.warnings_.push_back(absl::StrCat("--", name, " is deprecated: use --", spec->renamed_to,
                                            " ", *value, spec->value_suffix));
      args.values_[spec->renamed_to].push_back(*value + spec->value_suffix);
      continue;
    }
    args.values_[spec->flag].push_back(*value);
  }
  return args;
}

std::optional<std::string> Args::Get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::Status ApplyStreamOptionFlags(const Args& args, StreamOptions& options) {
  for (const OptionInfo& o : StreamOptionTable()) {
    const std::string flag(o.flag);
    if (!args.Has(flag)) continue;
    absl::StatusOr<OptionValue> value = args.GetAll(flag);
    if (o.type != OptionType::kStringList) value = ParseOptionText(o, *args.Get(flag));
    absl::Status s = value.ok() ? SetOption(options, o.name, *value) : value.status();
    if (!s.ok()) {
      // The library names the option as Python and C++ do; the CLI user typed the flag.
      std::string message(s.message());
      if (message.rfind(std::string(o.name), 0) == 0)
        message.replace(0, o.name.size(), "--" + flag);
      return absl::InvalidArgumentError(message);
    }
  }
  return absl::OkStatus();
}

std::string ClosestFlag(std::string_view flag, const std::vector<FlagSpec>& specs) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, flag.size() / 3) + 1;
  for (const FlagSpec& s : specs) {
    if (!s.renamed_to.empty()) continue;
    const size_t d = EditDistance(flag, s.flag);
    if (d < best_distance) {
      best_distance = d;
      best = s.flag;
    }
  }
  return best;
}

std::string Usage(std::string_view synopsis, std::string_view about,
                  const std::vector<FlagSpec>& specs) {
  std::string out = absl::StrCat("usage: ", Sv(synopsis), "\n\n", Wrap(about, 0), "\noptions:\n");
  for (const FlagSpec& s : specs) {
    if (!s.renamed_to.empty()) continue;
    absl::StrAppend(&out, "  --", s.value_name.empty() ? "[no-]" : "", s.flag,
                    s.value_name.empty() ? "" : " ", s.value_name, "\n");
    std::string help = s.help;
    if (!s.default_text.empty()) absl::StrAppend(&help, " (default: ", s.default_text, ")");
    absl::StrAppend(&out, Wrap(help, 6));
  }
  return out;
}

}  // namespace pgcdc::cli
