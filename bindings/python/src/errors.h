// The one place where a failed absl::Status becomes a Python exception. The class is
// chosen by pgcdc.errors._from_status (bindings/python/pgcdc/errors.py), which holds
// the documented mapping table; the retry verdict and the SQLSTATE come from the core
// (pgcdc::IsRetryable, pgcdc::SqlState).
#ifndef PGCDC_BINDINGS_PYTHON_ERRORS_H_
#define PGCDC_BINDINGS_PYTHON_ERRORS_H_

#include "absl/status/status.h"

namespace pgcdc::python {

// Sets the matching pgcdc.errors exception and throws pybind11::error_already_set.
// REQUIRES: !status.ok(); the GIL is held.
[[noreturn]] void ThrowStatus(const absl::Status& status);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_ERRORS_H_
