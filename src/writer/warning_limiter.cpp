#include "writer/warning_limiter.hpp"

#include <cstdio>
#include <string>

namespace evlog::detail {

WarningLimiter::WarningLimiter(Callback callback, std::chrono::milliseconds interval)
    : callback_(std::move(callback)), interval_(interval) {}

bool WarningLimiter::warn(std::string_view line) noexcept {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (emitted_any_ && now - last_ < interval_) {
    ++suppressed_;
    return false;
  }
  last_ = now;
  emitted_any_ = true;
  emit(line);
  return true;
}

void WarningLimiter::warn_always(std::string_view line) noexcept {
  std::lock_guard lock(mutex_);
  last_ = std::chrono::steady_clock::now();
  emitted_any_ = true;
  emit(line);
}

void WarningLimiter::emit(std::string_view line) noexcept {
  try {
    std::string text = "evlog: ";
    text.append(line);
    if (suppressed_ > 0) {
      text += " (" + std::to_string(suppressed_) +
              (suppressed_ == 1 ? " more warning" : " more warnings") + " suppressed)";
      suppressed_ = 0;
    }
    if (callback_) {
      callback_(text);
    } else {
      text += '\n';
      std::fwrite(text.data(), 1, text.size(), stderr);
    }
  } catch (...) {
    // A warning that cannot be delivered (out of memory, a throwing callback) is not worth
    // taking the writer down for; the counters in Stats still hold the facts.
  }
}

}  // namespace evlog::detail
