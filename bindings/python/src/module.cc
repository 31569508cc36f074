// pgcdc._core: the compiled half of the pgcdc Python package. The public API is the
// pure-Python package around it (bindings/python/pgcdc); see pgcdc/_core.pyi.
#include <pybind11/pybind11.h>

#include <string_view>

#include "callbacks.h"
#include "change_batch.h"
#include "change_object.h"
#include "cli.h"
#include "options.h"
#include "pgcdc/version.h"
#include "stream.h"
#include "values.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "pgcdc's compiled core (use the pgcdc package, not this module).";
  if (!pgcdc::python::InitValueConversion() || !pgcdc::python::InitChangeType(m.ptr()) ||
      !pgcdc::python::InitChangeBatchType()) {
    throw py::error_already_set();
  }
  pgcdc::python::RegisterStream(m);
  pgcdc::python::RegisterOptions(m);
  pgcdc::python::RegisterCli(m);
  m.def("_set_exiting", &pgcdc::python::Callbacks::SetExiting,
        "Called from atexit: the core's threads stop calling into Python.");
  // For tests: a json/jsonb document (UTF-8 bytes) converted as column values are.
  m.def("_json_loads", [](py::bytes document) {
    PyObject* value = pgcdc::python::JsonToPython(std::string_view(document));
    if (value == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(value);
  });
  m.attr("__version__") = PGCDC_VERSION_STRING;
}
