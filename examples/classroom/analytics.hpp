// classroom/analytics.hpp — how the app records its analytics events, chosen by --logging:
//   off    nothing is logged;
//   sync   one INSERT + COMMIT per event on the request thread (the "before" of the problem
//          statement), into a table of evlog's shape, through the app's own connections;
//   async  strategy A (docs/background.md): every event queued, none waited for. Implemented
//          with evlog and no critical types (evlog's queue is the same idea, done carefully);
//   evlog  evlog with task_start, subtask_complete, task_complete and quiz_attempt critical:
//          those wait for a group commit, the rest are queued.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <evlog/evlog.hpp>

#include "latency_histogram.hpp"
#include "sqlite_db.hpp"

namespace classroom {

enum class LoggingMode { off, sync, async, evlog };

std::optional<LoggingMode> parse_logging_mode(std::string_view text);
std::string_view to_string(LoggingMode mode);
// The event types that must be durable before the response (in modes sync and evlog).
bool is_critical_type(std::string_view type);

class Analytics {
 public:
  // Opens what the mode needs (a Logger, or creates the table for sync). Throws evlog::Error or
  // DbError with a message for a person.
  Analytics(LoggingMode mode, const std::string& database);
  ~Analytics();
  Analytics(const Analytics&) = delete;
  Analytics& operator=(const Analytics&) = delete;

  // Records one event; never throws. `metadata` is a JSON object's text or empty. A failure is
  // counted (and never fails the request: the real data is already saved).
  void log(std::string_view type, std::int64_t user_id, std::string_view user_type,
           std::string_view metadata) noexcept;

  // Drains and closes: every event logged before the call is written, or counted lost.
  bool shutdown(std::chrono::milliseconds timeout) noexcept;

  LoggingMode mode() const { return mode_; }
  // evlog's counters (modes async and evlog).
  std::optional<evlog::Stats> stats() const;
  // Time the request thread spent in log().
  const LatencyHistogram& log_latency() const { return log_latency_; }
  // Events accepted by log() (queued, committed or written synchronously).
  std::uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  // Events log() could not hand over (dropped, rejected, closed, sync INSERT failed).
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  // Critical events known to be committed when log() returned.
  std::uint64_t critical_committed() const {
    return critical_committed_.load(std::memory_order_relaxed);
  }

 private:
  void log_sync(std::string_view type, std::int64_t user_id, std::string_view user_type,
                std::string_view metadata);

  LoggingMode mode_;
  std::unique_ptr<evlog::Logger> logger_;
  std::unique_ptr<ConnectionPool> sync_pool_;
  LatencyHistogram log_latency_;
  // Relaxed counters: read only for display.
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> critical_committed_{0};
};

}  // namespace classroom
