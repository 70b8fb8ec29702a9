// Writer — the background thread that moves events from the queue into the database.
//
// The life of a batch: take up to max_batch published events from the queue (strictly in queue
// order), format their id and timestamp text, write them through the sink in one transaction, and
// then finalise each one: written, or dead-lettered (refused for its data), or lost (a shutdown
// deadline passed). Transient failures keep the batch and retry with exponential backoff and
// jitter; the thread never dies and never throws.
//
// When it runs: every `tick` (max_delay / 2) while events wait; at once when a producer sees the
// queue pass `wake_stride` events, or when someone waits (committed delivery, flush, shutdown).
// Producers at a paced rate never wake it, so log() makes no system call.
//
// Threads:
//   - start(), stop(): the owning Logger, once each.
//   - wake_if_sleeping(), request_urgent(), wait_*(), counters(): any thread.
//   - everything else: the writer thread only.
//
// Invariants:
//   1. Every record the writer popped is in `batch_` until it is final; a final record is counted
//      in exactly one of written_, dead_lettered_, lost_ before it leaves the batch.
//   2. finalized_ only grows; every queue position below it is final (popped and finalised by the
//      writer, or evicted and counted as dropped by a producer).
//   3. A committed-delivery ticket is finished only after the event's fate is final, and the
//      progress condition variable is notified after every batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/event_id.hpp"
#include "core/event_record.hpp"
#include "evlog/sink.hpp"
#include "queue/bounded_mpsc_queue.hpp"
#include "writer/warning_limiter.hpp"

namespace evlog::detail {

using EventQueue = BoundedMpscQueue<EventRecord>;
using Clock = std::chrono::steady_clock;

struct WriterConfig {
  std::size_t max_batch = 4096;
  std::chrono::milliseconds tick{50};
  std::size_t wake_stride = 1024;  // power of two
  std::chrono::milliseconds retry_initial{10};
  std::chrono::milliseconds retry_max{1000};
};

// Counters producers keep (read by the writer to report drops, and by stats()).
struct ProducerCounters {
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_bytes_full{0};
  std::atomic<std::uint64_t> committed_waits{0};
  std::atomic<std::uint64_t> commit_timeouts{0};
};

struct WriterCounters {
  std::uint64_t written = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t lost = 0;
  std::uint64_t batches = 0;
  std::uint64_t retries = 0;
  std::uint64_t in_flight = 0;
  std::int64_t oldest_unix_ns = 0;  // 0: the writer holds nothing unfinished
  bool failing = false;
  std::string last_error;
};

class Writer {
 public:
  Writer(const WriterConfig& config, EventQueue& queue, ByteBudget& budget,
         const ProducerCounters& producers, WarningLimiter& warnings, std::unique_ptr<Sink> sink);
  ~Writer();

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  // Drains and writes until the queue is empty or `deadline` passes, then loses what is left
  // (counted, warned) and joins the thread. Idempotent.
  void stop(Clock::time_point deadline) noexcept;

  // A producer's cheap nudge at a wake-stride boundary: wakes the writer only if it sleeps.
  void wake_if_sleeping() noexcept {
    // Relaxed: a stale `false` only delays the writer until its next tick.
    if (sleeping_.load(std::memory_order_relaxed)) wake();
  }
  // Someone waits on the writer (committed delivery, flush): write what is queued now.
  void request_urgent() noexcept;

  // Flush: true once every queue position below `position` is final, false at `deadline`.
  bool wait_finalized(std::uint64_t position, Clock::time_point deadline) noexcept;
  // Committed delivery: the ticket's final state, or pending at `deadline`.
  CommitTicket::State wait_ticket(const CommitTicket& ticket, Clock::time_point deadline) noexcept;

  WriterCounters counters() const;
  // Wakes flush and committed-delivery waiters to re-check their condition (after the Logger
  // finished tickets itself, e.g. in its final sweep).
  void notify_waiters() noexcept;

  // After fork(), in the child: forget the thread and the sink without touching either (both
  // belong to the parent). The object must then be leaked, not destroyed.
  void abandon_after_fork() noexcept;

 private:
  struct Pending {
    EventRecord record;
    char text[kEventIdChars + kCreatedAtChars];  // formatted id, then created_at
    bool final = false;
  };

  void run() noexcept;
  void sleep_until(Clock::time_point until) noexcept;
  void wake() noexcept;
  bool stopping() const noexcept { return stop_requested_.load(std::memory_order_acquire); }

  std::size_t fill_batch();
  SinkStatus write_range(std::size_t begin, std::size_t end);
  void write_batch_until_done();
  void finish(Pending& pending, CommitTicket::State state, std::string_view reason);
  void dead_letter(Pending& pending, std::string_view reason);
  void compact_batch();
  void lose_everything() noexcept;
  void publish_progress() noexcept;
  void report_drops() noexcept;
  void note_failure(const std::string& message);
  Clock::duration backoff(unsigned attempt);

  const WriterConfig config_;
  EventQueue& queue_;
  ByteBudget& budget_;
  const ProducerCounters& producers_;
  WarningLimiter& warnings_;
  std::unique_ptr<Sink> sink_;
  std::thread thread_;

  // Writer-thread state.
  std::vector<Pending> batch_;
  std::vector<Row> rows_;
  std::uint64_t urgent_seen_ = 0;
  bool needs_open_ = true;  // open() before the next write: at start and after any failure
  std::uint64_t drops_reported_ = 0;
  std::uint64_t jitter_state_;

  // Wake-up: the writer sleeps on wake_cv_; wake_requested_ is guarded by wake_mu_.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_requested_ = false;
  std::atomic<bool> sleeping_{false};
  std::atomic<std::uint64_t> urgent_requests_{0};

  // Shutdown: stop_deadline_ is written before the release store of stop_requested_.
  std::atomic<bool> stop_requested_{false};
  Clock::time_point stop_deadline_{};
  std::once_flag stop_once_;

  // Progress, for flush and committed waiters. finalized_ is stored (release) before the
  // notification under progress_mu_, and waiters re-check it under the same mutex.
  mutable std::mutex progress_mu_;
  std::condition_variable progress_cv_;
  std::atomic<std::uint64_t> finalized_{0};

  // Counters: written by the writer thread only, read by stats() (relaxed: a snapshot).
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dead_lettered_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::int64_t> oldest_unix_ns_{0};
  std::atomic<bool> failing_{false};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
};

}  // namespace evlog::detail
