// evlog._evlog — the extension module: evlog.Logger over the C++ evlog::Logger, the spill-file
// functions, and evlog.Error. The package's Python half (evlog/__init__.py) defines the value
// classes (Result, Outcome, Stats, ...) and hands them over at import.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <evlog/error.hpp>
#include <evlog/spill.hpp>

#include "gil.hpp"
#include "log_call.hpp"
#include "logger_object.hpp"
#include "options.hpp"
#include "py_types.hpp"

namespace py = pybind11;
using evlog::python::LoggerCore;

PYBIND11_MODULE(_evlog, m) {
  m.doc() = "The native half of the evlog package; import evlog, not this module.";
  m.attr("__version__") = EVLOG_VERSION;

  auto& error = py::register_exception<evlog::Error>(m, "Error", PyExc_ValueError);
  error.attr("__module__") = "evlog";
  error.doc() =
      "An option or argument evlog cannot use, or a database it cannot open: the message names "
      "the field and the rule. A subclass of ValueError.";

  py::class_<LoggerCore> logger(m, "Logger", R"doc(Logger(database="analytics.db", **options)

Records analytics events into a SQLite file (or a PostgreSQL database) without making the caller
wait: log() queues the event and returns; one background writer per logger commits events in
batches. Every keyword is a field of the C++ evlog::Options of the same name (all but make_sink);
durations are in seconds. An unknown keyword raises TypeError; a value of the wrong type or out of
range raises evlog.Error naming the field. Opening the database releases the GIL.

A Logger is a context manager whose exit calls shutdown(). One still open at interpreter exit,
or garbage collected, is shut down within its shutdown_timeout.)doc");
  logger.attr("__module__") = "evlog";
  logger.def(py::init([](py::handle database, const py::kwargs& kwargs) {
               return std::make_unique<LoggerCore>(
                   evlog::python::parse_options("Logger", database, kwargs));
             }),
             py::arg("database") = "analytics.db");
  LoggerCore::register_type(logger);
  evlog::python::install_log_method(logger);
  // Every method takes `self` as a handle and asks LoggerCore::of() for the C++ object, which
  // refuses one whose __init__ never ran.
  logger.def(
      "flush",
      [](py::handle self, py::handle timeout) {
        return LoggerCore::of(self.ptr()).flush(evlog::python::parse_timeout("timeout", timeout));
      },
      py::arg("timeout") = 5.0,
      R"doc(flush(timeout=5.0) -> bool

Waits until every event logged before the call is final (written, dead-lettered, dropped or
lost): True when they all are, False at the deadline (seconds). Releases the GIL while it waits.)doc");
  logger.def(
      "shutdown",
      [](py::handle self, py::handle timeout) {
        LoggerCore& core = LoggerCore::of(self.ptr());
        if (timeout.is_none()) return core.shutdown(std::nullopt);
        return core.shutdown(evlog::python::parse_timeout("timeout", timeout));
      },
      py::arg("timeout") = py::none(),
      R"doc(shutdown(timeout=None) -> bool

Stops admitting events (log() then answers `closed`), commits what is queued and stops the writer.
True when nothing was lost; events not written by the deadline are counted in stats().lost (or
spilled, with a spill_dir). None means the logger's shutdown_timeout. Warnings still pending reach
on_warning before it returns (within half a second past the deadline). Calling it again returns
the first answer. Releases the GIL while it waits.)doc");
  logger.def(
      "close", [](py::handle self) { return LoggerCore::of(self.ptr()).shutdown(std::nullopt); },
      "close() -> bool\n\nshutdown() with the logger's shutdown_timeout.");
  logger.def(
      "__enter__",
      [](py::object self) {
        (void)LoggerCore::of(self.ptr());
        return self;
      },
      "Returns the logger itself.");
  logger.def(
      "__exit__",
      [](py::handle self, const py::args&) {
        LoggerCore::of(self.ptr()).shutdown(std::nullopt);
        return false;
      },
      "Calls shutdown(); never suppresses an exception.");
  logger.def(
      "stats", [](py::handle self) { return LoggerCore::of(self.ptr()).stats(); },
      R"doc(stats() -> Stats

A snapshot of this logger's counters in this process (a forked child counts from zero).)doc");

  m.def(
      "inspect_spill",
      [](const std::string& path) {
        // Reads a whole file: other Python threads run meanwhile.
        return evlog::python::to_python(
            evlog::python::without_gil([&] { return evlog::inspect_spill_file(path); }));
      },
      py::arg("path"));
  m.def(
      "replay",
      [](py::handle spill_dir, py::handle database, py::handle timeout, const py::kwargs& kwargs) {
        if (kwargs.contains("spill_dir")) {
          throw py::type_error("replay() got multiple values for argument 'spill_dir'");
        }
        const auto limit = evlog::python::parse_timeout("timeout", timeout);
        py::dict all(kwargs);
        all["spill_dir"] = spill_dir;
        evlog::python::ParsedOptions parsed = evlog::python::parse_options("replay", database, all);
        const auto deadline =
            std::chrono::steady_clock::now() + limit + evlog::python::kWarningGrace;
        evlog::ReplayReport report;
        try {
          // Writes a whole directory of events: other Python threads run meanwhile.
          report = evlog::python::without_gil(
              [&] { return evlog::replay_spill_directory(parsed.options, limit); });
        } catch (...) {
          evlog::python::release_relay(parsed.relay, deadline);
          throw;
        }
        evlog::python::release_relay(parsed.relay, deadline);
        return evlog::python::to_python(report);
      },
      py::arg("spill_dir"), py::arg("database"), py::kw_only(), py::arg("timeout") = 300.0);

  m.def(
      "validate_options",
      [](py::handle database, const py::kwargs& kwargs) {
        evlog::python::ParsedOptions parsed =
            evlog::python::parse_options("validate_options", database, kwargs);
        try {
          evlog::validate_options(parsed.options);
        } catch (...) {
          evlog::python::release_relay(parsed.relay, std::chrono::steady_clock::now());
          throw;
        }
        evlog::python::release_relay(parsed.relay, std::chrono::steady_clock::now());
      },
      py::arg("database") = "analytics.db",
      R"doc(validate_options(database="analytics.db", **options) -> None

Checks what Logger(database, **options) would be given, as its constructor does, without opening
anything: raises TypeError for an unknown keyword and evlog.Error naming the field for a bad
value. For a framework integration that refuses bad configuration at start-up.)doc");
  m.def("_register_types", &evlog::python::register_types);
  m.def("_shutdown_all", &LoggerCore::shutdown_all);
}
