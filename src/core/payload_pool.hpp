// PayloadPool — the blocks that hold the strings of events too large for a queue slot.
//
// Why not plain new/delete: producers allocate these blocks and the writer frees them. glibc keeps
// an arena per thread and a freed block returns to the arena that made it, so under a flood of
// large events every producer thread's arena grows to hold up to Options::max_queue_bytes on its
// own: resident memory rose with the number of request threads (measured with bench/memory_check:
// 72 MiB with one producer, 100 MiB with two, 121 MiB with four, against a 64 MiB bound). A
// logger's blocks circulate through its pool instead, whichever thread frees them, so the memory
// they take stays at what max_queue_bytes admits.
//
// A block is a 16-byte header (the owning pool, the size class) followed by the text. Size
// classes are 512 B, then four per doubling (640, 768, 896, 1024, 1280, …), so a block wastes at
// most a quarter of its size. A freed block goes on its class's free list (the list's link is
// stored in the block's text bytes) while the pool caches at most `max_cached_bytes`; beyond that
// it is freed. Blocks come from (and go back to) the global operator new/delete.
//
// Threads: allocate() and release() from any thread. The free lists are guarded by a spin lock
// held for a pointer swap and never across a call into the allocator; reset_after_fork() only in
// a child process after fork(), before any other thread of the child uses the pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace evlog::detail {

class PayloadPool {
 public:
  explicit PayloadPool(std::size_t max_cached_bytes) noexcept;
  ~PayloadPool();
  PayloadPool(const PayloadPool&) = delete;
  PayloadPool& operator=(const PayloadPool&) = delete;

  // A block for `bytes` bytes of text (its text pointer), or nullptr when memory is exhausted.
  char* allocate(std::size_t bytes) noexcept;
  // A block that belongs to no pool (release() deletes it): for records read back from spill files.
  static char* allocate_unpooled(std::size_t bytes) noexcept;
  // Gives back a block from either of the above (through its header); null is ignored.
  static void release(char* text) noexcept;
  // The bytes a block for `bytes` bytes of text takes: header and text rounded up to its size
  // class. This, not the text alone, is what counts against Options::max_queue_bytes.
  static std::size_t block_bytes(std::size_t bytes) noexcept;

  // Bytes of free blocks cached now (a snapshot).
  std::size_t cached_bytes() const noexcept { return cached_.load(std::memory_order_relaxed); }

  // In a child after fork(): another thread of the parent may have held the lock at the fork.
  // Forgets the cached blocks (leaked: the parent's threads may have been using them) and unlocks.
  void reset_after_fork() noexcept;

  struct Header;  // the 16 bytes before a block's text (payload_pool.cpp)

 private:
  static constexpr std::size_t kClasses = 80;

  void put(Header* block) noexcept;
  void lock() noexcept;
  void unlock() noexcept;

  const std::size_t max_cached_bytes_;
  // Acquire on taking (test_and_set), release on clearing: the free lists' contents written
  // under the lock are visible to the next holder.
  std::atomic_flag locked_ = ATOMIC_FLAG_INIT;
  Header* free_[kClasses] = {};  // guarded by locked_
  // Written under the lock; read without it by cached_bytes() (relaxed: a snapshot).
  std::atomic<std::size_t> cached_{0};
};

}  // namespace evlog::detail
