#include "change_object.h"

#include <new>
#include <string>
#include <utility>
#include <vector>

#include "pgcdc/debezium.h"
#include "pgcdc/v1/change.pb.h"
#include "values.h"

namespace pgcdc::python {
namespace {

struct ChangeObject {
  PyObject_HEAD Change change;  // constructed in place by NewChangeObject
  // Conversions made on first access (nullptr until then).
  PyObject* new_row;
  PyObject* old_row;
  PyObject* key;
};

PyTypeObject change_type = {PyVarObject_HEAD_INIT(nullptr, 0)};

ChangeObject* Self(PyObject* o) { return reinterpret_cast<ChangeObject*>(o); }

// Interned operation names, indexed by pgcdc::Operation.
constexpr size_t kOpNames = 9;
PyObject* op_names[kOpNames];

int Traverse(PyObject* o, visitproc visit, void* arg) {
  Py_VISIT(Self(o)->new_row);
  Py_VISIT(Self(o)->old_row);
  Py_VISIT(Self(o)->key);
  return 0;
}

int Clear(PyObject* o) {
  Py_CLEAR(Self(o)->new_row);
  Py_CLEAR(Self(o)->old_row);
  Py_CLEAR(Self(o)->key);
  return 0;
}

void Dealloc(PyObject* o) {
  PyObject_GC_UnTrack(o);
  Clear(o);
  Self(o)->change.~Change();
  Py_TYPE(o)->tp_free(o);
}

PyObject* Cached(PyObject* o, PyObject** slot, PyObject* (*make)(const Change&)) {
  if (*slot == nullptr) {
    if ((*slot = make(Self(o)->change)) == nullptr) return nullptr;
    // Only now can the change be part of a reference cycle (through the dict); until
    // then the collector has nothing to look at. Batches of changes waiting to be
    // iterated would otherwise be scanned by every young-generation collection.
    if (!PyObject_GC_IsTracked(o)) PyObject_GC_Track(o);
  }
  Py_INCREF(*slot);
  return *slot;
}

bool HasNewRow(const Change& c) {
  return c.op() == Operation::kInsert || c.op() == Operation::kUpdate || c.op() == Operation::kRead;
}

PyObject* MakeNew(const Change& c) {
  if (!HasNewRow(c)) Py_RETURN_NONE;
  return RowToDict(c.new_row());
}

PyObject* MakeOld(const Change& c) {
  if (c.old_row_kind() == OldRowKind::kNone) Py_RETURN_NONE;
  return RowToDict(c.old_row());
}

// The replica identity columns (the primary key by default) of the row the change is
// about: from the new row when there is one, else from the old row.
PyObject* MakeKey(const Change& c) {
  if (HasNewRow(c)) return RowToDict(c.new_row(), /*key_only=*/true);
  if (c.old_row_kind() != OldRowKind::kNone) return RowToDict(c.old_row(), /*key_only=*/true);
  Py_RETURN_NONE;
}

PyObject* Str(std::string_view s) {
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
}

// ---------------------------------------------------------------- getters

#define PGCDC_GETTER(name) PyObject* Get_##name(PyObject* o, void*)

PGCDC_GETTER(id) {
  const std::string id = Self(o)->change.id();
  return PyUnicode_FromStringAndSize(id.data(), static_cast<Py_ssize_t>(id.size()));
}
PGCDC_GETTER(op) {
  const auto index = static_cast<size_t>(Self(o)->change.op());
  PyObject* name = index < kOpNames ? op_names[index] : nullptr;
  if (name == nullptr) return PyLong_FromSize_t(index);  // an operation added later
  Py_INCREF(name);
  return name;
}
PyObject* NameOrNone(std::string_view name) {
  if (name.empty()) Py_RETURN_NONE;
  return NameStr(name);
}
PGCDC_GETTER(schema) { return NameOrNone(Self(o)->change.schema()); }
PGCDC_GETTER(table) { return NameOrNone(Self(o)->change.table()); }
PGCDC_GETTER(relation_oid) { return PyLong_FromUnsignedLong(Self(o)->change.relation_oid()); }
PGCDC_GETTER(new) { return Cached(o, &Self(o)->new_row, MakeNew); }
PGCDC_GETTER(old) { return Cached(o, &Self(o)->old_row, MakeOld); }
PGCDC_GETTER(key) { return Cached(o, &Self(o)->key, MakeKey); }
PGCDC_GETTER(old_kind) {
  switch (Self(o)->change.old_row_kind()) {
    case OldRowKind::kKey:
      return PyUnicode_FromString("key");
    case OldRowKind::kFull:
      return PyUnicode_FromString("full");
    default:
      Py_RETURN_NONE;
  }
}
PGCDC_GETTER(lsn) { return LsnToPython(Self(o)->change.lsn()); }
PGCDC_GETTER(commit_lsn) { return LsnToPython(Self(o)->change.commit_lsn()); }
PGCDC_GETTER(end_lsn) { return LsnToPython(Self(o)->change.end_lsn()); }
PGCDC_GETTER(xid) { return PyLong_FromUnsignedLong(Self(o)->change.xid()); }
PGCDC_GETTER(commit_time) { return CommitTimeToPython(Self(o)->change.commit_time_us()); }
PGCDC_GETTER(ordinal) { return PyLong_FromUnsignedLong(Self(o)->change.ordinal()); }
PGCDC_GETTER(last_in_transaction) { return PyBool_FromLong(Self(o)->change.last_in_transaction()); }
PGCDC_GETTER(gid) {
  const std::string_view gid = Self(o)->change.gid();
  if (gid.empty()) Py_RETURN_NONE;
  return Str(gid);
}

// A tuple of pgcdc.ColumnInfo, or None when the change has no table rows.
PyObject* MakeColumns(const Change& c) {
  const std::vector<ColumnInfo> columns = c.columns();
  if (columns.empty()) Py_RETURN_NONE;
  PyObject* out = PyTuple_New(static_cast<Py_ssize_t>(columns.size()));
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < columns.size(); ++i) {
    PyObject* item = ColumnInfoToPython(columns[i]);
    if (item == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyTuple_SET_ITEM(out, static_cast<Py_ssize_t>(i), item);
  }
  return out;
}
PGCDC_GETTER(columns) { return MakeColumns(Self(o)->change); }

bool IsMessage(PyObject* o) { return Self(o)->change.op() == Operation::kMessage; }
bool IsTruncate(PyObject* o) { return Self(o)->change.op() == Operation::kTruncate; }

PGCDC_GETTER(prefix) {
  if (!IsMessage(o)) Py_RETURN_NONE;
  return Str(Self(o)->change.message_prefix());
}
PGCDC_GETTER(content) {
  if (!IsMessage(o)) Py_RETURN_NONE;
  const std::string_view c = Self(o)->change.message_content();
  return PyBytes_FromStringAndSize(c.data(), static_cast<Py_ssize_t>(c.size()));
}
PGCDC_GETTER(transactional) {
  if (!IsMessage(o)) Py_RETURN_NONE;
  return PyBool_FromLong(Self(o)->change.message_transactional());
}
PGCDC_GETTER(cascade) {
  if (!IsTruncate(o)) Py_RETURN_NONE;
  return PyBool_FromLong(Self(o)->change.truncate_cascade());
}
PGCDC_GETTER(restart_identity) {
  if (!IsTruncate(o)) Py_RETURN_NONE;
  return PyBool_FromLong(Self(o)->change.truncate_restart_identity());
}

#undef PGCDC_GETTER

#define PGCDC_GETSET(name, doc) \
  { const_cast<char*>(#name), Get_##name, nullptr, const_cast<char*>(doc), nullptr }

PyGetSetDef getset[] = {
    PGCDC_GETSET(id, "Stable dedupe key: identical when this change is delivered again."),
    PGCDC_GETSET(op,
                 "'insert', 'update', 'delete', 'truncate', 'message', 'read', "
                 "'commit_prepared' or 'rollback_prepared'."),
    PGCDC_GETSET(schema, "Schema of the table (None for messages)."),
    PGCDC_GETSET(table, "Table name (None for messages)."),
    PGCDC_GETSET(relation_oid, "OID of the table (0 for messages)."),
    PGCDC_GETSET(new, "dict column -> value of the new row (insert, update, read), else None."),
    PGCDC_GETSET(old,
                 "dict of the old row as the server sent it (key columns, or all with "
                 "REPLICA IDENTITY FULL), else None."),
    PGCDC_GETSET(columns,
                 "Tuple of pgcdc.ColumnInfo (name, type_oid, type_modifier, key, nullable, "
                 "primary_key), every "
                 "column of the table in order; None for messages and truncates."),
    PGCDC_GETSET(old_kind, "'key', 'full', or None when there is no old row."),
    PGCDC_GETSET(key, "dict of the replica identity (primary key) columns, else None."),
    PGCDC_GETSET(lsn, "pgcdc.Lsn of this change."),
    PGCDC_GETSET(commit_lsn, "pgcdc.Lsn of the transaction's commit record."),
    PGCDC_GETSET(end_lsn, "pgcdc.Lsn of the end of the transaction's commit record."),
    PGCDC_GETSET(xid, "Transaction id."),
    PGCDC_GETSET(commit_time, "Commit time: an aware datetime in UTC (None if unknown)."),
    PGCDC_GETSET(ordinal, "0-based position of the change in its transaction."),
    PGCDC_GETSET(last_in_transaction, "Whether this is the transaction's last change."),
    PGCDC_GETSET(gid,
                 "Two-phase transaction id (PREPARE TRANSACTION 'gid') of a change "
                 "delivered at PREPARE, not committed yet, and of the "
                 "'commit_prepared' / 'rollback_prepared' record telling its outcome; "
                 "else None."),
    PGCDC_GETSET(prefix, "Message prefix (op == 'message'), else None."),
    PGCDC_GETSET(content, "Message content as bytes (op == 'message'), else None."),
    PGCDC_GETSET(transactional, "Whether the message was transactional, else None."),
    PGCDC_GETSET(cascade, "TRUNCATE ... CASCADE (op == 'truncate'), else None."),
    PGCDC_GETSET(restart_identity, "TRUNCATE ... RESTART IDENTITY (op == 'truncate'), else None."),
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

#undef PGCDC_GETSET

// ---------------------------------------------------------------- methods

// json.loads(text), new reference.
PyObject* JsonLoads(const std::string& text) {
  static PyObject* loads = nullptr;
  if (loads == nullptr) {
    PyObject* json = PyImport_ImportModule("json");
    if (json == nullptr) return nullptr;
    loads = PyObject_GetAttrString(json, "loads");
    Py_DECREF(json);
    if (loads == nullptr) return nullptr;
  }
  PyObject* s = PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size()));
  if (s == nullptr) return nullptr;
  PyObject* result = PyObject_CallOneArg(loads, s);
  Py_DECREF(s);
  return result;
}

PyObject* ToDict(PyObject* o, PyObject*) {
  // The CLI's JSON line, parsed: the same keys and value forms as `pgcdc stream`.
  return JsonLoads(ToJson(Self(o)->change));
}

// {"topic": str, "key": parsed JSON, "value": parsed JSON}, new reference.
PyObject* DebeziumDict(const DebeziumRecord& record) {
  PyObject* key = JsonLoads(record.key);
  PyObject* value = key == nullptr ? nullptr : JsonLoads(record.value);
  PyObject* dict = value == nullptr ? nullptr
                                    : Py_BuildValue("{s:s#,s:O,s:O}", "topic", record.topic.data(),
                                                    static_cast<Py_ssize_t>(record.topic.size()),
                                                    "key", key, "value", value);
  Py_XDECREF(key);
  Py_XDECREF(value);
  return dict;
}

PyObject* ToDebezium(PyObject* o, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"topic_prefix", "schemas", "decimal_handling", "time_precision",
                                   nullptr};
  const char* prefix = "pgcdc";
  int schemas = 1;
  const char* decimal = "precise";
  const char* time = "adaptive";
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$spss:to_debezium", const_cast<char**>(keywords),
                                   &prefix, &schemas, &decimal, &time)) {
    return nullptr;
  }
  DebeziumOptions options;
  options.topic_prefix = prefix;
  options.schemas = schemas != 0;
  absl::StatusOr<DebeziumDecimal> d = ParseDebeziumDecimal(decimal);
  absl::StatusOr<DebeziumTime> t = d.ok() ? ParseDebeziumTime(time) : d.status();
  if (!t.ok()) {
    PyErr_SetString(PyExc_ValueError, std::string(t.status().message()).c_str());
    return nullptr;
  }
  options.decimal = *d;
  options.time = *t;
  absl::StatusOr<std::vector<DebeziumRecord>> records =
      DebeziumEncoder(std::move(options)).Encode(Self(o)->change);
  if (!records.ok()) {
    PyErr_SetString(PyExc_ValueError, std::string(records.status().message()).c_str());
    return nullptr;
  }
  PyObject* list = PyList_New(0);
  for (const DebeziumRecord& record : *records) {
    PyObject* dict = list == nullptr ? nullptr : DebeziumDict(record);
    if (dict == nullptr || PyList_Append(list, dict) != 0) {
      Py_XDECREF(dict);
      Py_XDECREF(list);
      return nullptr;
    }
    Py_DECREF(dict);
  }
  return list;
}

PyObject* ToProto(PyObject* o, PyObject*) {
  // Imported on first use: google.protobuf is not needed by `import pgcdc`.
  static PyObject* message_class = nullptr;
  if (message_class == nullptr) {
    PyObject* module = PyImport_ImportModule("pgcdc.v1.change_pb2");
    if (module == nullptr) return nullptr;
    message_class = PyObject_GetAttrString(module, "Change");
    Py_DECREF(module);
    if (message_class == nullptr) return nullptr;
  }
  std::string bytes;
  if (!Self(o)->change.ToProto().SerializeToString(&bytes)) {
    PyErr_SetString(PyExc_RuntimeError, "pgcdc: could not serialize the change");
    return nullptr;
  }
  return PyObject_CallMethod(message_class, "FromString", "y#", bytes.data(),
                             static_cast<Py_ssize_t>(bytes.size()));
}

PyMethodDef methods[] = {
    {"to_dict", ToDict, METH_NOARGS,
     "A JSON-ready dict with the keys of `pgcdc stream`'s JSON lines (LSNs as 'X/Y' text, "
     "numeric as exact text, unchanged TOAST columns left out of 'new' and listed under "
     "'unchanged')."},
    {"to_proto", ToProto, METH_NOARGS, "The pgcdc.v1.Change protobuf message."},
    {"to_debezium", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ToDebezium)),
     METH_VARARGS | METH_KEYWORDS,
     "to_debezium(*, topic_prefix='pgcdc', schemas=True, decimal_handling='precise', "
     "time_precision='adaptive')\n--\n\n"
     "The Kafka records Debezium's PostgreSQL connector emits for this change, each a dict "
     "{'topic', 'key', 'value'} with key and value as Kafka Connect's JsonConverter writes "
     "them (parsed): none for a truncate, a delete and a create for an update of the "
     "primary key, one otherwise. Tombstones are the sink's. See doc/debezium.md."},
    {nullptr, nullptr, 0, nullptr},
};

PyObject* Repr(PyObject* o) {
  const Change& c = Self(o)->change;
  const std::string id = c.id();
  const std::string_view op = OperationName(c.op());
  std::string where;
  if (!c.table().empty()) {
    where = std::string(c.schema()) + "." + std::string(c.table());
  } else if (c.op() == Operation::kMessage) {
    where = "prefix=" + std::string(c.message_prefix());
  } else if (!c.gid().empty()) {
    where = "gid=" + std::string(c.gid());
  }
  return PyUnicode_FromFormat("<pgcdc.Change %s %s id=%s lsn=%s>", std::string(op).c_str(),
                              where.c_str(), id.c_str(), c.lsn().ToString().c_str());
}

}  // namespace

bool InitChangeType(PyObject* module) {
  const char* names[kOpNames] = {nullptr,  "insert",          "update",
                                 "delete", "truncate",        "message",
                                 "read",   "commit_prepared", "rollback_prepared"};
  for (size_t i = 0; i < kOpNames; ++i) {
    op_names[i] = names[i] ? PyUnicode_InternFromString(names[i]) : nullptr;
    if (names[i] && !op_names[i]) return false;
  }
  change_type.tp_name = "pgcdc.Change";
  change_type.tp_basicsize = sizeof(ChangeObject);
  change_type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  change_type.tp_doc =
      "One decoded change: an insert, update, delete, truncate, message or snapshot read, "
      "or the outcome of a prepared transaction delivered at PREPARE.\n\n"
      "Values are converted to Python objects on first access and cached. Instances come "
      "from a pgcdc stream; they cannot be created directly.";
  change_type.tp_dealloc = Dealloc;
  change_type.tp_traverse = Traverse;
  change_type.tp_clear = Clear;
  change_type.tp_getset = getset;
  change_type.tp_methods = methods;
  change_type.tp_repr = Repr;
  if (PyType_Ready(&change_type) < 0) return false;
  Py_INCREF(&change_type);
  if (PyModule_AddObject(module, "Change", reinterpret_cast<PyObject*>(&change_type)) < 0) {
    Py_DECREF(&change_type);
    return false;
  }
  return true;
}

PyObject* NewChangeObject(Change&& change) {
  ChangeObject* o = PyObject_GC_New(ChangeObject, &change_type);
  if (o == nullptr) return nullptr;
  new (&o->change) Change(std::move(change));
  o->new_row = o->old_row = o->key = nullptr;
  return reinterpret_cast<PyObject*>(o);  // tracked by the GC once it holds a dict
}

const Change* ChangeFromObject(PyObject* object) {
  if (!PyObject_TypeCheck(object, &change_type)) return nullptr;
  return &Self(object)->change;
}

}  // namespace pgcdc::python
