// failing_alloc.hpp — a count-and-fail allocation hook for R16 (failing_alloc.cpp): while
// armed, every allocation on a thread other than the spared one fails, through operator new and
// through SQLite's allocator (replaced before SQLite initialises).
#pragma once

#include <cstdint>
#include <thread>

namespace evlog_test {

// Arms the hook; allocations on `spared` (the caller's thread) keep working.
void arm_failing_allocations(std::thread::id spared) noexcept;
void disarm_failing_allocations() noexcept;
// Allocations that failed since the last arm_failing_allocations().
std::uint64_t failed_allocations() noexcept;
// False if SQLite's allocator could not be replaced.
bool sqlite_allocator_hooked() noexcept;

}  // namespace evlog_test
