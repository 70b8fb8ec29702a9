// The wall clock of events, and its text form in the table.
#pragma once

#include <cstdint>

namespace evlog::detail {

// Nanoseconds since the Unix epoch, UTC (CLOCK_REALTIME through the vDSO: no system call).
std::int64_t now_unix_ns() noexcept;

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (27 characters, microseconds, UTC) into out[0..27).
inline constexpr int kCreatedAtChars = 27;
void format_created_at(std::int64_t unix_ns, char* out) noexcept;

}  // namespace evlog::detail
