// BoundedMpscQueue — a fixed-capacity queue for many producers and one consumer, lock-free.
//
// The algorithm is the bounded array queue with a sequence number per cell (D. Vyukov): a producer
// claims a position with one CAS on `tail_`, fills the cell and publishes it by storing the cell's
// sequence; the consumer claims with one CAS on `head_`, moves the value out and frees the cell by
// storing the sequence a lap later. It knows nothing of what it stores.
//
// Threads:
//   - try_push(): any number of threads at once.
//   - try_pop(): the consumer; also producers that evict the oldest element (OnFull::drop_oldest),
//     which is why popping claims with a CAS rather than a plain store.
//   - size_approx(), head_position(), tail_position(): any thread; a snapshot that may be stale.
//   - reset(): only when no other thread touches the queue (after fork(), in the child).
//
// Invariants (positions are 64-bit and never wrap in practice):
//   1. head_ <= tail_; tail_ - head_ <= capacity.
//   2. Cell i's seq is i's position p while free for the producer of p, p + 1 once the value of p
//   is
//      published, and p + capacity once the value was moved out (free for the producer of the next
//      lap). A cell is read or written only by the one thread whose CAS claimed its position.
//   3. Positions below head_ were claimed by a consumer; positions below tail_ by a producer. A
//      claimed but not yet published position makes try_pop() report empty until it is published:
//      elements are popped strictly in position order.
//
// Memory: capacity cells of sizeof(Cell) bytes, allocated and touched once at construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace evlog::detail {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class BoundedMpscQueue {
  static_assert(std::is_default_constructible_v<T>);

 public:
  struct alignas(kCacheLine) Cell {
    std::atomic<std::uint64_t> seq;
    T value;
  };

  // `capacity` must be a power of two ≥ 2.
  explicit BoundedMpscQueue(std::size_t capacity)
      : mask_(capacity - 1), cells_(new Cell[capacity]) {
    reset();
  }

  BoundedMpscQueue(const BoundedMpscQueue&) = delete;
  BoundedMpscQueue& operator=(const BoundedMpscQueue&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Claims the next position and calls fill(T&) on its cell. Returns the position, or nothing when
  // the queue is full (fill is not called). Lock-free; one CAS on success in the common case.
  template <class Fill>
  std::optional<std::uint64_t> try_push(Fill&& fill) noexcept {
    // Relaxed: only a hint of where to start; the CAS below validates it.
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the consumer's release store of `pos` (the cell's previous value was
      // moved out), so our writes to the cell cannot race with that read.
      const std::uint64_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        // The cell is handed over by its seq, not by tail_. Release on success orders this
        // producer's earlier pops (evictions) before the new tail, for a thread that loads tail_
        // with acquire (Logger::stats()); a locked CAS either way on x86.
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          fill(cell.value);
          // Release pairs with the consumer's acquire load of seq: the value is visible first.
          cell.seq.store(pos + 1, std::memory_order_release);
          return pos;
        }
        // CAS failure reloaded `pos`; try the new position.
      } else if (diff < 0) {
        return std::nullopt;  // the cell of this position still holds last lap's value: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);  // another producer took pos; catch up
      }
    }
  }

  // Moves the oldest published element out: calls take(T&, position) on it. Returns false when
  // there is none (empty, or the oldest claimed position is not published yet).
  template <class Take>
  bool try_pop(Take&& take) noexcept {
    std::uint64_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the producer's release store of pos + 1: the value is complete.
      const std::uint64_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - (pos + 1));
      if (diff == 0) {
        // Release on success: what the popping thread did before (an evicting producer's count
        // of the drop) is seen by a thread that loads head_ with acquire and sees the new value.
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          take(cell.value, pos);
          // Release pairs with the producer's acquire load: our read of the value happens first.
          cell.seq.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Elements claimed and not yet popped (may include claimed-but-unpublished ones).
  std::size_t size_approx() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

  // Every position below this was claimed by a consumer. Acquire pairs with nothing in particular:
  // callers use it as an ordering point together with their own synchronisation.
  std::uint64_t head_position() const noexcept { return head_.load(std::memory_order_acquire); }
  // Every position below this was claimed by a producer.
  std::uint64_t tail_position() const noexcept { return tail_.load(std::memory_order_acquire); }

  // Empties the queue without touching the values' ownership (the caller has dealt with them) and
  // restarts positions at 0. Only when no other thread uses the queue.
  void reset() noexcept {
    for (std::size_t i = 0; i <= mask_; ++i) {
      cells_[i].seq.store(i, std::memory_order_relaxed);
    }
    head_.store(0, std::memory_order_relaxed);
    tail_.store(0, std::memory_order_release);
  }

 private:
  // Producer and consumer indices on separate cache lines, so that producers claiming positions do
  // not invalidate the line the consumer claims from, and vice versa.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  alignas(kCacheLine) const std::uint64_t mask_;
  std::unique_ptr<Cell[]> cells_;
};

}  // namespace evlog::detail
