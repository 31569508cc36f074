// Conversion of decoded values (pgcdc::Value, a view into a flat change record) to
// Python objects. This is the binding's hot path: every value of every row crosses
// here, so it uses the CPython API directly (no pybind11 casters), caches the Python
// types it constructs and interns column names.
//
// Everything here requires the GIL.
#ifndef PGCDC_BINDINGS_PYTHON_VALUES_H_
#define PGCDC_BINDINGS_PYTHON_VALUES_H_

// Py_ssize_t lengths for the "#" formats of Py_BuildValue and friends.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string_view>

#include "pgcdc/change.h"
#include "pgcdc/lsn.h"

namespace pgcdc::python {

// Looks up the Python objects the conversions use (decimal.Decimal, uuid.UUID, the
// sentinels and types of pgcdc._types, ...). Called once at import; false with a Python
// exception set on failure.
bool InitValueConversion();

// Each returns a new reference, or nullptr with a Python exception set.
PyObject* ValueToPython(const Value& value, uint32_t type_oid);
// {column name: value} for every column of `row`; with `key_only`, only the replica
// identity columns.
PyObject* RowToDict(const Row& row, bool key_only = false);
// An aware datetime in UTC; None for 0 (no commit time).
PyObject* CommitTimeToPython(int64_t micros_since_epoch);
PyObject* LsnToPython(Lsn lsn);  // pgcdc.Lsn, an int subclass
// pgcdc.ColumnInfo(name, type_oid, type_modifier, key).
PyObject* ColumnInfoToPython(const ColumnInfo& column);
// json.loads() of a json/jsonb document (UTF-8).
PyObject* JsonToPython(std::string_view text);

// A str for a schema, table or column name (new reference, shared with other rows),
// or nullptr with a Python exception set.
PyObject* NameStr(std::string_view name);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_VALUES_H_
