// evlog/stats.hpp — counters whose accounting is exact.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace evlog {

// A snapshot of one logger's counters, taken by `Logger::stats()`.
//
// Accounting: every `log()` call is counted in exactly one of
//   rejected + dropped + written + queued + spilled + dead_lettered + lost   (accounted())
// Once `flush()` or `shutdown()` has returned true and no `log()` runs concurrently, that sum
// equals the number of calls. At any other instant it balances too: a snapshot sees each move of
// events between those terms (the writer taking a batch from the queue, settling it as written,
// spilled, dead-lettered or lost, a spill file replayed, an eviction by OnFull::drop_oldest)
// whole or not at all, so the sum lies between the number of log() calls that had returned when
// stats() was called and the number that had begun when it returned.
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

  // The accounting sum above: the number of `log()` calls once the logger is quiet.
  constexpr std::uint64_t accounted() const noexcept {
    return rejected + dropped + written + queued + spilled + dead_lettered + lost;
  }
};

// Every whole-number field of `Stats`, in declaration order, with what it means. Exporters (the
// classroom app's /metrics, the Python binding) walk this table instead of naming each field, and
// the library keeps its tallies in storage indexed by it: a new counter is a member above and one
// line here, and every exporter has it.
struct StatsField {
  enum class Kind : std::uint8_t {
    counter,
    gauge
  };  // a counter only grows; a gauge goes both ways
  const char* name;
  std::uint64_t Stats::*member;
  Kind kind;
  const char* help;  // one sentence
};

inline constexpr StatsField kStatsFields[] = {
    {"rejected", &Stats::rejected, StatsField::Kind::counter,
     "Invalid events and calls after shutdown began."},
    {"dropped", &Stats::dropped, StatsField::Kind::counter,
     "Events not admitted because the queue was full (the sum of the two reasons)."},
    {"dropped_queue_full", &Stats::dropped_queue_full, StatsField::Kind::counter,
     "Events dropped for want of a free slot, or evicted by drop_oldest."},
    {"dropped_bytes_full", &Stats::dropped_bytes_full, StatsField::Kind::counter,
     "Events dropped because max_queue_bytes was reached."},
    {"written", &Stats::written, StatsField::Kind::counter, "Events known to be in the table."},
    {"dead_lettered", &Stats::dead_lettered, StatsField::Kind::counter,
     "Events the database refused for their data, kept with the reason."},
    {"lost", &Stats::lost, StatsField::Kind::counter, "Events not written by a shutdown deadline."},
    {"batches", &Stats::batches, StatsField::Kind::counter, "Transactions committed."},
    {"retries", &Stats::retries, StatsField::Kind::counter, "Failed attempts to write a batch."},
    {"replayed", &Stats::replayed, StatsField::Kind::counter,
     "Events from other processes' spill files written by this logger."},
    {"spill_failures", &Stats::spill_failures, StatsField::Kind::counter,
     "Appends to a spill file that failed."},
    {"spill_corrupt", &Stats::spill_corrupt, StatsField::Kind::counter,
     "Corrupt spans skipped in replayed spill files."},
    {"committed_waits", &Stats::committed_waits, StatsField::Kind::counter,
     "Committed-delivery calls answered committed."},
    {"commit_timeouts", &Stats::commit_timeouts, StatsField::Kind::counter,
     "Committed-delivery calls answered timed_out."},
    {"queued", &Stats::queued, StatsField::Kind::gauge,
     "Admitted events in memory now (the queue and the writer's batch)."},
    {"spilled", &Stats::spilled, StatsField::Kind::gauge,
     "Admitted events only on disk now, waiting for replay."},
    {"queued_bytes", &Stats::queued_bytes, StatsField::Kind::gauge,
     "Payload bytes held beyond the fixed slots."},
    {"spill_bytes", &Stats::spill_bytes, StatsField::Kind::gauge,
     "Bytes of this logger's spill files on disk."},
};

}  // namespace evlog
