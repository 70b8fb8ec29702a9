#include "core/payload_pool.hpp"

#include <bit>
#include <cstring>
#include <new>
#include <thread>

namespace evlog::detail {

struct PayloadPool::Header {
  PayloadPool* pool;         // null: allocated unpooled, deleted on release
  std::uint32_t size_class;  // index into free_
  std::uint32_t bytes;       // the whole block, header included
};
static_assert(sizeof(PayloadPool::Header) == 16, "the text starts 16-byte aligned");

namespace {

constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kSmallest = 512;

struct SizeClass {
  std::size_t index;
  std::size_t bytes;
};

// 512 B, then four classes per doubling: (base, 2·base] is cut at base·5/4, 6/4, 7/4 and 2.
SizeClass size_class_of(std::size_t total) noexcept {
  if (total <= kSmallest) return {0, kSmallest};
  const auto p = static_cast<std::size_t>(std::bit_width(total - 1));  // 2^(p-1) < total ≤ 2^p
  const std::size_t base = std::size_t{1} << (p - 1);
  const std::size_t step = base / 4;
  const std::size_t quarter = (total - base + step - 1) / step;  // 1 … 4
  return {1 + (p - 10) * 4 + (quarter - 1), base + quarter * step};
}

// The free list's link lives in the block's text bytes, which a free block does not use.
PayloadPool::Header*& next_of(void* block) noexcept {
  return *reinterpret_cast<PayloadPool::Header**>(static_cast<char*>(block) + kHeaderBytes);
}

}  // namespace

PayloadPool::PayloadPool(std::size_t max_cached_bytes) noexcept
    : max_cached_bytes_(max_cached_bytes) {}

PayloadPool::~PayloadPool() {
  for (Header*& head : free_) {
    while (head) {
      Header* next = next_of(head);
      ::operator delete(head);
      head = next;
    }
  }
}

std::size_t PayloadPool::block_bytes(std::size_t bytes) noexcept {
  return size_class_of(bytes + kHeaderBytes).bytes;
}

char* PayloadPool::allocate(std::size_t bytes) noexcept {
  const SizeClass c = size_class_of(bytes + kHeaderBytes);
  Header* block = nullptr;
  if (c.index < kClasses) {
    lock();
    block = free_[c.index];
    if (block) {
      free_[c.index] = next_of(block);
      cached_.store(cached_.load(std::memory_order_relaxed) - c.bytes, std::memory_order_relaxed);
    }
    unlock();
  }
  if (!block) {
    block = static_cast<Header*>(::operator new(c.bytes, std::nothrow));
    if (!block) return nullptr;
    block->pool = c.index < kClasses ? this : nullptr;
    block->size_class = static_cast<std::uint32_t>(c.index);
    block->bytes = static_cast<std::uint32_t>(c.bytes);
  }
  return reinterpret_cast<char*>(block) + kHeaderBytes;
}

char* PayloadPool::allocate_unpooled(std::size_t bytes) noexcept {
  auto* block = static_cast<Header*>(::operator new(kHeaderBytes + bytes, std::nothrow));
  if (!block) return nullptr;
  block->pool = nullptr;
  block->size_class = kClasses;
  block->bytes = 0;
  return reinterpret_cast<char*>(block) + kHeaderBytes;
}

void PayloadPool::release(char* text) noexcept {
  if (!text) return;
  auto* block = reinterpret_cast<Header*>(text - kHeaderBytes);
  if (block->pool) {
    block->pool->put(block);
  } else {
    ::operator delete(block);
  }
}

void PayloadPool::put(Header* block) noexcept {
  const std::size_t index = block->size_class;
  const std::size_t bytes = block->bytes;
  bool cached = false;
  lock();
  const std::size_t now = cached_.load(std::memory_order_relaxed);
  if (now + bytes <= max_cached_bytes_) {
    next_of(block) = free_[index];
    free_[index] = block;
    cached_.store(now + bytes, std::memory_order_relaxed);
    cached = true;
  }
  unlock();
  if (!cached) ::operator delete(block);
}

void PayloadPool::lock() noexcept {
  // Held for a few instructions; a holder preempted mid-swap is waited out by yielding.
  for (unsigned spins = 0; locked_.test_and_set(std::memory_order_acquire); ++spins) {
    if (spins >= 64) std::this_thread::yield();
  }
}

void PayloadPool::unlock() noexcept {
  locked_.clear(std::memory_order_release);
}

void PayloadPool::reset_after_fork() noexcept {
  for (Header*& head : free_) head = nullptr;
  cached_.store(0, std::memory_order_relaxed);
  locked_.clear(std::memory_order_release);
}

}  // namespace evlog::detail
