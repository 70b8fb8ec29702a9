// WarningRelay — hands the logger's warning lines to a Python callable without the writer ever
// waiting for the GIL.
//
// The C++ logger calls Options::on_warning on its writer thread (and on the threads that build or
// shut it down). A Python callable needs the GIL, which a Python thread may hold for a long time;
// a writer waiting for it would stop writing. So on_warning only queues the line here (a mutex
// held for a push, never while anyone waits for the GIL), and a thread of the relay's own takes
// the GIL and calls the callable.
//
// Threads:
//   - push(): any thread, GIL held or not; never waits for the GIL.
//   - drain(), stop(): a Python thread holding the GIL; they release it while they wait.
//   - release_callback(): a Python thread holding the GIL, once the logger no longer calls push().
//   - the relay's own thread ("evlog-warnings"): started on the first line, takes the GIL only
//     to call the callable, with the mutex not held.
//
// Invariants:
//   1. The mutex is never held while the GIL is being taken, and the GIL is never held while the
//      mutex is being taken by the relay's thread; so neither waits for the other in a cycle.
//   2. Every line pushed is either delivered to the callable, written to stderr (a drain whose
//      deadline passed, more than kMaxPending lines waiting, an interpreter that is finalizing),
//      or counted in the line that reports lines held back. Nothing is dropped silently.
//   3. After fork(), the child's relay starts afresh (a new channel and, on its first line, a new
//      thread): the parent's mutex may have been held by a thread that does not exist in the
//      child, and its thread is gone. The old channel is leaked, never touched.
#pragma once

#include <Python.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace evlog::python {

class WarningRelay {
 public:
  using Clock = std::chrono::steady_clock;
  // Lines waiting beyond this are written to stderr instead (a callable that keeps failing to
  // keep up must not grow memory without bound).
  static constexpr std::size_t kMaxPending = 10000;

  // `callback` is a new reference to a callable; the relay owns it. GIL held.
  explicit WarningRelay(PyObject* callback);
  ~WarningRelay();

  WarningRelay(const WarningRelay&) = delete;
  WarningRelay& operator=(const WarningRelay&) = delete;

  // Queues one line for the callable. Never throws, never waits for the GIL.
  void push(std::string_view line) noexcept;

  // Waits (GIL released) until every line pushed before the call has been handed to the callable
  // and returned, or until `deadline`; then writes what is still waiting to stderr. True when
  // all were delivered. From the relay's own thread (a callable that shuts the logger down) it
  // does not wait for itself and returns false. GIL held.
  bool drain(Clock::time_point deadline);

  // drain(deadline), then stops the relay's thread, waiting for it (GIL released) until
  // `deadline`. True once the thread has ended; false if the callable is still running then, in
  // which case the thread still uses the relay and the owner must leak it, and every later
  // stop() returns false at once. GIL held.
  bool stop(Clock::time_point deadline);

  // Drops the reference to the callable. GIL held; after stop().
  void release_callback() noexcept;

 private:
  struct Channel;
  Channel* current() noexcept;
  // Not noexcept: a thread that CPython ends while it finalizes unwinds through these.
  void run(Channel* channel);
  void deliver(std::vector<std::string>& lines);

  PyObject* callback_;             // owned; guarded by the GIL, as is gave_up_
  bool gave_up_ = false;           // a stop() found the callable still running at its deadline
  std::atomic<Channel*> channel_;  // replaced in a child process after fork()
};

// Stops `relay` (drain, then its thread, until `deadline`) and releases it with its callable; a
// relay whose callable is still running then is leaked instead, with its reference to the
// callable, since its thread still uses both. Null is fine. GIL held.
void release_relay(std::shared_ptr<WarningRelay>& relay, WarningRelay::Clock::time_point deadline);

}  // namespace evlog::python
