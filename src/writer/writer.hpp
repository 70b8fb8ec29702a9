// Writer — the background thread that moves events from the queue into the database.
//
// The life of a batch: take up to max_batch published events from the queue (strictly in queue
// order), format their id and timestamp text, write them through the sink in one transaction, and
// settle each one: written; dead-lettered (refused for its data: kept in the dead-letter file with
// the reason); spilled (appended and fsynced to a spill file while the database cannot take it,
// replayed later); or lost (a shutdown deadline passed and it could not be spilled).
//
// States: healthy, or failing since the first failed attempt. While failing, attempts are spaced
// by exponential backoff with jitter; the batch is kept, and once the database has failed for
// `spill_after` (or the queue passes three quarters full, or shutdown has begun) batches go to the
// spill directory instead, so the queue keeps draining. While healthy, the writer replays spill
// files, its own first, then those no live process holds, oldest first, a chunk per turn of its
// loop after the live events: a chunk is about max_delay / 4 of commit time (see
// replay_chunk_size()), and while a replay is pending the writer does not sleep between turns. So
// replay takes the database time live events leave (at live rate L and commit capacity C events
// a second, it drains C - L events a second), and a live event waits for at most one replay
// chunk's commit beyond its usual wait. Other processes' files are looked for only when idle.
//
// When it runs: every `tick` (max_delay / 2) while events wait; at once when a producer sees the
// queue pass `wake_stride` events, or when someone waits (committed delivery, flush, shutdown).
// Producers at a paced rate never wake it, so log() makes no system call. After a batch that
// finished committed callers' tickets it polls (yielding the core) for kCallerFollowUp before
// it sleeps: a request thread that logs critical events back to back then finds it awake.
//
// Threads:
//   - start(), stop(): the owning Logger, once each.
//   - wake_if_sleeping(), request_urgent(), wait_*(), status(), notify_waiters(): any thread.
//   - everything else: the writer thread only.
//
// Invariants:
//   1. Every record the writer popped is in `batch_` until it is settled; a settled record is
//      counted in exactly one of written, dead_lettered, spilled, lost before it leaves. Each
//      move between those terms (queue to in_flight, in_flight or spilled to a final tally) runs
//      in one MoveSection (core/counters.hpp), so that stats() sees it whole or not at all.
//   2. settled_ only grows; every queue position below it is settled (popped and settled by the
//      writer, or evicted and counted as dropped by a producer). Events in next_ (prefetched while
//      the database worked on batch_) are popped and not settled: progress waits for them too.
//   3. A committed-delivery ticket is finished only after the event's fate is final (a spilled
//      event's ticket stays pending: its caller times out); finishing it wakes its caller. Flush
//      waiters are notified after every batch.
//   4. A replayed spill file is counted (written/replayed) only once all its records are
//      committed; it is deleted only after that. The release decrement of `spilled` that ends it
//      pairs with wait_flushed()'s acquire load: a flush that sees zero sees the writes counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/counters.hpp"
#include "core/event_id.hpp"
#include "core/event_record.hpp"
#include "evlog/sink.hpp"
#include "queue/bounded_mpsc_queue.hpp"
#include "spill/spill_reader.hpp"
#include "spill/spill_store.hpp"
#include "writer/warning_limiter.hpp"

namespace evlog::detail {

// The name of every writer thread (the README documents it for operators).
inline constexpr char kWriterThreadName[] = "evlog-writer";

using EventQueue = BoundedMpscQueue<EventRecord>;
using Clock = std::chrono::steady_clock;

struct WriterConfig {
  std::size_t max_batch = 4096;
  std::chrono::milliseconds tick{50};
  std::size_t wake_stride = 1024;  // power of two
  std::chrono::milliseconds retry_initial{10};
  std::chrono::milliseconds retry_max{1000};
  std::chrono::milliseconds spill_after{1000};
};

// What the writer alone knows, for Logger::stats(); its tallies are in the shared Counters.
struct WriterStatus {
  std::uint64_t in_flight = 0;      // events taken from the queue and not yet settled
  std::int64_t oldest_unix_ns = 0;  // 0: the writer holds nothing unsettled
  bool failing = false;
  std::string last_error;
};

class Writer {
 public:
  // `spill` may be null (no spill directory).
  Writer(const WriterConfig& config, EventQueue& queue, ByteBudget& budget, Counters& counters,
         WarningLimiter& warnings, std::unique_ptr<Sink> sink, std::unique_ptr<SpillStore> spill);
  ~Writer();

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  // Drains and writes until the queue is empty or `deadline` passes; what is left is spilled
  // (with a spill directory) or lost (counted, warned). Joins the thread. Idempotent.
  void stop(Clock::time_point deadline) noexcept;

  // A producer's cheap nudge at a wake-stride boundary, or on a full queue: wakes the writer
  // only if it sleeps, and only one producer of many takes the wake-up mutex for it.
  void wake_if_sleeping() noexcept {
    // Relaxed: a stale `false` only delays the writer until its next tick. wake_pending_ is
    // cleared by the writer when it wakes; exchange lets exactly one producer through meanwhile.
    if (sleeping_.load(std::memory_order_relaxed) &&
        !wake_pending_.exchange(true, std::memory_order_relaxed)) {
      wake();
    }
  }
  // Someone waits on the writer (committed delivery, flush): write what is queued now.
  void request_urgent() noexcept;

  // Flush: true once every queue position below `position` is settled and nothing this logger
  // spilled waits for replay; false at `deadline`.
  bool wait_flushed(std::uint64_t position, Clock::time_point deadline) noexcept;
  // Wakes flush waiters to re-check (committed-delivery callers wait on their own tickets).
  void notify_waiters() noexcept;

  WriterStatus status() const;
  // Events taken from the queue and not yet settled. Acquire, for Logger::stats()'s read inside
  // Counters::read_consistent() (see core/counters.hpp: changes release, reads acquire).
  std::uint64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }

  // After fork(), in the child: forget the thread, the sink and the spill files without touching
  // them (they belong to the parent). The object must then be leaked, not destroyed.
  void abandon_after_fork() noexcept;

  // fork() handlers for every running writer (called by the one registration, core/fork.cpp):
  // before fork() each writer finishes its database call in progress and closes a SQLite
  // connection, because SQLite keeps its POSIX-lock bookkeeping per process: a connection the child
  // inherits (even one it never uses) would make the child's own connection skip taking its locks,
  // and the parent closing its last connection would then delete the WAL under the child. The
  // parent reopens on its next write.
  static void prepare_fork() noexcept;
  static void after_fork_in_parent() noexcept;
  static void after_fork_in_child() noexcept;

 private:
  enum class Origin : std::uint8_t { queue, own_spill, foreign_spill };
  struct Pending {
    EventRecord record;
    char text[kEventIdChars + kCreatedAtChars];  // formatted id, then created_at
    Origin origin = Origin::queue;
    bool settled = false;
    std::uint64_t position = 0;  // the queue position of a prefetched event (next_)
  };
  struct ReplayTally {
    std::uint64_t written = 0;
    std::uint64_t dead_lettered = 0;
  };
  struct ReplayInProgress {
    SpillStore::Segment segment;        // locked; put back or finished before this ends
    std::string bytes;                  // the file, read whole at the start (a read is cheap) ...
    std::optional<SpillParser> parser;  // ... and parsed a chunk at a time (decoding is not)
    std::uint64_t read_back = 0;        // records parsed so far
    // The records of the chunks committed so far, their tally, and where the rest of the file
    // begins (a chunk that fails may have settled some of its events: they are not in these).
    std::uint64_t committed = 0;
    ReplayTally committed_tally;
    std::size_t committed_offset = 0;
  };
  static constexpr std::size_t kReplayMinChunk = 64;

  // writer.cpp: the loop and the life of a batch.
  void run() noexcept;
  // One turn of the loop: false once the writer should stop. May throw std::bad_alloc.
  bool run_once(Clock::time_point& next_tick);
  // After an exception escaped run_once(): keep the batch, back off as after a failed write.
  void recover_from_exception() noexcept;
  void sleep_until(Clock::time_point until) noexcept;
  void wake() noexcept;
  bool stopping() const noexcept { return stop_requested_.load(std::memory_order_acquire); }
  // Moves the prefetched events (next_) into the batch, then takes more from the queue.
  std::size_t fill_batch();
  // The sink's while_waiting() work: takes the next batch from the queue into next_ (formatted)
  // while the database works on the current one. Never touches batch_, whose text the sink's
  // rows point into.
  void prefetch() noexcept;
  Pending& add_pending(EventRecord&& record, Origin origin);
  static void format_pending(Pending& pending) noexcept;
  // Opens the sink if needed and writes the batch's unsettled events (one transaction, or more
  // when the database refuses some), under sink_mu_; then drops the settled ones from the batch.
  SinkStatus write_batch();
  // write_batch(), and on failure the failing state and perhaps a spill.
  bool attempt_write();
  SinkStatus write_range(std::size_t begin, std::size_t end);
  // settle_written(), settle(): inside a MoveSection, together with the tally of the event's new
  // state (settle() takes an event from the queue out of in_flight).
  void settle_written(Pending& pending);
  void settle(Pending& pending, CommitTicket::State state, std::string_view reason);
  // The writer thread alone writes in_flight_: a load and a store, no read-modify-write.
  void add_in_flight(std::int64_t n) noexcept {
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(n),
                     std::memory_order_release);
  }
  void compact_batch();
  void publish_progress() noexcept;
  void report_drops() noexcept;
  // A failed attempt, whatever failed (the database, or memory for the batch): counted,
  // reported, the failing state entered or prolonged, the sink reopened and the next attempt
  // scheduled after backoff. note_success() leaves the failing state.
  void note_failure(std::string_view message) noexcept;
  void note_success();
  Clock::duration backoff(unsigned attempt) noexcept;
  // Past three quarters full, the writer spills rather than waits for a slow or failing database,
  // so that producers keep finding room.
  bool queue_nearly_full() const noexcept {
    return queue_.size_approx() >= queue_.capacity() / 4 * 3;
  }

  // writer_spill.cpp: spilling, replay, dead letters, and the end of a shutdown.
  bool should_spill(Clock::time_point now) const;
  bool spill_batch();
  // One step of a replay: starts one (the next spill file) if none is in progress, then parses
  // and writes its next chunk in one transaction; the file is counted and deleted after its last.
  void replay_step();
  bool start_replay();
  void report_corrupt(const std::string& path, const SpillContents& contents);
  void replay_next_chunk();
  void finish_replay();
  // Puts the file of the replay in progress back for later, without its committed chunks.
  void abandon_replay() noexcept;
  // Before a half-done replay's file is put back: take its committed chunks out of it and count
  // them (SpillStore::drop_prefix), so that no event is both in the table and on disk.
  void drop_committed_prefix();
  // Events per replay chunk: about a quarter of max_delay of commit time (kReplayMinChunk until
  // measured), at least kReplayMinChunk (or max_batch if smaller), at most max_batch.
  std::size_t replay_chunk_size() const noexcept;
  void dead_letter(Pending& pending, std::string_view reason);
  void settle_remaining_at_shutdown() noexcept;

  const WriterConfig config_;
  EventQueue& queue_;
  ByteBudget& budget_;
  Counters& counters_;  // the logger's, shared with its producers
  WarningLimiter& warnings_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<SpillStore> spill_;
  std::thread thread_;

  // Held by the writer thread around every call into the sink, and by prepare_fork(): a fork
  // waits for the transaction in progress (each bounded by db_timeout), never splits one.
  std::mutex sink_mu_;

  // Writer-thread state.
  std::vector<Pending> batch_;
  std::vector<Pending> next_;  // prefetched: taken from the queue (in in_flight), not yet batched
  std::vector<Row> rows_;
  std::vector<std::size_t> row_index_;
  std::uint64_t urgent_seen_ = 0;
  std::uint64_t drops_reported_ = 0;
  std::uint64_t jitter_state_;
  bool needs_open_ = true;  // open() before the next write: at start and after any failure
  bool failing_state_ = false;
  Clock::time_point failing_since_{};
  Clock::time_point next_attempt_{};
  Clock::time_point next_spill_attempt_{};
  unsigned attempt_ = 0;
  ReplayTally tally_;  // of the replay in progress
  std::optional<ReplayInProgress> replay_;
  // What committing one event costs, smoothed over recent batches (0: not measured yet); sizes
  // the replay chunks so that live events wait for at most about max_delay / 4 of replay.
  double seconds_per_event_ = 0.0;
  // Until then the writer polls instead of sleeping: it has just woken committed callers.
  Clock::time_point poll_until_{};
  bool finished_tickets_ = false;  // this turn of the loop finished a caller's ticket

  // Wake-up: the writer sleeps on wake_cv_; wake_requested_ is guarded by wake_mu_.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_requested_ = false;
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> wake_pending_{false};
  std::atomic<std::uint64_t> urgent_requests_{0};

  // Shutdown: stop_deadline_ is written before the release store of stop_requested_.
  std::atomic<bool> stop_requested_{false};
  Clock::time_point stop_deadline_{};
  std::once_flag stop_once_;

  // Progress, for flush and committed waiters: stored (release) before the notification under
  // progress_mu_; waiters re-check under the same mutex, so no wake-up is lost.
  mutable std::mutex progress_mu_;
  std::condition_variable progress_cv_;
  std::atomic<std::uint64_t> settled_{0};

  // Read by status() and in_flight(), any thread; written by the writer thread only (in_flight_
  // inside MoveSections).
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::int64_t> oldest_unix_ns_{0};
  std::atomic<bool> failing_{false};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
};

}  // namespace evlog::detail
