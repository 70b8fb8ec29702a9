// evlog/result.hpp — what `Logger::log()` answers.
#pragma once

#include <string>
#include <string_view>

namespace evlog {

enum class Outcome {
  queued,     // admitted; the writer will commit it (async delivery)
  committed,  // admitted and committed to the database (committed delivery)
  dropped,    // not admitted: the queue was full (counted in Stats::dropped). Committed delivery
              // only: also an admitted event evicted by OnFull::drop_oldest (Stats::dropped) or
              // not written by a shutdown deadline (Stats::lost); `message` says which
  rejected,   // not admitted: the event is invalid; `message` names the field and the rule.
              // Committed delivery only: also an admitted event the database refused for its
              // data (Stats::dead_lettered), with the database's message
  timed_out,  // admitted, but not committed within Options::commit_timeout; still written once
  closed,     // not admitted: the logger is shutting down (counted in Stats::rejected)
};

// The name of an outcome, e.g. "timed_out".
std::string_view to_string(Outcome outcome) noexcept;

// The answer of one `log()` call. Cheap to return: `message` is empty except for `rejected`.
struct [[nodiscard]] Result {
  Outcome outcome = Outcome::queued;
  // For `rejected`: which field broke which rule, e.g. "type: must be 1-64 bytes of
  // [A-Za-z0-9_.:-], got 70 bytes". For other outcomes a short explanation or empty.
  std::string message;

  // True when the event was admitted and is (or will be) written: queued, committed, timed_out.
  bool ok() const noexcept {
    return outcome == Outcome::queued || outcome == Outcome::committed ||
           outcome == Outcome::timed_out;
  }
};

}  // namespace evlog
