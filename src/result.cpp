#include "evlog/result.hpp"

namespace evlog {

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::queued:
      return "queued";
    case Outcome::committed:
      return "committed";
    case Outcome::dropped:
      return "dropped";
    case Outcome::rejected:
      return "rejected";
    case Outcome::timed_out:
      return "timed_out";
    case Outcome::closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace evlog
