// A batch of changes from the core, iterated by Python one change at a time.
//
// Each pgcdc.Change object is created only when the iteration reaches it. A loop that
// does not keep its changes therefore frees each one (and the row dicts, lists and
// values read from it) before the next exists: the cyclic GC, which runs once more
// GC-tracked objects were allocated than freed, then hardly ever runs. Handing out a
// list of the whole batch instead kept up to a batch of changes and their rows alive,
// and young-generation collections walked them about every 150 changes (6,500 young
// and 53 full collections while draining 1.3M changes; the drain benchmark spent ~8%
// of its CPU there).
#ifndef PGCDC_BINDINGS_PYTHON_CHANGE_BATCH_H_
#define PGCDC_BINDINGS_PYTHON_CHANGE_BATCH_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <vector>

#include "pgcdc/change.h"

namespace pgcdc::python {

// Readies the iterator type (not exported from the module). False with a Python error.
bool InitChangeBatchType();

// An iterator over `changes` (new reference), or nullptr with a Python error set.
PyObject* NewChangeBatch(std::vector<Change>&& changes);

}  // namespace pgcdc::python

#endif  // PGCDC_BINDINGS_PYTHON_CHANGE_BATCH_H_
