// pgcdc.Change: a Python object that owns one pgcdc::Change (the flat C++ record) and
// converts its parts to Python values when they are first read (then caches them).
// Creating it costs one allocation and a move; a consumer that only looks at `op` and
// `new` pays for nothing else. It is a plain CPython type rather than a pybind11 class
// because its attribute reads are the per-change hot path (a getset slot costs a few
// nanoseconds, a pybind11 property dispatch far more).
#ifndef PGCDC_BINDINGS_PYTHON_CHANGE_OBJECT_H_
#define PGCDC_BINDINGS_PYTHON_CHANGE_OBJECT_H_

// Py_ssize_t lengths for the "#" formats of Py_BuildValue and friends.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pgcdc/change.h"

namespace pgcdc::python {

// Readies the type and adds it to `module` as "Change". False with a Python error set.
bool InitChangeType(PyObject* module);

// A new pgcdc.Change owning `change` (new reference), or nullptr with an error set.
PyObject* NewChangeObject(Change&& change);

// The record inside a pgcdc.Change, or nullptr if `object` is not one.
const Change* ChangeFromObject(PyObject* object);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_CHANGE_OBJECT_H_
