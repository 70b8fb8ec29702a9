// evlog/logger.hpp — the logger: log() from any thread, one background writer per logger.
//
// Threads:
//   - log(), stats(): any thread, concurrently.
//   - flush(): any thread, concurrently with log().
//   - shutdown(): any thread; once. Later log() calls return `closed`.
//   - the destructor: one thread, once no other call on this logger runs.
//
// Several loggers may live in one process (each owns its queue, writer thread and connection).
// After fork(), a child process's logger starts a writer of its own on first use and never writes
// events its parent had queued; the child's stats() count the child's calls only, from zero.
// shutdown()'s deadline holds for the built-in sinks, whose every call is bounded by db_timeout;
// a sink of your own (Options::make_sink) must bound its calls likewise.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "evlog/event.hpp"
#include "evlog/options.hpp"
#include "evlog/result.hpp"
#include "evlog/stats.hpp"

namespace evlog {

// Each queue slot is this many bytes, fixed at construction (queue_capacity × kSlotBytes).
inline constexpr std::size_t kSlotBytes = 448;
// An event whose type + user_type + metadata fit in this many bytes is stored in its slot with no
// heap allocation. Since type and user_type are at most 64 bytes each, metadata up to 256 bytes
// always fits.
inline constexpr std::size_t kInlineBytes = 384;

// For a caller that holds a lock of its own while it calls log() (a language runtime's global
// interpreter lock, say) and must let go of it while log() waits, but not pay for letting go when
// log() returns at once. The Python package releases Python's GIL here.
class WaitHook {
 public:
  // Called on the calling thread at most once per log() call, just before log() first waits: for
  // room in a full queue (OnFull::block, committed delivery), for a queue cell another thread is
  // moving out, or for the commit of a committed-delivery event. Not called when log() returns
  // without waiting. Must not call into the logger.
  virtual void before_wait() noexcept = 0;

 protected:
  ~WaitHook() = default;
};

class Logger {
 public:
  // Validates `options`, opens the database (creating the table, or adopting an older one), and
  // starts the writer thread. Throws evlog::Error for invalid options, a path that cannot be
  // created, or a table that cannot be adopted. A database that is only temporarily unavailable
  // (busy, locked) does not throw: the writer retries.
  explicit Logger(Options options);
  // shutdown(options.shutdown_timeout), then releases everything.
  ~Logger();

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Records one event. The delivery is Delivery::committed for types in Options::critical_types,
  // else Delivery::async. Never throws; with async delivery never blocks (except OnFull::block,
  // up to block_timeout) and makes no system call in steady state.
  Result log(const Event& event) noexcept;
  // Records one event with the delivery given.
  Result log(const Event& event, Delivery delivery) noexcept;
  // As the two above, calling hook.before_wait() once before the call first waits, if it does.
  Result log(const Event& event, WaitHook& hook) noexcept;
  Result log(const Event& event, Delivery delivery, WaitHook& hook) noexcept;

  // Counts a call that its caller refused before it could describe an Event (a language binding
  // given an argument of the wrong type, say) as log() counts an invalid event, in
  // Stats::rejected, so that the accounting covers every call. Answers `rejected` with `message`,
  // or `closed` once shutdown has begun, as log() would.
  Result refuse(std::string message) noexcept;

  // Waits until every event logged before the call has reached a final state (written,
  // dead-lettered, dropped or lost). True when they all have; false at the deadline.
  bool flush(std::chrono::milliseconds timeout) noexcept;

  // Stops admitting (log() returns `closed`), drains and commits what is queued, then stops the
  // writer and closes the database. Events not written by the deadline are counted `lost` and
  // warned about. True when nothing was lost. Calling it again returns the first answer.
  bool shutdown(std::chrono::milliseconds timeout) noexcept;

  // A snapshot of the counters; see Stats for the accounting identity.
  Stats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace evlog
