// Counters — the logger's tallies behind Stats: one atomic per field of kStatsFields, shared by
// the producers (rejected, dropped, commit waits) and the writer (written, spilled, batches, ...).
//
// A field is named by its member pointer (counters.add<&Stats::written>(n)), resolved to an
// index at compile time, so adding a field to Stats and kStatsFields is all a new counter needs.
// Three fields are not tallied here but computed by Logger::stats() from the queue and the byte
// budget (dropped, queued, queued_bytes); their slots stay zero.
//
// Consistent snapshots: a sequence lock around every move of events between the accounting's
// terms. A move takes events out of one term and puts them in another (the writer taking a batch
// from the queue into its in_flight; settling events as written, dead-lettered, spilled or lost;
// a replayed spill file leaving `spilled`; the shutdown's sweep of the queue). Exactly one thread
// moves at a time: the writer thread, or once it has been joined the thread that shuts down.
// A move runs between begin_move() and end_move() (a MoveSection); read_consistent() repeats its
// reads until no move began or ended meanwhile, so the reads see every move whole or not at all.
// Producers never move, so log() pays nothing for it. The one producer path that takes an event
// out of the queue (OnFull::drop_oldest's eviction) counts the drop before its pop; the reader
// loads the queue's head before the tallies and again after them, and reads again if it moved
// (see Logger::Impl::stats()).
//
// Memory order: every change is a release and every read for a snapshot an acquire (free on x86:
// a locked instruction and a plain load either way; the producers' changes are on slow paths
// only). The sequence lock is the one without fences (ThreadSanitizer does not model them):
// begin_move() stores an odd value, every change inside the move is a release sequenced after it,
// end_move() stores the next even value with release. A reader loads the sequence (acquire), the
// data (acquire), then the sequence again. Had it seen any change of a move, that change's
// release carries the move's odd value with it, so the second load sees that value or a later
// one and the reader tries again; had the first load seen a move's even end, every change of
// that move is visible. `spilled` doubles as the flush waiters' signal: the writer subtracts a
// replayed file after counting its events written, and Writer::wait_flushed() loads it with
// acquire.
//
// Producers touch their slots only on slow paths (a rejected, dropped or committed-delivery call)
// and the writer once per batch, so sharing cache lines among them costs log()'s fast path
// nothing.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <thread>

#include "evlog/stats.hpp"

namespace evlog::detail {

using StatsMember = std::uint64_t Stats::*;

class Counters {
 public:
  template <StatsMember Field>
  void add(std::uint64_t n = 1, std::memory_order order = std::memory_order_release) noexcept {
    values_[index_of<Field>()].fetch_add(n, order);
  }
  template <StatsMember Field>
  void sub(std::uint64_t n, std::memory_order order = std::memory_order_release) noexcept {
    values_[index_of<Field>()].fetch_sub(n, order);
  }
  template <StatsMember Field>
  void store(std::uint64_t n, std::memory_order order = std::memory_order_release) noexcept {
    values_[index_of<Field>()].store(n, order);
  }
  template <StatsMember Field>
  std::uint64_t load(std::memory_order order = std::memory_order_relaxed) const noexcept {
    return values_[index_of<Field>()].load(order);
  }

  // Every tallied field into `stats`, each read on its own (call inside read_consistent() for a
  // snapshot that balances).
  void copy_to(Stats& stats) const noexcept {
    for (std::size_t i = 0; i < kFields; ++i) {
      stats.*kStatsFields[i].member = values_[i].load(std::memory_order_acquire);
    }
  }

  // The moving thread only (see the top of this file); sections do not nest.
  void begin_move() noexcept {
    const std::uint64_t s = sequence_.load(std::memory_order_relaxed);
    sequence_.store(s + 1, std::memory_order_relaxed);  // the changes that follow are releases
  }
  void end_move() noexcept {
    const std::uint64_t s = sequence_.load(std::memory_order_relaxed);
    sequence_.store(s + 1, std::memory_order_release);
  }

  // Calls read() (acquire loads only) until it ran while no move was in progress, none began
  // meanwhile, and unchanged() (acquire loads too) still holds: the caller's check
  // that nothing it reads outside the moves changed under it. Yields while a move is in
  // progress: the writer's longest (taking a batch of max_batch events from the queue) lasts a
  // fraction of a millisecond.
  template <class Read, class Unchanged>
  void read_consistent(Read&& read, Unchanged&& unchanged) const noexcept {
    for (;;) {
      const std::uint64_t before = sequence_.load(std::memory_order_acquire);
      if (before & 1) {
        std::this_thread::yield();
        continue;
      }
      read();
      // Relaxed: the acquire loads in read() and unchanged() keep it after them.
      if (sequence_.load(std::memory_order_relaxed) == before && unchanged()) return;
    }
  }

  // In a child process after fork(), before any other thread of the child can see the logger.
  void reset() noexcept {
    for (auto& value : values_) value.store(0, std::memory_order_relaxed);
    // A fork taken while the parent's writer was mid-move leaves an odd value here.
    sequence_.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kFields = std::size(kStatsFields);

  template <StatsMember Field>
  static constexpr std::size_t index_of() noexcept {
    constexpr std::size_t index = [] {
      for (std::size_t i = 0; i < kFields; ++i) {
        if (kStatsFields[i].member == Field) return i;
      }
      return kFields;
    }();
    static_assert(index < kFields, "every counter is a field listed in kStatsFields");
    return index;
  }

  std::array<std::atomic<std::uint64_t>, kFields> values_{};
  // Even while no move is in progress; odd during one.
  alignas(64) std::atomic<std::uint64_t> sequence_{0};
};

// One move, as a scope: end_move() also when the move throws (std::bad_alloc in a settle), so a
// reader never waits for good.
class MoveSection {
 public:
  explicit MoveSection(Counters& counters) noexcept : counters_(counters) {
    counters_.begin_move();
  }
  ~MoveSection() { counters_.end_move(); }
  MoveSection(const MoveSection&) = delete;
  MoveSection& operator=(const MoveSection&) = delete;

 private:
  Counters& counters_;
};

}  // namespace evlog::detail
