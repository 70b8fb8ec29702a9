// Python keyword arguments to evlog::Options: every field but make_sink, under the same names.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <memory>

#include <evlog/options.hpp>

#include "warning_relay.hpp"

namespace evlog::python {

// The options a Logger is built from, and the relay that carries its warnings to a Python
// on_warning (null when there is none: the C++ logger then writes warnings to stderr itself).
struct ParsedOptions {
  evlog::Options options;
  std::shared_ptr<WarningRelay> relay;
};

// Reads `database` and every keyword. An unknown keyword raises TypeError; a value of the wrong
// type or out of range raises evlog.Error naming the field (the C++ checks, run later by the
// Logger's constructor, name theirs too). `caller` names the function in messages.
//
// Durations are seconds: an int, a float or a datetime.timedelta, finite and not negative. The
// C++ options count whole milliseconds, so a duration is rounded up to the next millisecond
// (0.0001 s is 1 ms): a positive value never becomes zero.
ParsedOptions parse_options(const char* caller, pybind11::handle database,
                            const pybind11::dict& kwargs);

// A timeout argument of a method (flush, shutdown, replay), in seconds as above.
std::chrono::milliseconds parse_timeout(const char* field, pybind11::handle value);

}  // namespace evlog::python
