// Replaces the global operator new/delete of the binary it is linked into, and SQLite's
// allocator, with ones that fail on demand (see failing_alloc.hpp).
#include "failing_alloc.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_armed{false};
std::atomic<std::uint64_t> g_failed{0};
// Written by arm (before the release store of g_armed), read after an acquire load of it.
std::thread::id g_spared;

bool should_fail() noexcept {
  if (!g_armed.load(std::memory_order_acquire) || std::this_thread::get_id() == g_spared) {
    return false;
  }
  // Relaxed: a tally read by the test after the threads it counts have been quiet.
  g_failed.fetch_add(1, std::memory_order_relaxed);
  return true;
}

sqlite3_mem_methods g_sqlite_default{};

void* sqlite_malloc(int n) {
  return should_fail() ? nullptr : g_sqlite_default.xMalloc(n);
}
void* sqlite_realloc(void* p, int n) {
  return should_fail() ? nullptr : g_sqlite_default.xRealloc(p, n);
}

// Before main(), so before SQLite initialises: its allocator can be replaced only then.
const bool g_sqlite_hooked = [] {
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_sqlite_default);
  sqlite3_mem_methods failing = g_sqlite_default;
  failing.xMalloc = &sqlite_malloc;
  failing.xRealloc = &sqlite_realloc;
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &failing) == SQLITE_OK;
}();

}  // namespace

namespace evlog_test {
void arm_failing_allocations(std::thread::id spared) noexcept {
  g_spared = spared;
  g_failed.store(0, std::memory_order_relaxed);
  g_armed.store(true, std::memory_order_release);
}
void disarm_failing_allocations() noexcept {
  g_armed.store(false, std::memory_order_release);
}
std::uint64_t failed_allocations() noexcept {
  return g_failed.load(std::memory_order_relaxed);
}
bool sqlite_allocator_hooked() noexcept {
  return g_sqlite_hooked;
}
}  // namespace evlog_test

void* operator new(std::size_t size) {
  if (should_fail()) throw std::bad_alloc();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (should_fail()) return nullptr;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
