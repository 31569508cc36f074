#ifndef PGCDC_BINDINGS_PYTHON_OPTIONS_H_
#define PGCDC_BINDINGS_PYTHON_OPTIONS_H_

#include <pybind11/pybind11.h>

#include "pgcdc/options.h"

namespace pgcdc::python {

// _core.stream_option_table(): pgcdc::StreamOptionTable() as a list of dicts (name,
// flag, field, type, choices, help, default), from which pgcdc.open_stream() checks
// and converts its keywords and builds its docstring.
void RegisterOptions(pybind11::module_& m);

// StreamOptions from {keyword: value} as open_stream() converted them (durations in
// seconds, LSNs as int, unset as None), converted per OptionType, never per option.
// Raises ConfigurationError for a value of the wrong type.
StreamOptions OptionsFromDict(const pybind11::dict& values);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_OPTIONS_H_
