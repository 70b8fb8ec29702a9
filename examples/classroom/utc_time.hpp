// classroom/utc_time.hpp — timestamps as evlog writes them: UTC, microseconds, ISO 8601.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace classroom {

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" for `when`.
inline std::string utc_text(std::chrono::system_clock::time_point when) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(micros % 1'000'000));
  return buffer;
}

inline std::string utc_now_text() {
  return utc_text(std::chrono::system_clock::now());
}

}  // namespace classroom
