#include "analytics.hpp"

#include <array>
#include <cstdio>

#include "schema.hpp"
#include "secrets.hpp"
#include "utc_time.hpp"

namespace classroom {
namespace {

constexpr std::array<std::string_view, 4> kCriticalTypes{"task_start", "subtask_complete",
                                                         "task_complete", "quiz_attempt"};

// A random (version 4) UUID for the rows --logging sync writes itself.
std::string random_uuid() {
  std::string hex = random_hex(16);
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

std::optional<LoggingMode> parse_logging_mode(std::string_view text) {
  for (LoggingMode mode :
       {LoggingMode::off, LoggingMode::sync, LoggingMode::async, LoggingMode::evlog}) {
    if (to_string(mode) == text) return mode;
  }
  return std::nullopt;
}

std::string_view to_string(LoggingMode mode) {
  switch (mode) {
    case LoggingMode::off:
      return "off";
    case LoggingMode::sync:
      return "sync";
    case LoggingMode::async:
      return "async";
    case LoggingMode::evlog:
      return "evlog";
  }
  return "?";
}

bool is_critical_type(std::string_view type) {
  for (std::string_view critical : kCriticalTypes) {
    if (critical == type) return true;
  }
  return false;
}

Analytics::Analytics(LoggingMode mode, const std::string& database) : mode_(mode) {
  if (mode == LoggingMode::async || mode == LoggingMode::evlog) {
    evlog::Options options;
    options.database = database;
    // The same durability as the app's own data and as --logging sync: a committed critical
    // event survives power loss, so the modes are compared on equal terms.
    options.durability = evlog::Durability::full;
    if (mode == LoggingMode::evlog) {
      for (std::string_view type : kCriticalTypes) options.critical_types.emplace(type);
    }
    logger_ = std::make_unique<evlog::Logger>(std::move(options));
  } else if (mode == LoggingMode::sync) {
    sync_pool_ = std::make_unique<ConnectionPool>(database);
    auto connection = sync_pool_->acquire();
    create_analytics_table(*connection);
  }
}

Analytics::~Analytics() {
  shutdown(std::chrono::seconds(5));
}

void Analytics::log(std::string_view type, std::int64_t user_id, std::string_view user_type,
                    std::string_view metadata) noexcept {
  if (mode_ == LoggingMode::off) return;
  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  bool committed = false;
  if (logger_) {
    const evlog::Result result = logger_->log(
        {.type = type, .user_id = user_id, .user_type = user_type, .metadata = metadata});
    ok = result.ok();
    committed = result.outcome == evlog::Outcome::committed;
  } else if (sync_pool_) {
    try {
      log_sync(type, user_id, user_type, metadata);
      ok = true;
      committed = true;
    } catch (const std::exception& error) {
      std::fprintf(stderr, "evlog-classroom: analytics insert failed: %s\n", error.what());
    }
  }
  log_latency_.observe(std::chrono::steady_clock::now() - start);
  (ok ? accepted_ : failed_).fetch_add(1, std::memory_order_relaxed);
  if (committed && is_critical_type(type)) {
    critical_committed_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Analytics::log_sync(std::string_view type, std::int64_t user_id, std::string_view user_type,
                         std::string_view metadata) {
  auto connection = sync_pool_->acquire();
  // Autocommit: one transaction (and, with synchronous=FULL, one WAL sync) per event.
  Statement insert(*connection,
                   "INSERT INTO analytics_events (event_id, event_type, user_id, user_type, "
                   "metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  insert.bind(1, random_uuid()).bind(2, type).bind(3, user_id).bind(4, user_type);
  if (metadata.empty()) {
    insert.bind_null(5);
  } else {
    insert.bind(5, metadata);
  }
  insert.bind(6, utc_now_text()).run();
}

bool Analytics::shutdown(std::chrono::milliseconds timeout) noexcept {
  if (logger_) return logger_->shutdown(timeout);
  return true;
}

std::optional<evlog::Stats> Analytics::stats() const {
  if (logger_) return logger_->stats();
  return std::nullopt;
}

}  // namespace classroom
