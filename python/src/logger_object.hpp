// LoggerCore — what an evlog.Logger object holds: the C++ logger, the relay that carries its
// warnings to Python, and its place in the list of loggers shut down at exit.
//
// Threads: every method is called with the GIL held; each one that can wait releases it (see
// gil.hpp). log() is not here: it is the fast entry point in log_call.cpp.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <memory>
#include <optional>

#include <evlog/logger.hpp>

#include "options.hpp"
#include "warning_relay.hpp"

namespace evlog::python {

// How long past its deadline a shutdown waits for on_warning to take the last warnings (the
// shutdown's own "lost" warning comes at the deadline when the database is down).
inline constexpr std::chrono::milliseconds kWarningGrace{500};

class LoggerCore {
 public:
  // Builds the C++ logger with the GIL released: opening the database may wait (a lock, a server
  // that answers slowly), and other Python threads run meanwhile. Throws evlog::Error.
  explicit LoggerCore(ParsedOptions parsed);
  // shutdown(), then releases the C++ logger and the relay.
  ~LoggerCore();

  LoggerCore(const LoggerCore&) = delete;
  LoggerCore& operator=(const LoggerCore&) = delete;

  // The LoggerCore of an evlog.Logger object, or a Python TypeError when `self` is not one or its
  // __init__ never ran (Logger.__new__(Logger)): pybind11 itself would hand out a pointer to
  // storage nothing was built in. GIL held; `logger_type` is registered at import.
  static LoggerCore& of(PyObject* self);
  static void register_type(pybind11::handle logger_type);

  evlog::Logger& logger() { return *logger_; }
  std::size_t max_metadata_bytes() const { return max_metadata_bytes_; }

  // As the C++ calls, with the GIL released while they wait. shutdown() without a timeout uses
  // Options::shutdown_timeout; once the C++ shutdown has returned, it waits (up to its deadline
  // plus kWarningGrace) until on_warning has taken the warnings still pending.
  bool flush(std::chrono::milliseconds timeout);
  bool shutdown(std::optional<std::chrono::milliseconds> timeout);
  pybind11::object stats();

  // At interpreter exit: shuts down every logger still open, all at once, each within its own
  // shutdown_timeout, so the exit waits for the longest of them, not for their sum. GIL held.
  static void shutdown_all();

 private:
  std::unique_ptr<evlog::Logger> logger_;
  std::shared_ptr<WarningRelay> relay_;  // null without a Python on_warning
  const std::chrono::milliseconds shutdown_timeout_;
  const std::size_t max_metadata_bytes_;
};

}  // namespace evlog::python
