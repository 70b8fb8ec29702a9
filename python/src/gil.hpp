// Where the binding lets go of Python's GIL, and how it takes it back.
//
// The GIL is taken back in plain code, never in a destructor. While CPython finalizes, a thread
// other than the finalizing one that asks for the GIL is ended by the interpreter (the thread
// unwinds, as with pthread_exit); from a destructor, which is noexcept, that unwinding would end
// in std::terminate. From plain code it unwinds through the binding and pybind11 (which lets it
// pass) like any other thread exit.
#pragma once

#include <Python.h>

#include <exception>
#include <type_traits>
#include <utility>

#include <evlog/logger.hpp>

namespace evlog::python {

// Runs `work` with the GIL released and returns its result; an exception it throws is rethrown
// once the GIL is held again. Called with the GIL held. `work` must not touch Python objects.
template <class Work>
auto without_gil(Work&& work) -> decltype(work()) {
  using Value = decltype(work());
  PyThreadState* state = PyEval_SaveThread();
  std::exception_ptr error;
  if constexpr (std::is_void_v<Value>) {
    try {
      std::forward<Work>(work)();
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);
    if (error) std::rethrow_exception(error);
  } else {
    // Value must be default-constructible (bool, a report struct): the callers' results are.
    Value value{};
    try {
      value = std::forward<Work>(work)();
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);
    if (error) std::rethrow_exception(error);
    return value;
  }
}

// For Logger::log(): releases the GIL just before log() first waits (a committed-delivery commit,
// room under on_full="block"), and not at all when log() returns at once. An async log() that
// finds room keeps the GIL: it takes a few hundred nanoseconds, while releasing and re-taking the
// GIL can cost a wait of up to the interpreter's switch interval (5 ms) whenever another Python
// thread is busy. The caller takes the GIL back with reacquire() after log() returns.
class ReleaseGilBeforeWait final : public evlog::WaitHook {
 public:
  // Waiting must not hold the GIL: other Python threads (the request threads of a web server)
  // run meanwhile, and log() waits without touching Python objects (the event's text stays
  // alive: the caller holds references to the objects it points into).
  void before_wait() noexcept override { state_ = PyEval_SaveThread(); }

  void reacquire() {
    if (state_ != nullptr) {
      PyThreadState* state = state_;
      state_ = nullptr;
      PyEval_RestoreThread(state);
    }
  }

 private:
  PyThreadState* state_ = nullptr;
};

}  // namespace evlog::python
