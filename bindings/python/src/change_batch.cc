#include "change_batch.h"

#include <new>
#include <utility>

#include "change_object.h"

namespace pgcdc::python {
namespace {

// Holds no Python objects, so it is not a GC type.
struct ChangeBatchObject {
  PyObject_HEAD std::vector<Change> changes;  // constructed in place by NewChangeBatch
  size_t next;
};

PyTypeObject batch_type = {PyVarObject_HEAD_INIT(nullptr, 0)};

ChangeBatchObject* Self(PyObject* o) { return reinterpret_cast<ChangeBatchObject*>(o); }

void Dealloc(PyObject* o) {
  Self(o)->changes.~vector();
  Py_TYPE(o)->tp_free(o);
}

PyObject* Next(PyObject* o) {
  ChangeBatchObject* batch = Self(o);
  if (batch->next >= batch->changes.size()) return nullptr;  // StopIteration
  return NewChangeObject(std::move(batch->changes[batch->next++]));
}

Py_ssize_t Length(PyObject* o) {  // operator.length_hint(): what is left
  return static_cast<Py_ssize_t>(Self(o)->changes.size() - Self(o)->next);
}

PyMethodDef methods[] = {
    {"__length_hint__", [](PyObject* o, PyObject*) { return PyLong_FromSsize_t(Length(o)); },
     METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace

bool InitChangeBatchType() {
  batch_type.tp_name = "pgcdc._core.ChangeBatch";
  batch_type.tp_basicsize = sizeof(ChangeBatchObject);
  batch_type.tp_flags = Py_TPFLAGS_DEFAULT;
  batch_type.tp_doc = "Changes from one call to Stream.next_batch, created as iterated.";
  batch_type.tp_dealloc = Dealloc;
  batch_type.tp_iter = PyObject_SelfIter;
  batch_type.tp_iternext = Next;
  batch_type.tp_methods = methods;
  return PyType_Ready(&batch_type) == 0;
}

PyObject* NewChangeBatch(std::vector<Change>&& changes) {
  ChangeBatchObject* o = PyObject_New(ChangeBatchObject, &batch_type);
  if (o == nullptr) return nullptr;
  new (&o->changes) std::vector<Change>(std::move(changes));
  o->next = 0;
  return reinterpret_cast<PyObject*>(o);
}

}  // namespace pgcdc::python
