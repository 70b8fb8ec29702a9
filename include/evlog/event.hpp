// evlog/event.hpp — what a caller describes when something happened.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace evlog {

// One analytics event, as the caller describes it. The views need only stay valid for the
// duration of the `Logger::log()` call: evlog copies what it keeps.
//
// At `log()` time evlog stamps each admitted event with its own `event_id` (a UUIDv7, time-ordered)
// and `created_at` (UTC, microseconds): the time the event happened, not the time it was written.
struct Event {
  // Required: 1–64 bytes of [A-Za-z0-9_.:-], e.g. "page_view", "quiz_attempt".
  std::string_view type;
  // Optional: the acting user's id; empty means NULL.
  std::optional<std::int64_t> user_id;
  // Optional: ≤ 64 bytes of valid UTF-8 without NUL, e.g. "student"; empty means NULL.
  std::string_view user_type;
  // Optional: the text of one JSON object, valid UTF-8, at most `Options::max_metadata_bytes`
  // bytes, nesting at most 64 deep, no "\u0000" escape (PostgreSQL's jsonb refuses it);
  // empty means NULL.
  std::string_view metadata;
};

}  // namespace evlog
