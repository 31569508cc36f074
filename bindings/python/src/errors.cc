#include "errors.h"

#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "pgcdc/status.h"

namespace py = pybind11;

namespace pgcdc::python {

void ThrowStatus(const absl::Status& status) {
  py::object from_status = py::module_::import("pgcdc.errors").attr("_from_status");
  const std::optional<std::string> sqlstate = SqlState(status);
  py::object error = from_status(
      absl::StatusCodeToString(status.code()), std::string(status.message()),
      sqlstate ? py::object(py::str(*sqlstate)) : py::object(py::none()), IsRetryable(status));
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

}  // namespace pgcdc::python
