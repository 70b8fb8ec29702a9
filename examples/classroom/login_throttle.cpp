#include "login_throttle.hpp"

#include <algorithm>

namespace classroom {

int LoginThrottle::blocked_for(const std::unordered_map<std::string, Window>& map,
                               const std::string& key, int limit, Clock::time_point now) const {
  const auto it = map.find(key);
  if (it == map.end() || it->second.failures < limit) return 0;
  const auto left = it->second.start + limits_.window - now;
  if (left <= Clock::duration::zero()) return 0;
  // Rounded up: a client that waits this long is let in.
  return static_cast<int>(std::chrono::ceil<std::chrono::seconds>(left).count());
}

int LoginThrottle::retry_after(const std::string& user, const std::string& address,
                               Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return std::max(blocked_for(users_, user, limits_.failures_per_user, now),
                  blocked_for(addresses_, address, limits_.failures_per_address, now));
}

void LoginThrottle::count(std::unordered_map<std::string, Window>& map, const std::string& key,
                          Clock::time_point now) {
  if (map.size() >= limits_.max_tracked && !map.contains(key)) {
    // Forget the windows that have ended; if every one is live, the map is full of an attack's
    // names: forget them all rather than grow (the limit then starts again for each).
    std::erase_if(map,
                  [&](const auto& entry) { return entry.second.start + limits_.window <= now; });
    if (map.size() >= limits_.max_tracked) map.clear();
  }
  Window& window = map[key];
  if (window.failures == 0 || window.start + limits_.window <= now) window = {now, 0};
  ++window.failures;
}

void LoginThrottle::failed(const std::string& user, const std::string& address,
                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  count(users_, user, now);
  count(addresses_, address, now);
}

std::size_t LoginThrottle::tracked() {
  std::lock_guard lock(mutex_);
  return users_.size() + addresses_.size();
}

void LoginThrottle::succeeded(const std::string& user) {
  std::lock_guard lock(mutex_);
  users_.erase(user);
}

}  // namespace classroom
