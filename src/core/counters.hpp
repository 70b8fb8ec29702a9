// Counters — the logger's tallies behind Stats: one atomic per field of kStatsFields, shared by
// the producers (rejected, dropped, commit waits) and the writer (written, spilled, batches, ...).
//
// A field is named by its member pointer (counters.add<&Stats::written>(n)), resolved to an
// index at compile time, so adding a field to Stats and kStatsFields is all a new counter needs.
// Three fields are not tallied here but computed by Logger::stats() from the queue and the byte
// budget (dropped, queued, queued_bytes); their slots stay zero.
//
// Memory order: relaxed unless a caller says otherwise. Each tally orders nothing else and a
// stats() snapshot reads each field on its own. The exception is `spilled`, which flush waiters
// read with acquire (see Writer::wait_flushed) against the writer's release decrement.
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

  // Every tallied field into `stats`, each read on its own (relaxed).
  void copy_to(Stats& stats) const noexcept {
    for (std::size_t i = 0; i < kFields; ++i) {
      stats.*kStatsFields[i].member = values_[i].load(std::memory_order_relaxed);
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
