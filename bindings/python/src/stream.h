// pgcdc._core.Stream: the pybind11 class behind pgcdc.ChangeStream (the pure-Python
// wrapper in pgcdc/_stream.py adds the iterator protocol, option checking and the
// context manager).
//
// The GIL is released around every core call that can block, one batch of changes at
// a time: NextBatch() waits in short slices and checks for signals between them, so
// Ctrl-C interrupts a blocking iteration and other Python threads keep running.
#ifndef PGCDC_BINDINGS_PYTHON_STREAM_H_
#define PGCDC_BINDINGS_PYTHON_STREAM_H_

#include <pybind11/pybind11.h>

namespace pgcdc::python {

void RegisterStream(pybind11::module_& m);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_STREAM_H_
