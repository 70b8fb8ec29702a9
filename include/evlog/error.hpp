// evlog/error.hpp — the exception thrown at construction for what a person must fix.
#pragma once

#include <stdexcept>
#include <string>

namespace evlog {

// Thrown by `Logger`'s constructor (invalid options, a database path that cannot be created, a
// table that cannot be adopted). Never thrown by `log()`, `flush()`, `shutdown()` or `stats()`.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace evlog
