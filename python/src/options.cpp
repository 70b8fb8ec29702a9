#include "options.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <evlog/error.hpp>

namespace evlog::python {

namespace py = pybind11;

namespace {

using std::chrono::milliseconds;

std::string type_name(py::handle value) {
  return Py_TYPE(value.ptr())->tp_name;
}

[[noreturn]] void bad(std::string_view field, const std::string& rule) {
  throw evlog::Error("Options::" + std::string(field) + ": " + rule);
}

std::string seconds_text(double seconds) {
  char text[48];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

milliseconds to_milliseconds(std::string_view field, py::handle value, std::string_view kind) {
  double seconds = 0;
  if (PyBool_Check(value.ptr())) {
    bad(field, std::string("must be ") + std::string(kind) + ", got bool");
  } else if (PyLong_Check(value.ptr()) || PyFloat_Check(value.ptr())) {
    seconds = PyFloat_AsDouble(value.ptr());
    if (seconds == -1.0 && PyErr_Occurred()) {  // an int too large for a double
      PyErr_Clear();
      bad(field, "is too large");
    }
  } else if (py::isinstance(value, py::module_::import("datetime").attr("timedelta"))) {
    seconds = value.attr("total_seconds")().cast<double>();
  } else {
    bad(field, std::string("must be ") + std::string(kind) + ", got " + type_name(value));
  }
  if (!std::isfinite(seconds)) bad(field, "must be a finite number of seconds");
  if (seconds < 0) bad(field, "must not be negative, got " + seconds_text(seconds));
  // Whole milliseconds, rounded up (a hair of slack absorbs 0.3 * 1000 = 300.00000000000006).
  const double ms = std::ceil(seconds * 1000.0 - 1e-6);
  constexpr double kMaxMs = 1e15;  // ≈ 31,700 years: far beyond any timeout, far within int64
  if (ms > kMaxMs) bad(field, "is too large, got " + seconds_text(seconds));
  return milliseconds(static_cast<std::int64_t>(std::max(0.0, ms)));
}

constexpr std::string_view kSeconds = "a number of seconds (int, float or datetime.timedelta)";

std::size_t to_size(std::string_view field, py::handle value) {
  if (PyBool_Check(value.ptr()) || !PyLong_Check(value.ptr())) {
    bad(field, "must be an int, got " + type_name(value));
  }
  int overflow = 0;
  const long long signed_value = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow < 0 || (overflow == 0 && signed_value < 0)) {
    bad(field, "must not be negative, got " + py::repr(value).cast<std::string>());
  }
  const unsigned long long n = PyLong_AsUnsignedLongLong(value.ptr());
  if (n == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    bad(field, "is too large, got " + py::repr(value).cast<std::string>());
  }
  return static_cast<std::size_t>(n);
}

std::string to_str(std::string_view field, py::handle value) {
  if (!PyUnicode_Check(value.ptr())) bad(field, "must be a str, got " + type_name(value));
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
  if (text == nullptr) {
    PyErr_Clear();
    bad(field, "must be valid UTF-8, got a str holding a lone surrogate");
  }
  return std::string(text, static_cast<std::size_t>(size));
}

// A str or an os.PathLike giving a str (pathlib.Path).
std::string to_path(std::string_view field, py::handle value) {
  if (PyUnicode_Check(value.ptr())) return to_str(field, value);
  PyObject* path = PyOS_FSPath(value.ptr());
  if (path == nullptr) {
    PyErr_Clear();
    bad(field, "must be a str or an os.PathLike, got " + type_name(value));
  }
  const py::object owned = py::reinterpret_steal<py::object>(path);
  if (!PyUnicode_Check(path)) bad(field, "must be a path given as str, got " + type_name(owned));
  return to_str(field, owned);
}

template <class Enum, std::size_t N>
Enum to_choice(std::string_view field, py::handle value,
               const std::pair<std::string_view, Enum> (&choices)[N]) {
  std::string names;
  for (const auto& [name, choice] : choices) {
    names += (names.empty() ? "'" : ", '") + std::string(name) + "'";
  }
  if (PyUnicode_Check(value.ptr())) {
    const std::string text = to_str(field, value);
    for (const auto& [name, choice] : choices) {
      if (text == name) return choice;
    }
    bad(field, "must be one of " + names + ", got " + py::repr(value).cast<std::string>());
  }
  bad(field, "must be one of " + names + ", got " + type_name(value));
}

std::set<std::string> to_types(std::string_view field, py::handle value) {
  if (PyUnicode_Check(value.ptr()) || PyBytes_Check(value.ptr()) ||
      PyByteArray_Check(value.ptr())) {
    bad(field, "must be an iterable of str (a set, a list, ...), not a single " + type_name(value));
  }
  std::set<std::string> types;
  py::iterator items;
  try {
    items = py::iter(value);
  } catch (const py::error_already_set&) {
    bad(field, "must be an iterable of str, got " + type_name(value));
  }
  for (py::handle item : items) {
    if (!PyUnicode_Check(item.ptr())) bad(field, "each must be a str, got " + type_name(item));
    types.insert(to_str(field, item));
  }
  return types;
}

constexpr std::pair<std::string_view, OnFull> kOnFull[] = {
    {"drop_newest", OnFull::drop_newest},
    {"drop_oldest", OnFull::drop_oldest},
    {"block", OnFull::block},
};
constexpr std::pair<std::string_view, Durability> kDurability[] = {
    {"normal", Durability::normal},
    {"full", Durability::full},
};

using Setter = void (*)(ParsedOptions&, std::string_view, py::handle);

// Every field of evlog::Options but make_sink (a C++ factory), in its order.
const std::pair<std::string_view, Setter> kFields[] = {
    {"table", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.table = to_str(f, v);
     }},
    {"queue_capacity", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.queue_capacity = to_size(f, v);
     }},
    {"max_queue_bytes", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_queue_bytes = to_size(f, v);
     }},
    {"max_batch", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_batch = to_size(f, v);
     }},
    {"max_delay", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_delay = to_milliseconds(f, v, kSeconds);
     }},
    {"on_full", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.on_full = to_choice(f, v, kOnFull);
     }},
    {"block_timeout", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.block_timeout = to_milliseconds(f, v, kSeconds);
     }},
    {"max_metadata_bytes", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_metadata_bytes = to_size(f, v);
     }},
    {"shutdown_timeout", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.shutdown_timeout = to_milliseconds(f, v, kSeconds);
     }},
    {"db_timeout", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.db_timeout = to_milliseconds(f, v, kSeconds);
     }},
    {"retry_initial", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.retry_initial = to_milliseconds(f, v, kSeconds);
     }},
    {"retry_max", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.retry_max = to_milliseconds(f, v, kSeconds);
     }},
    {"critical_types", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.critical_types = to_types(f, v);
     }},
    {"commit_timeout", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.commit_timeout = to_milliseconds(f, v, kSeconds);
     }},
    {"durability", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.durability = to_choice(f, v, kDurability);
     }},
    {"spill_dir", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.spill_dir = v.is_none() ? std::string() : to_path(f, v);
     }},
    {"spill_after", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.spill_after = to_milliseconds(f, v, kSeconds);
     }},
    {"max_spill_bytes", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_spill_bytes = to_size(f, v);
     }},
    {"spill_segment_bytes", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.spill_segment_bytes = to_size(f, v);
     }},
    {"max_dead_letter_bytes", [](ParsedOptions& p, std::string_view f, py::handle v) {
       p.options.max_dead_letter_bytes = to_size(f, v);
     }},
    {"on_warning", [](ParsedOptions& p, std::string_view f, py::handle v) {
       if (v.is_none()) {
         p.relay.reset();
         return;
       }
       if (!PyCallable_Check(v.ptr())) {
         bad(f, "must be a callable taking one str, or None, got " + type_name(v));
       }
       p.relay = std::make_shared<WarningRelay>(v.inc_ref().ptr());
     }},
};

}  // namespace

ParsedOptions parse_options(const char* caller, py::handle database, const py::dict& kwargs) {
  ParsedOptions parsed;
  try {
    parsed.options.database = to_path("database", database);
    for (const auto& [key, value] : kwargs) {
      if (!PyUnicode_Check(key.ptr())) throw py::type_error("keywords must be strings");
      const std::string name = key.cast<std::string>();
      Setter setter = nullptr;
      for (const auto& [field, set] : kFields) {
        if (field == name) setter = set;
      }
      if (setter == nullptr) {
        throw py::type_error(std::string(caller) + "() got an unexpected keyword argument '" +
                             name + "'");
      }
      setter(parsed, name, value);
    }
  } catch (...) {
    if (parsed.relay) parsed.relay->release_callback();  // its thread never started
    throw;
  }
  if (parsed.relay) {
    parsed.options.on_warning = [relay = parsed.relay](std::string_view line) {
      relay->push(line);
    };
  }
  return parsed;
}

std::chrono::milliseconds parse_timeout(const char* field, py::handle value) {
  try {
    return to_milliseconds(field, value, kSeconds);
  } catch (const evlog::Error& e) {
    // Not an option: name the argument alone.
    const std::string message = e.what();
    throw evlog::Error(message.substr(message.find("::") + 2));
  }
}

}  // namespace evlog::python
