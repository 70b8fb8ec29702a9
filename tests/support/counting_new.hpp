// counting_new.hpp — heap allocations made by the calling thread, for the binaries that link
// counting_new.cpp (which replaces the global operator new and delete). Used to prove that
// Logger::log() allocates nothing for events within the inline budget.
#pragma once

#include <cstdint>

namespace evlog_test {

// Allocations through operator new (any form) made by this thread so far.
std::uint64_t allocations_on_this_thread() noexcept;

}  // namespace evlog_test
