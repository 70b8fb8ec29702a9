#include "logger_object.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include "gil.hpp"
#include "py_types.hpp"

namespace evlog::python {

namespace py = pybind11;
using Clock = std::chrono::steady_clock;

namespace {

// Every LoggerCore alive in this process. Guarded by the GIL: only threads holding it touch the
// list. Leaked on purpose, so that nothing runs for it after the interpreter finalizes.
std::vector<LoggerCore*>& open_loggers() {
  static auto* list = new std::vector<LoggerCore*>();
  return *list;
}

PyTypeObject* g_logger_type = nullptr;
const py::detail::type_info* g_logger_info = nullptr;

}  // namespace

void LoggerCore::register_type(py::handle logger_type) {
  g_logger_type = reinterpret_cast<PyTypeObject*>(logger_type.ptr());
  g_logger_info = py::detail::get_type_info(typeid(LoggerCore));
}

LoggerCore& LoggerCore::of(PyObject* self) {
  if (!PyObject_TypeCheck(self, g_logger_type)) {
    throw py::type_error(std::string("expected an evlog.Logger, got ") + Py_TYPE(self)->tp_name);
  }
  auto* instance = reinterpret_cast<py::detail::instance*>(self);
  const py::detail::value_and_holder v_h = instance->get_value_and_holder(g_logger_info, false);
  if (!v_h || !v_h.holder_constructed()) {
    throw py::type_error("evlog.Logger: __init__() was not called on this object");
  }
  return *v_h.value_ptr<LoggerCore>();
}

LoggerCore::LoggerCore(ParsedOptions parsed)
    : relay_(std::move(parsed.relay)),
      shutdown_timeout_(parsed.options.shutdown_timeout),
      max_metadata_bytes_(parsed.options.max_metadata_bytes) {
  try {
    // Opening the database may wait: release the GIL (its warnings go to the relay meanwhile).
    logger_ = without_gil(
        [&options = parsed.options] { return std::make_unique<evlog::Logger>(options); });
  } catch (...) {
    release_relay(relay_, Clock::now() + kWarningGrace);
    throw;
  }
  open_loggers().push_back(this);
}

LoggerCore::~LoggerCore() {
  auto& list = open_loggers();
  list.erase(std::remove(list.begin(), list.end(), this), list.end());
  const auto deadline = Clock::now() + shutdown_timeout_;
  // The C++ destructor shuts down within shutdown_timeout: without the GIL, so that the relay's
  // thread can deliver the warnings it raises, and other Python threads run.
  without_gil([this] {
    logger_->shutdown(shutdown_timeout_);
    logger_.reset();
  });
  release_relay(relay_, deadline + kWarningGrace);
}

bool LoggerCore::flush(std::chrono::milliseconds timeout) {
  // Waits for the writer: other Python threads must run meanwhile.
  return without_gil([&] { return logger_->flush(timeout); });
}

bool LoggerCore::shutdown(std::optional<std::chrono::milliseconds> timeout) {
  const std::chrono::milliseconds t = timeout.value_or(shutdown_timeout_);
  const auto deadline = Clock::now() + t;
  // Drains and stops the writer: other Python threads must run meanwhile.
  const bool clean = without_gil([&] { return logger_->shutdown(t); });
  if (relay_) relay_->drain(deadline + kWarningGrace);
  return clean;
}

py::object LoggerCore::stats() {
  return to_python(logger_->stats());
}

void LoggerCore::shutdown_all() {
  // References keep every logger alive while the GIL is released below.
  std::vector<py::object> keep;
  std::vector<LoggerCore*> loggers = open_loggers();
  for (LoggerCore* core : loggers) {
    keep.push_back(py::cast(core, py::return_value_policy::reference));  // the existing object
  }
  const auto start = Clock::now();
  // Shutting down waits for writers: other Python threads (daemon threads still logging) run
  // meanwhile, and get `closed`.
  without_gil([&loggers] {
    std::vector<std::thread> threads;
    for (LoggerCore* core : loggers) {
      auto work = [core] { core->logger_->shutdown(core->shutdown_timeout_); };
      try {
        threads.emplace_back(work);
      } catch (...) {
        work();  // no thread to spare: this one, in turn
      }
    }
    for (std::thread& t : threads) t.join();
  });
  // The last warnings reach on_warning, and the relays' threads end before the interpreter
  // finalizes (a thread asking for the GIL after that is ended by it).
  for (LoggerCore* core : loggers) {
    if (core->relay_) core->relay_->stop(start + core->shutdown_timeout_ + kWarningGrace);
  }
}

}  // namespace evlog::python
