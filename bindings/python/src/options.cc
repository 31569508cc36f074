#include "options.h"

#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "errors.h"
#include "pgcdc/option_table.h"

namespace py = pybind11;

namespace pgcdc::python {
namespace {

std::string_view TypeKey(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "string";
    case OptionType::kStringList:
      return "string_list";
    case OptionType::kBool:
      return "bool";
    case OptionType::kOptionalBool:
      return "optional_bool";
    case OptionType::kCount:
      return "count";
    case OptionType::kBytes:
      return "bytes";
    case OptionType::kDuration:
      return "duration";
    case OptionType::kOptionalDuration:
      return "optional_duration";
    case OptionType::kLsn:
      return "lsn";
    case OptionType::kChoice:
      return "choice";
  }
  return "";
}

// Durations cross into Python as seconds.
py::object ToPython(const OptionValue& value) {
  struct Visit {
    py::object operator()(std::monostate) const { return py::none(); }
    py::object operator()(bool b) const { return py::bool_(b); }
    py::object operator()(int64_t n) const { return py::int_(n); }
    py::object operator()(absl::Duration d) const { return py::float_(absl::ToDoubleSeconds(d)); }
    py::object operator()(Lsn lsn) const { return py::int_(lsn.value()); }
    py::object operator()(const std::string& s) const { return py::str(s); }
    py::object operator()(const std::vector<std::string>& v) const { return py::cast(v); }
  };
  return std::visit(Visit{}, value);
}

OptionValue FromPython(const OptionInfo& o, py::handle v) {
  if (v.is_none()) return std::monostate();
  switch (o.type) {
    case OptionType::kString:
    case OptionType::kChoice:
      return v.cast<std::string>();
    case OptionType::kStringList:
      return v.cast<std::vector<std::string>>();
    case OptionType::kBool:
    case OptionType::kOptionalBool:
      return v.cast<bool>();
    case OptionType::kCount:
    case OptionType::kBytes:
      return v.cast<int64_t>();
    case OptionType::kDuration:
    case OptionType::kOptionalDuration:
      return absl::Seconds(v.cast<double>());
    case OptionType::kLsn:
      return Lsn(v.cast<uint64_t>());
  }
  return std::monostate();
}

py::dict Describe(const OptionInfo& o, const StreamOptions& defaults) {
  py::dict d;
  d["name"] = std::string(o.name);
  d["flag"] = std::string(o.flag);
  d["field"] = std::string(o.field);
  d["type"] = std::string(TypeKey(o.type));
  std::vector<std::string> choices;
  if (!o.choices.empty()) {
    for (absl::string_view c :
         absl::StrSplit(absl::string_view(o.choices.data(), o.choices.size()), '|')) {
      choices.emplace_back(c);
    }
  }
  d["choices"] = choices;
  d["help"] = std::string(o.help);
  d["default"] = ToPython(*GetOption(defaults, o.name));
  return d;
}

}  // namespace

void RegisterOptions(py::module_& m) {
  m.def("stream_option_table", [] {
    const StreamOptions defaults;
    py::list table;
    for (const OptionInfo& o : StreamOptionTable()) table.append(Describe(o, defaults));
    return table;
  });
}

StreamOptions OptionsFromDict(const py::dict& values) {
  StreamOptions options;
  for (const OptionInfo& o : StreamOptionTable()) {
    const py::str key(std::string(o.name));
    if (!values.contains(key)) continue;
    OptionValue value;
    try {
      value = FromPython(o, values[key]);
    } catch (const py::cast_error&) {
      ThrowStatus(absl::InvalidArgumentError(
          absl::StrCat(std::string(o.name), " takes ", std::string(OptionTypeName(o.type)),
                       ", not ", std::string(py::repr(values[key])))));
    }
    if (absl::Status s = SetOption(options, o.name, value); !s.ok()) ThrowStatus(s);
  }
  return options;
}

}  // namespace pgcdc::python
