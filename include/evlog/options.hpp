// evlog/options.hpp — how a Logger is configured. Every field has a default that suits a web app.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "evlog/sink.hpp"

namespace evlog {

// What `log()` does when the queue has no room (no free slot, or `max_queue_bytes` reached).
enum class OnFull {
  drop_newest,  // the new event is dropped (counted); log() never waits
  drop_oldest,  // the oldest queued event is dropped (counted) to make room for the new one; if the
                // writer is preempted while moving out the very slot the new event needs, log()
                // yields up to 20 ms for it, then drops the new event instead (counted). When
                // max_queue_bytes is what is full, the new event is dropped: evicting small events
                // would free none of the bytes that large ones hold
  block,        // wait up to `block_timeout` for room, then drop the new event (counted)
};

// How `log()` delivers one event.
enum class Delivery {
  async,      // return `queued` at once; the writer commits it within `max_delay`
  committed,  // return once the batch holding the event is committed (group commit)
};

// How durable a commit is (SQLite: the `synchronous` pragma, in WAL mode).
enum class Durability {
  normal,  // synchronous=NORMAL: a committed event survives a crash of the process, but the last
           // commits may roll back on power loss or an OS crash
  full,    // a committed event also survives power loss: the WAL is synced (synchronous=FULL) at
           // every commit that holds a committed-delivery or replayed event, which makes every
           // earlier commit durable too; commits holding only async events are not synced
};

struct Options {
  // Where events go: a SQLite file path, e.g. "analytics.db" (created 0600 if missing).
  std::string database = "analytics.db";
  // The table: 1–63 bytes of [A-Za-z_][A-Za-z0-9_]*. Created if missing, older shape adopted.
  std::string table = "analytics_events";

  // Slots in the queue, ≥ 16, rounded up to a power of two. Memory fixed at construction:
  // queue_capacity × kSlotBytes (448 B): 28 MiB at the default. Trade-off: a larger queue rides
  // out longer database stalls before the overflow policy applies.
  std::size_t queue_capacity = 65536;
  // Cap on the memory that queued events hold beyond their slots: events larger than a slot's
  // inline budget keep their strings in one block each, from a pool of the logger's own, counted
  // at the block's size (the text + 16 bytes, rounded up by at most a quarter). Past it, the
  // overflow policy applies. Bounds memory for big metadata; the pool keeps at most this many
  // bytes of free blocks for reuse.
  std::size_t max_queue_bytes = 64 * 1024 * 1024;
  // Most events in one transaction. Larger batches amortise the commit further.
  std::size_t max_batch = 4096;
  // Longest an event waits in the queue before the writer commits it, while the database is
  // healthy. Smaller means fresher rows and more, smaller transactions.
  std::chrono::milliseconds max_delay{100};
  // What log() does when the queue is full.
  OnFull on_full = OnFull::drop_newest;
  // With OnFull::block: the longest log() waits for room before dropping the event.
  std::chrono::milliseconds block_timeout{10};
  // Largest metadata text accepted, in bytes (1 B … 16 MiB).
  std::size_t max_metadata_bytes = 64 * 1024;
  // What the destructor gives shutdown() to drain the queue.
  std::chrono::milliseconds shutdown_timeout{5000};

  // Bounds each database attempt (the SQLite busy timeout), so the writer stays responsive.
  std::chrono::milliseconds db_timeout{100};
  // Backoff after a failed attempt: starts here, doubles per failure, with jitter ...
  std::chrono::milliseconds retry_initial{10};
  // ... up to this cap.
  std::chrono::milliseconds retry_max{1000};

  // Event types that use Delivery::committed when log(event) is called without a delivery.
  std::set<std::string> critical_types;
  // The longest a committed-delivery call waits (for room in the queue, then for the commit).
  std::chrono::milliseconds commit_timeout{5000};
  // What a commit survives; see Durability.
  Durability durability = Durability::normal;

  // A directory for spill and dead-letter files (created 0700 if missing; empty = off). While the
  // database fails for `spill_after`, or the queue passes three quarters full because the
  // database cannot keep up, batches are appended to a spill file here (0600, checksummed,
  // fsynced) instead of overflowing the queue, and replayed once the database answers; shutdown
  // spills what it cannot commit by its deadline. Events the database refuses for their data go
  // to `dead-letters.jsonl` here with the database's message. Processes may share the directory:
  // each holds a lock on its own files, and a logger replays only files no live process holds.
  std::string spill_dir;
  // How long the database must fail before batches are spilled.
  std::chrono::milliseconds spill_after{1000};
  // Cap on this process's spill files in bytes; past it events stay in the queue (and the
  // overflow policy applies). Trade-off: outage length survived vs disk used.
  std::size_t max_spill_bytes = std::size_t{1} << 30;
  // A spill file is closed and a new one started past this size (≥ 64 KiB).
  std::size_t spill_segment_bytes = std::size_t{16} << 20;
  // Cap on the dead-letter file; past it dead letters are only counted and warned about.
  std::size_t max_dead_letter_bytes = std::size_t{64} << 20;

  // Receives warnings (drops, lost events, database errors), at most one line a second with a
  // count of what was suppressed. Called mostly on the writer thread, but also on the thread that
  // constructs the logger (a database not reachable yet) or calls shutdown() (events lost), one
  // call at a time; it must not call back into the logger. Empty: write to stderr.
  std::function<void(std::string_view)> on_warning;

  // Test and extension hook: when set, the logger writes through the sink this makes instead of
  // the one `database` names. Called once per writer (again in a child process after fork()).
  std::function<std::unique_ptr<Sink>()> make_sink;
};

// Checks `options` as Logger's constructor does before it opens anything, and throws
// evlog::Error naming the field and the rule it breaks. For a framework integration that refuses
// bad configuration at start-up, before any process opens the database.
void validate_options(const Options& options);

}  // namespace evlog
