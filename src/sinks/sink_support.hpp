// What the built-in sinks share: the table's name in SQL, the columns an existing table must have
// to be adopted, and the guard that turns an exception inside a sink call into a status.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "evlog/sink.hpp"

namespace evlog::detail {

// The table's name in SQL. Options::table is checked to be [A-Za-z_][A-Za-z0-9_]*, so the quotes
// only keep a name that is also a keyword (a table called "order") usable.
inline std::string quoted(std::string_view identifier) {
  std::string out;
  out.reserve(identifier.size() + 2);
  out.append(1, '"').append(identifier).append(1, '"');
  return out;
}

// The columns an existing table must have for evlog to adopt it; event_id may be missing (the
// older shape), and is then added with its unique index.
inline constexpr std::array<std::string_view, 5> kAdoptedColumns = {
    "event_type", "user_id", "user_type", "metadata", "created_at"};

// Runs `call`; an exception escaping it (std::bad_alloc while a statement or a message is built)
// becomes the status `on_exception` gives, which must not allocate. No exception leaves a sink.
template <class Call, class OnException>
SinkStatus guarded(Call&& call, OnException&& on_exception) noexcept {
  try {
    return call();
  } catch (...) {
    return on_exception();
  }
}

}  // namespace evlog::detail
