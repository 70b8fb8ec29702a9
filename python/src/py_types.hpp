// The Python classes the extension returns, defined in evlog/__init__.py (so that they are plain,
// typed, picklable Python) and handed to the extension once at import.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include <evlog/result.hpp>
#include <evlog/spill.hpp>
#include <evlog/stats.hpp>

namespace evlog::python {

// Stores the classes and builds the cached Results. GIL held; once, at import.
void register_types(const pybind11::dict& classes);

// A new reference to the evlog.Result for `result`. Results without a message (every `queued`
// and `committed` answer) and those with one of the logger's fixed messages are shared, immutable
// objects: the hot path allocates nothing for them. GIL held.
PyObject* to_python(const evlog::Result& result);

// evlog.Stats, evlog.SpillInspection, evlog.ReplayReport. GIL held.
pybind11::object to_python(const evlog::Stats& stats);
pybind11::object to_python(const evlog::SpillInspection& inspection);
pybind11::object to_python(const evlog::ReplayReport& report);

}  // namespace evlog::python
