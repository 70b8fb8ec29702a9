#include "py_types.hpp"

#include <array>
#include <vector>

namespace evlog::python {

namespace py = pybind11;

namespace {

constexpr std::array kOutcomes = {Outcome::queued,   Outcome::committed, Outcome::dropped,
                                  Outcome::rejected, Outcome::timed_out, Outcome::closed};

struct Types {
  py::object result, stats, spill_record, spill_corruption, spill_inspection, replay_report;
  std::array<PyObject*, kOutcomes.size()> outcome{};  // the evlog.Outcome members
  std::array<PyObject*, kOutcomes.size()> plain{};    // Result(outcome, "", ok)
  // Results with a message the logger repeats ("queue full", "shut down"); `rejected` answers
  // name the event's own fault and are never cached.
  struct Fixed {
    Outcome outcome;
    std::string message;
    PyObject* result;
  };
  std::vector<Fixed> fixed;
};

// Leaked on purpose: these references must never be dropped after the interpreter finalizes.
Types* g_types = nullptr;

constexpr std::size_t kMaxFixed = 32;

std::size_t index_of(Outcome outcome) {
  return static_cast<std::size_t>(outcome);
}

bool is_ok(Outcome outcome) {
  return outcome == Outcome::queued || outcome == Outcome::committed ||
         outcome == Outcome::timed_out;
}

// A new evlog.Result, a tuple subclass: tuple.__new__ called directly, so no Python code runs.
PyObject* new_result(Outcome outcome, PyObject* message) {
  PyObject* fields = PyTuple_Pack(3, g_types->outcome[index_of(outcome)], message,
                                  is_ok(outcome) ? Py_True : Py_False);
  if (fields == nullptr) return nullptr;
  PyObject* args = PyTuple_Pack(1, fields);
  Py_DECREF(fields);
  if (args == nullptr) return nullptr;
  auto* type = reinterpret_cast<PyTypeObject*>(g_types->result.ptr());
  PyObject* result = PyTuple_Type.tp_new(type, args, nullptr);
  Py_DECREF(args);
  return result;
}

py::object optional_text(const std::string& text) {
  return text.empty() ? py::none() : py::object(py::str(text));
}

}  // namespace

void register_types(const py::dict& classes) {
  auto* types = new Types();
  types->result = classes["Result"];
  types->stats = classes["Stats"];
  types->spill_record = classes["SpillRecord"];
  types->spill_corruption = classes["SpillCorruption"];
  types->spill_inspection = classes["SpillInspection"];
  types->replay_report = classes["ReplayReport"];
  const py::object outcome_class = classes["Outcome"];
  g_types = types;
  const py::str empty("");
  for (Outcome outcome : kOutcomes) {
    const std::size_t i = index_of(outcome);
    types->outcome[i] =
        py::object(outcome_class.attr(std::string(to_string(outcome)).c_str())).release().ptr();
    types->plain[i] = new_result(outcome, empty.ptr());
    if (types->plain[i] == nullptr) throw py::error_already_set();
  }
}

PyObject* to_python(const Result& result) {
  if (result.message.empty()) [[likely]] {
    PyObject* shared = g_types->plain[index_of(result.outcome)];
    Py_INCREF(shared);
    return shared;
  }
  const bool cacheable = result.outcome != Outcome::rejected;
  if (cacheable) {
    for (const Types::Fixed& f : g_types->fixed) {
      if (f.outcome == result.outcome && f.message == result.message) {
        Py_INCREF(f.result);
        return f.result;
      }
    }
  }
  // "type: ..." is C++'s name for the field Python calls event_type.
  std::string_view text = result.message;
  std::string renamed;
  if (result.outcome == Outcome::rejected && text.starts_with("type: ")) {
    renamed = "event_type: " + std::string(text.substr(6));
    text = renamed;
  }
  PyObject* message =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
  if (message == nullptr) return nullptr;
  PyObject* made = new_result(result.outcome, message);
  Py_DECREF(message);
  if (made != nullptr && cacheable && g_types->fixed.size() < kMaxFixed) {
    try {
      g_types->fixed.push_back({result.outcome, result.message, made});
      Py_INCREF(made);
    } catch (...) {
      // Not cached: the next such answer builds its own object.
    }
  }
  return made;
}

py::object to_python(const Stats& s) {
  py::dict fields;
  for (const StatsField& field : kStatsFields) fields[field.name] = s.*field.member;
  fields["oldest_queued_age"] = static_cast<double>(s.oldest_queued_age.count()) / 1e6;
  fields["last_error"] = s.last_error;
  fields["database_failing"] = s.database_failing;
  return g_types->stats(**fields);
}

py::object to_python(const SpillInspection& inspection) {
  py::list records;
  for (const SpillRecord& r : inspection.records) {
    records.append(g_types->spill_record(
        py::arg("offset") = r.offset, py::arg("event_id") = r.event_id,
        py::arg("event_type") = r.type,
        py::arg("user_id") = r.user_id ? py::object(py::int_(*r.user_id)) : py::none(),
        py::arg("user_type") = optional_text(r.user_type),
        py::arg("metadata") = optional_text(r.metadata), py::arg("created_at") = r.created_at));
  }
  py::list corrupt;
  for (const SpillCorruption& c : inspection.corrupt) {
    corrupt.append(g_types->spill_corruption(
        py::arg("offset") = c.offset, py::arg("length") = c.length, py::arg("reason") = c.reason));
  }
  return g_types->spill_inspection(
      py::arg("path") = inspection.path, py::arg("header_ok") = inspection.header_ok,
      py::arg("target") = inspection.target, py::arg("records") = py::tuple(records),
      py::arg("corrupt") = py::tuple(corrupt), py::arg("torn_tail") = inspection.torn_tail);
}

py::object to_python(const ReplayReport& report) {
  return g_types->replay_report(py::arg("stats") = to_python(report.stats),
                                py::arg("files_left") = report.files_left);
}

}  // namespace evlog::python
