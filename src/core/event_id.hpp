// Event ids: UUIDv7 (RFC 9562) with the sub-millisecond fraction in rand_a (method 3), so that ids
// sort by the time of the event. log() captures the binary parts; the writer formats the text.
#pragma once

#include <cstdint>

namespace evlog::detail {

// 64 random bits from a per-thread generator seeded from the kernel (getrandom) and reseeded in a
// child process after fork(), so parent and child never produce the same ids.
std::uint64_t random_u64() noexcept;

// The canonical 36-character text (8-4-4-4-12 lower-case hex) into out[0..36).
inline constexpr int kEventIdChars = 36;
void format_event_id(std::int64_t unix_ns, std::uint64_t random, char* out) noexcept;

}  // namespace evlog::detail
