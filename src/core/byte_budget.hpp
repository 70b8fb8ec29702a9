// ByteBudget — a cap on the payload bytes queued events hold outside their slots.
//
// Producers reserve into a shard of their own (one cache line per shard), so two threads logging
// large events do not fight over one line; small events (stored inline in their slot) never touch
// the budget at all. The consumer releases into a line of its own.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace evlog::detail {

class ByteBudget {
 public:
  explicit ByteBudget(std::size_t limit) : limit_(static_cast<std::int64_t>(limit)) {}

  // Producer: takes `bytes` from the budget, or returns false (and takes nothing) if that would
  // pass the limit. Sequentially consistent add-then-read: of two racing reservers at least one
  // sees the other's reservation, so together they never pass the limit.
  bool try_reserve(std::size_t bytes) noexcept {
    auto& shard = shards_[shard_index()].reserved;
    const auto n = static_cast<std::int64_t>(bytes);
    shard.fetch_add(n, std::memory_order_seq_cst);
    if (in_use() > limit_) {
      shard.fetch_sub(n, std::memory_order_seq_cst);
      return false;
    }
    return true;
  }

  // Any thread: gives back bytes of an event that left the queue. Sequentially consistent, like
  // the reservations: a reserver that reads in_use() after this release sees the room it made
  // (a relaxed release could leave a producer dropping for room that was already freed).
  void release(std::size_t bytes) noexcept {
    released_.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_seq_cst);
  }

  // Bytes reserved and not yet released. Sequentially consistent loads: they take part in the
  // add-then-read order of try_reserve() above. A snapshot for stats().
  std::int64_t in_use() const noexcept {
    std::int64_t sum = -released_.load(std::memory_order_seq_cst);
    for (const auto& shard : shards_) sum += shard.reserved.load(std::memory_order_seq_cst);
    return sum;
  }

  // After fork(), in the child, before any other thread uses the budget: no ordering needed.
  void reset() noexcept {
    for (auto& shard : shards_) shard.reserved.store(0, std::memory_order_relaxed);
    released_.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    std::atomic<std::int64_t> reserved{0};
  };

  static std::size_t shard_index() noexcept {
    // Relaxed: it only spreads threads over shards; any value is correct.
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return index;
  }

  const std::int64_t limit_;
  Shard shards_[kShards];
  alignas(64) std::atomic<std::int64_t> released_{0};
};

}  // namespace evlog::detail
