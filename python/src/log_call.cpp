#include "log_call.hpp"

#include <optional>
#include <string>
#include <string_view>

#include "gil.hpp"
#include "logger_object.hpp"
#include "metadata_json.hpp"
#include "py_types.hpp"

namespace evlog::python {

namespace py = pybind11;

namespace {

enum Arg { kEventType, kUserId, kUserType, kMetadata, kDelivery, kArgCount };
constexpr Py_ssize_t kPositional = 4;  // delivery is keyword-only
constexpr const char* kArgNames[kArgCount] = {"event_type", "user_id", "user_type", "metadata",
                                              "delivery"};
PyObject* g_arg_names[kArgCount];  // interned; compared by identity first
PyObject* g_async = nullptr;       // interned "async"
PyObject* g_committed = nullptr;   // interned "committed"

// The JSON text of a dict, per thread; reused from call to call, so that serializing allocates
// nothing once the thread has seen metadata of the size. Capacity beyond kKeepBytes is given back.
thread_local std::string t_json;
constexpr std::size_t kKeepBytes = 1 << 20;

const char* type_name(PyObject* value) {
  return Py_TYPE(value)->tp_name;
}

// The UTF-8 of a str (cached in the object by CPython), or null for one holding a lone
// surrogate, which has no UTF-8.
bool utf8(PyObject* text, std::string_view& out) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return false;
  }
  out = std::string_view(data, static_cast<std::size_t>(size));
  return true;
}

// Fills `event` (and `delivery`) from the arguments, or says which field broke which rule. The
// views point into the argument objects (alive for the whole call: the caller holds them) and
// into t_json.
bool convert(PyObject* const* values, const LoggerCore& core, evlog::Event& event,
             std::optional<evlog::Delivery>& delivery, std::string& refusal) {
  PyObject* v = values[kEventType];
  if (!PyUnicode_Check(v)) {
    refusal = std::string("event_type: must be a str, got ") + type_name(v);
    return false;
  }
  if (!utf8(v, event.type)) {
    refusal = "event_type: must be valid UTF-8, got a str holding a lone surrogate";
    return false;
  }

  v = values[kUserId];
  if (v != nullptr && v != Py_None) {
    if (PyLong_Check(v) && !PyBool_Check(v)) {
      int overflow = 0;
      const long long id = PyLong_AsLongLongAndOverflow(v, &overflow);
      if (overflow != 0) {
        refusal = "user_id: must fit in 64 bits (-2**63 to 2**63-1)";
        return false;
      }
      event.user_id = id;
    } else {
      refusal = std::string("user_id: must be an int or None, got ") + type_name(v);
      return false;
    }
  }

  v = values[kUserType];
  if (v != nullptr && v != Py_None) {
    if (!PyUnicode_Check(v)) {
      refusal = std::string("user_type: must be a str or None, got ") + type_name(v);
      return false;
    }
    if (!utf8(v, event.user_type)) {
      refusal = "user_type: must be valid UTF-8, got a str holding a lone surrogate";
      return false;
    }
  }

  v = values[kMetadata];
  if (v != nullptr && v != Py_None) {
    if (PyDict_Check(v)) {
      if (!metadata_to_json(v, core.max_metadata_bytes(), t_json, refusal)) return false;
      event.metadata = t_json;
    } else if (PyUnicode_Check(v)) {
      if (!utf8(v, event.metadata)) {  // the C++ validation checks the JSON itself
        refusal = "metadata: must be valid UTF-8, got a str holding a lone surrogate";
        return false;
      }
    } else {
      refusal =
          std::string("metadata: must be a dict, a str of JSON text or None, got ") + type_name(v);
      return false;
    }
  }

  v = values[kDelivery];
  if (v != nullptr && v != Py_None) {
    if (v == g_async || (PyUnicode_Check(v) && PyUnicode_Compare(v, g_async) == 0)) {
      delivery = evlog::Delivery::async;
    } else if (v == g_committed || (PyUnicode_Check(v) && PyUnicode_Compare(v, g_committed) == 0)) {
      delivery = evlog::Delivery::committed;
    } else {
      PyObject* shown = PyObject_Repr(v);
      const char* text = shown != nullptr ? PyUnicode_AsUTF8(shown) : nullptr;
      if (text == nullptr) PyErr_Clear();
      refusal = std::string("delivery: must be None, 'async' or 'committed', got ") +
                (text != nullptr ? text : type_name(v));
      Py_XDECREF(shown);
      return false;
    }
  }
  return true;
}

LoggerCore* core_of(PyObject* self) {
  try {
    return &LoggerCore::of(self);
  } catch (const py::type_error& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
    return nullptr;
  }
}

PyObject* log_entry(PyObject* self, PyObject* const* args, Py_ssize_t nargsf, PyObject* kwnames) {
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  PyObject* values[kArgCount] = {};
  if (nargs > kPositional) {
    PyErr_Format(PyExc_TypeError, "log() takes from 1 to 4 positional arguments but %zd were given",
                 nargs);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) values[i] = args[i];
  if (kwnames != nullptr) {
    const Py_ssize_t count = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < count; ++k) {
      PyObject* name = PyTuple_GET_ITEM(kwnames, k);
      int slot = -1;
      for (int a = 0; a < kArgCount && slot < 0; ++a) {
        if (name == g_arg_names[a]) slot = a;
      }
      for (int a = 0; a < kArgCount && slot < 0; ++a) {
        if (PyUnicode_Compare(name, g_arg_names[a]) == 0) slot = a;
      }
      if (slot < 0) {
        PyErr_Format(PyExc_TypeError, "log() got an unexpected keyword argument '%U'", name);
        return nullptr;
      }
      if (values[slot] != nullptr) {
        PyErr_Format(PyExc_TypeError, "log() got multiple values for argument '%U'", name);
        return nullptr;
      }
      values[slot] = args[nargs + k];
    }
  }
  if (values[kEventType] == nullptr) {
    PyErr_SetString(PyExc_TypeError, "log() missing required argument 'event_type'");
    return nullptr;
  }
  LoggerCore* core = core_of(self);
  if (core == nullptr) return nullptr;

  evlog::Event event;
  std::optional<evlog::Delivery> delivery;
  std::string refusal;
  if (!convert(values, *core, event, delivery, refusal)) [[unlikely]] {
    if (t_json.capacity() > kKeepBytes) std::string().swap(t_json);
    return to_python(core->logger().refuse(std::move(refusal)));
  }
  ReleaseGilBeforeWait hook;
  const evlog::Result result =
      delivery ? core->logger().log(event, *delivery, hook) : core->logger().log(event, hook);
  hook.reacquire();
  if (t_json.capacity() > kKeepBytes) [[unlikely]] {
    std::string().swap(t_json);
  }
  return to_python(result);
}

constexpr const char* kLogDoc =
    "log(event_type, user_id=None, user_type=None, metadata=None, *, delivery=None) -> Result\n"
    "\n"
    "Records one event and returns an evlog.Result; never raises for what the event holds or\n"
    "for the database's state (a wrong argument name or count raises TypeError, as for any\n"
    "call).\n"
    "\n"
    "event_type: a str of 1-64 bytes of [A-Za-z0-9_.:-]. user_id: an int (64-bit) or None.\n"
    "user_type: a str of at most 64 bytes, or None ('' is None). metadata: a dict (serialized\n"
    "to JSON in C++), the text of one JSON object, or None ('' is None). delivery: None (the\n"
    "logger's critical_types decide), 'async' or 'committed'. A value it cannot accept answers\n"
    "`rejected`, naming the field and the rule, and is counted in stats().rejected.\n"
    "\n"
    "An async call returns `queued` in well under a microsecond and keeps the GIL. A call that\n"
    "waits (committed delivery, or on_full='block' with a full queue) releases the GIL while\n"
    "it waits.";

PyMethodDef g_log_method = {"log",
                            reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&log_entry)),
                            METH_FASTCALL | METH_KEYWORDS, kLogDoc};

}  // namespace

void install_log_method(py::handle logger_class) {
  for (int a = 0; a < kArgCount; ++a) {
    g_arg_names[a] = PyUnicode_InternFromString(kArgNames[a]);
    if (g_arg_names[a] == nullptr) throw py::error_already_set();
  }
  g_async = PyUnicode_InternFromString("async");
  g_committed = PyUnicode_InternFromString("committed");
  if (g_async == nullptr || g_committed == nullptr) throw py::error_already_set();
  auto* type = reinterpret_cast<PyTypeObject*>(logger_class.ptr());
  const py::object method =
      py::reinterpret_steal<py::object>(PyDescr_NewMethod(type, &g_log_method));
  if (!method) throw py::error_already_set();
  if (PyObject_SetAttrString(logger_class.ptr(), "log", method.ptr()) != 0) {
    throw py::error_already_set();
  }
}

}  // namespace evlog::python
