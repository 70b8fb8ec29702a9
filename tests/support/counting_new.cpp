// Replaces the global operator new/delete of the binary it is linked into, counting allocations
// per thread (see counting_new.hpp).
#include "counting_new.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local std::uint64_t t_allocations = 0;
}  // namespace

namespace evlog_test {
std::uint64_t allocations_on_this_thread() noexcept {
  return t_allocations;
}
}  // namespace evlog_test

void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++t_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
