#include "args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pgcdc::cli {

absl::StatusOr<Args> Args::Parse(int argc, char** argv, const std::set<std::string>& flags,
                                 const std::set<std::string>& switches) {
  Args args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.count(name)) {
      args.values_[name].push_back(value.value_or("true"));
      continue;
    }
    if (!flags.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown option --", name, " (options: --", absl::StrJoin(flags, ", --"),
          switches.empty() ? "" : ", --", absl::StrJoin(switches, ", --"), ")"));
    }
    if (!value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    args.values_[name].push_back(*value);
  }
  return args;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<std::optional<absl::Duration>> Args::GetSeconds(const std::string& name) const {
  std::optional<std::string> text = Get(name);
  if (!text) return std::nullopt;
  double seconds = 0;
  if (!absl::SimpleAtod(*text, &seconds) || seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " takes a number of seconds, not \"", *text, "\""));
  }
  return absl::Seconds(seconds);
}

absl::StatusOr<std::optional<int>> Args::GetInt(const std::string& name, int min,
                                                const char* what) const {
  std::optional<std::string> text = Get(name);
  if (!text) return std::nullopt;
  int value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < min) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " takes ", what, ", not \"", *text, "\""));
  }
  return value;
}

}  // namespace pgcdc::cli
