// Counters — the logger's tallies behind Stats: one atomic per field of kStatsFields, shared by
// the producers (rejected, dropped, commit waits) and the writer (written, spilled, batches, ...).
//
// A field is named by its member pointer (counters.add<&Stats::written>(n)), resolved to an
// index at compile time, so adding a field to Stats and kStatsFields is all a new counter needs.
// Three fields are not tallied here but computed by Logger::stats() from the queue and the byte
// budget (dropped, queued, queued_bytes); their slots stay zero.
//
// Memory order: relaxed unless a caller says otherwise; each tally orders nothing else. The
// exception is `spilled`: the writer adds a spilled batch with release after taking it out of its
// in_flight count, and subtracts a replayed file with release after counting its events written,
// which flush waiters (Writer::wait_flushed) and copy_to() read with acquire.
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

#include "evlog/stats.hpp"

namespace evlog::detail {

using StatsMember = std::uint64_t Stats::*;

class Counters {
 public:
  template <StatsMember Field>
  void add(std::uint64_t n = 1, std::memory_order order = std::memory_order_relaxed) noexcept {
    values_[index_of<Field>()].fetch_add(n, order);
  }
  template <StatsMember Field>
  void sub(std::uint64_t n, std::memory_order order = std::memory_order_relaxed) noexcept {
    values_[index_of<Field>()].fetch_sub(n, order);
  }
  template <StatsMember Field>
  void store(std::uint64_t n, std::memory_order order = std::memory_order_relaxed) noexcept {
    values_[index_of<Field>()].store(n, order);
  }
  template <StatsMember Field>
  std::uint64_t load(std::memory_order order = std::memory_order_relaxed) const noexcept {
    return values_[index_of<Field>()].load(order);
  }

  // Every tallied field into `stats`, each read on its own. Acquire: a release increment (the
  // writer's count of a spilled batch, made after the batch left its in_flight) is seen together
  // with what preceded it, so a caller that reads in_flight afterwards does not count those
  // events twice. Free on x86 (a plain load); stats() is not on the hot path anyway.
  void copy_to(Stats& stats) const noexcept {
    for (std::size_t i = 0; i < kFields; ++i) {
      stats.*kStatsFields[i].member = values_[i].load(std::memory_order_acquire);
    }
  }

  // In a child process after fork(), before any other thread of the child can see the logger.
  void reset() noexcept {
    for (auto& value : values_) value.store(0, std::memory_order_relaxed);
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
};

}  // namespace evlog::detail
