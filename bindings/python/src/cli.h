#ifndef PGCDC_BINDINGS_PYTHON_CLI_H_
#define PGCDC_BINDINGS_PYTHON_CLI_H_

#include <pybind11/pybind11.h>

namespace pgcdc::python {

// pgcdc._core._run_cli(argv) -> exit status.
void RegisterCli(pybind11::module_& m);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_CLI_H_
