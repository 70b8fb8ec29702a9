// evlog/stats.hpp — counters whose accounting is exact.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace evlog {

// A snapshot of one logger's counters, taken by `Logger::stats()`.
//
// Accounting: every `log()` call is counted in exactly one of
//   rejected + dropped + written + queued + spilled + dead_lettered + lost
// Once `flush()` or `shutdown()` has returned true and no `log()` runs concurrently, that sum
// equals the number of calls. While events move, a snapshot is not atomic across fields: it may
// miss, or count twice, the events the writer is moving at that instant (up to one batch, as it
// takes a batch from the queue or settles one as written, spilled or dead-lettered).
struct Stats {
  // --- counters (only grow) ---
  std::uint64_t rejected = 0;  // invalid events and calls after shutdown began
  std::uint64_t dropped = 0;   // not admitted because the queue was full (sum of the two below)
  std::uint64_t dropped_queue_full = 0;  // ... no free slot (or evicted by OnFull::drop_oldest)
  std::uint64_t dropped_bytes_full = 0;  // ... Options::max_queue_bytes reached
  std::uint64_t written = 0;             // this logger's events known to be in the table
  std::uint64_t dead_lettered = 0;   // refused by the database for their data, kept with the reason
  std::uint64_t lost = 0;            // not written by a shutdown deadline (always warned about)
  std::uint64_t batches = 0;         // transactions committed
  std::uint64_t retries = 0;         // failed attempts to write a batch (each retried later)
  std::uint64_t replayed = 0;        // events from other processes' spill files written by this
                                     // logger; not part of the accounting sum
  std::uint64_t spill_failures = 0;  // appends to a spill file that failed (disk full, I/O error)
  std::uint64_t spill_corrupt = 0;   // corrupt spans (torn tail, bad checksum) skipped in spill
                                     // files this logger replayed, its own or others'; each is
                                     // also warned about with its file and offset
  std::uint64_t committed_waits = 0;  // committed-delivery calls answered `committed`
  std::uint64_t commit_timeouts = 0;  // committed-delivery calls answered `timed_out`

  // --- gauges ---
  std::uint64_t queued = 0;        // admitted and in memory now (queue + the writer's batch)
  std::uint64_t spilled = 0;       // admitted and now only on disk, waiting for replay
  std::uint64_t queued_bytes = 0;  // payload bytes held beyond the fixed slots (large metadata)
  std::uint64_t spill_bytes = 0;   // bytes of this logger's spill files on disk
  // Age of the oldest event the writer holds and has not yet settled (it takes events from the
  // queue in order, so while it holds any, that is the oldest in memory); zero when it holds
  // none. Events the writer has not taken yet are at most a tick (max_delay / 2) behind, so the
  // figure lags by at most that; spilled events are not included (see `spilled`).
  std::chrono::microseconds oldest_queued_age{0};
  // The last error the database reported (passwords masked); empty if none yet.
  std::string last_error;
  // True while the writer is failing to write (cleared by the next committed batch).
  bool database_failing = false;
};

}  // namespace evlog
