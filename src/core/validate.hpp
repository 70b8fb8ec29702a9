// Validation of an Event at log() time: what the table and both databases will accept.
#pragma once

#include <cstddef>
#include <string>

#include "evlog/event.hpp"

namespace evlog::detail {

inline constexpr std::size_t kMaxTypeBytes = 64;
inline constexpr std::size_t kMaxUserTypeBytes = 64;
inline constexpr std::size_t kMaxMetadataDepth = 64;

// True when `event` is acceptable. Otherwise false, with `message` naming the field and the rule
// it broke. Allocates only to write the message. Never throws.
//
// metadata: valid UTF-8 JSON text of one object, ≤ max_metadata_bytes, nesting ≤ 64, and no string
// holding U+0000 (PostgreSQL's jsonb refuses it, which would poison a whole batch there). Parsed
// by simdjson with a per-thread parser, so parsing allocates nothing once a thread has seen a
// document of the size; a thread that parsed a document over 1 MiB gives that memory back.
bool validate_event(const Event& event, std::size_t max_metadata_bytes,
                    std::string& message) noexcept;

}  // namespace evlog::detail
