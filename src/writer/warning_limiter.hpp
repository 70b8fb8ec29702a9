// WarningLimiter — at most one warning line a second, with a count of what it held back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>

namespace evlog::detail {

class WarningLimiter {
 public:
  using Callback = std::function<void(std::string_view)>;

  // An empty callback writes to stderr.
  explicit WarningLimiter(Callback callback,
                          std::chrono::milliseconds interval = std::chrono::seconds(1));

  // Emits "evlog: <line>" unless a line went out less than `interval` ago; then counts it as
  // suppressed (the next line emitted says how many). Returns true when emitted. Thread-safe.
  bool warn(std::string_view line) noexcept;

  // Emits regardless of the rate (for once-per-logger events such as losses at shutdown).
  void warn_always(std::string_view line) noexcept;

 private:
  void emit(std::string_view line) noexcept;  // mutex_ held

  Callback callback_;
  const std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  bool emitted_any_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace evlog::detail
