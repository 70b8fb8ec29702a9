// classroom/login_throttle.hpp — failed logins counted per user name and per client address;
// past a limit, further attempts are refused (429) before any password is hashed.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace classroom {

struct LoginLimits {
  int failures_per_user = 5;      // within one window, for one user name
  int failures_per_address = 20;  // within one window, from one client address
  std::chrono::seconds window{300};
  std::size_t max_tracked = 100'000;  // names and addresses remembered at once (memory bound)
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(LoginLimits limits) : limits_(limits) {}

  // Zero when an attempt for `user` from `address` may go ahead; otherwise the whole seconds
  // until it may (for Retry-After). Costs one map lookup each: no password is hashed.
  int retry_after(const std::string& user, const std::string& address, Clock::time_point now);
  // A wrong password (or an unknown user name): counts against both.
  void failed(const std::string& user, const std::string& address, Clock::time_point now);
  // A right password: the user name's count starts again (the address's does not, so that one
  // account of an attacker's own cannot reset the count of its guesses at others).
  void succeeded(const std::string& user);

  const LoginLimits& limits() const { return limits_; }
  // User names and addresses remembered now (each at most limits().max_tracked).
  std::size_t tracked();

 private:
  struct Window {
    Clock::time_point start;
    int failures = 0;
  };
  int blocked_for(const std::unordered_map<std::string, Window>& map, const std::string& key,
                  int limit, Clock::time_point now) const;
  void count(std::unordered_map<std::string, Window>& map, const std::string& key,
             Clock::time_point now);

  const LoginLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> users_;
  std::unordered_map<std::string, Window> addresses_;
};

}  // namespace classroom
