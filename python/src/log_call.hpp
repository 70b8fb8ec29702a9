// Logger.log: the binding's one hand-written entry point, on CPython's fast-call protocol
// (METH_FASTCALL | METH_KEYWORDS): the arguments arrive as a vector, no tuple or dict is built per
// call, and a dict of metadata is serialized in C++. pybind11's general dispatch costs several
// hundred nanoseconds a call before any work; this is the call a web app makes on every request.
#pragma once

#include <pybind11/pybind11.h>

namespace evlog::python {

// Installs `log` on the Logger class. GIL held; once, at import.
void install_log_method(pybind11::handle logger_class);

}  // namespace evlog::python
