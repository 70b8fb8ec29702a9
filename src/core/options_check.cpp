#include "core/options_check.hpp"

#include <string>

#include "core/database_name.hpp"
#include "core/validate.hpp"
#include "evlog/error.hpp"

namespace evlog::detail {

namespace {

[[noreturn]] void fail(std::string_view field, std::string_view rule, const std::string& got) {
  throw Error("Options::" + std::string(field) + ": " + std::string(rule) + ", got " + got);
}

bool valid_identifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name.front())) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

std::size_t round_up_pow2(std::size_t n) noexcept {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

void check_options(const Options& o) {
  if (o.database.empty() && !o.make_sink) {
    fail("database", "must name a SQLite file", "an empty string");
  }
  if (!o.make_sink) (void)parse_database_name(o.database);  // an unknown or unbuilt form
  if (!valid_identifier(o.table)) {
    fail("table", "must be 1-63 bytes of [A-Za-z_][A-Za-z0-9_]*", "'" + o.table + "'");
  }
  if (o.queue_capacity < kMinQueueCapacity || o.queue_capacity > kMaxQueueCapacity) {
    fail("queue_capacity", "must be between 16 and 4194304", std::to_string(o.queue_capacity));
  }
  if (o.max_batch < 1 || o.max_batch > 1'000'000) {
    fail("max_batch", "must be between 1 and 1000000", std::to_string(o.max_batch));
  }
  if (o.max_delay.count() < 1) fail("max_delay", "must be at least 1 ms", ms(o.max_delay));
  if (o.block_timeout.count() < 0) {
    fail("block_timeout", "must not be negative", ms(o.block_timeout));
  }
  if (o.max_metadata_bytes < 1 || o.max_metadata_bytes > kMaxMetadataLimit) {
    fail("max_metadata_bytes", "must be between 1 and 16777216",
         std::to_string(o.max_metadata_bytes));
  }
  if (o.max_queue_bytes < o.max_metadata_bytes) {
    fail("max_queue_bytes",
         "must be at least max_metadata_bytes (" + std::to_string(o.max_metadata_bytes) + ")",
         std::to_string(o.max_queue_bytes));
  }
  if (o.shutdown_timeout.count() < 0) {
    fail("shutdown_timeout", "must not be negative", ms(o.shutdown_timeout));
  }
  if (o.db_timeout.count() < 1) fail("db_timeout", "must be at least 1 ms", ms(o.db_timeout));
  if (o.retry_initial.count() < 1) {
    fail("retry_initial", "must be at least 1 ms", ms(o.retry_initial));
  }
  if (o.retry_max < o.retry_initial) {
    fail("retry_max", "must be at least retry_initial (" + ms(o.retry_initial) + ")",
         ms(o.retry_max));
  }
  if (o.commit_timeout.count() < 0) {
    fail("commit_timeout", "must not be negative", ms(o.commit_timeout));
  }
  if (o.spill_after.count() < 0) fail("spill_after", "must not be negative", ms(o.spill_after));
  if (o.spill_segment_bytes < (64u << 10)) {
    fail("spill_segment_bytes", "must be at least 65536", std::to_string(o.spill_segment_bytes));
  }
  if (o.max_spill_bytes < o.spill_segment_bytes) {
    fail("max_spill_bytes",
         "must be at least spill_segment_bytes (" + std::to_string(o.spill_segment_bytes) + ")",
         std::to_string(o.max_spill_bytes));
  }
  for (const std::string& type : o.critical_types) {
    std::string message;
    if (!validate_event(Event{.type = type, .user_id = {}, .user_type = {}, .metadata = {}}, 1,
                        message)) {
      fail("critical_types", "each must be a valid event type (" + message + ")", "'" + type + "'");
    }
  }
}

}  // namespace evlog::detail

namespace evlog {

void validate_options(const Options& options) {
  detail::check_options(options);
}

}  // namespace evlog
