// json/jsonb documents to Python objects, with exactly json.loads' result, in a
// fraction of its time (it was the largest single cost of a bench row: ~1.1 us of the
// json module's C scanner per small document, ~0.3 us here).
//
// It builds objects straight from the UTF-8 bytes: no intermediate str of the whole
// document, integers up to 18 digits without text conversion, and object keys shared
// across documents (rows of one table repeat the same keys). It covers standard JSON
// as PostgreSQL stores it; anything else (invalid text, NaN/Infinity literals, lone
// \uD800-style surrogates, raw control characters, nesting deeper than 200) is left to
// json.loads, which then gives its own result or error. tests/python/test_json.py
// compares both on generated and hand-picked documents.
//
// Requires the GIL.
#ifndef PGCDC_BINDINGS_PYTHON_JSON_VALUE_H_
#define PGCDC_BINDINGS_PYTHON_JSON_VALUE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string_view>

namespace pgcdc::python {

// A new reference; or nullptr with *unsupported set (no Python error) when json.loads
// must decide; or nullptr with a Python error (out of memory).
PyObject* JsonToPythonFast(std::string_view text, bool* unsupported);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_JSON_VALUE_H_
