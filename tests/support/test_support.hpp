// test_support.hpp — helpers shared by evlog's test suites (header-only).
//
//   - scale(n): loop counts, scaled down under sanitizers through EVLOG_TEST_SCALE.
//   - TempDir: a private temporary directory that removes itself.
//   - SqliteFile: reads a SQLite file back with the sqlite3 C API (rows, counts, pragmas).
//   - SqliteWriteLock: a second connection holding the write lock (BEGIN IMMEDIATE).
//   - MemorySink: an evlog::Sink test double that records batches and injects transient
//     failures, refusals of one event type and delays, controlled through MemorySinkControl.
//   - WarningCollector: keeps the lines Options::on_warning is given, for any thread to inspect.
//   - accounted(): the accounting identity of evlog::Stats against a number of log() calls.
//   - parse_created_at(), is_uuid_v7(), uuid_unix_ms(), names_field(), wait_until().
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"

namespace evlog_test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Scaling: sanitizer runs set EVLOG_TEST_SCALE (e.g. 0.1) so the same tests stay fast there.

inline double scale_factor() {
  const char* text = std::getenv("EVLOG_TEST_SCALE");
  if (text == nullptr || *text == '\0') return 1.0;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || !(value > 0.0)) {
    throw std::invalid_argument(std::string("EVLOG_TEST_SCALE must be a positive number, got '") +
                                text + "'");
  }
  return value;
}

// `n` scaled by EVLOG_TEST_SCALE, never below 1.
inline std::size_t scale(std::size_t n) {
  const double scaled = std::round(static_cast<double>(n) * scale_factor());
  return scaled < 1.0 ? 1 : static_cast<std::size_t>(scaled);
}

// ---------------------------------------------------------------------------------------------
// A private temporary directory (mode 0700 from mkdtemp), removed with its contents at the end.

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "evlog-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory, as a string (what Options::database takes).
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------------------------------------
// Reading a SQLite file back.

using Cell = std::optional<std::string>;  // nullopt = SQL NULL; otherwise the exact bytes
using Table = std::vector<std::vector<Cell>>;

class SqliteFile {
 public:
  // Opens an existing file (never creates one) with a generous busy timeout.
  explicit SqliteFile(const std::string& path, bool create = false) {
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  ~SqliteFile() { sqlite3_close(db_); }
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  // Runs statements that return no rows; throws on error.
  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw std::runtime_error("'" + sql + "' failed: " + message);
    }
  }

  // Runs exec() but returns the SQLite result code instead of throwing.
  int try_exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }

  // Calls `on_row` with each row of one query, each column's exact bytes (or nullopt for NULL),
  // without holding the whole result in memory.
  void each(const std::string& sql, const std::function<void(const std::vector<Cell>&)>& on_row) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot prepare '" + sql + "': " + sqlite3_errmsg(db_));
    }
    std::vector<Cell> row;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const int columns = sqlite3_column_count(stmt);
      row.clear();
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          // Text first, then bytes: the documented order for getting a pointer and its length.
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          const int bytes = sqlite3_column_bytes(stmt, c);
          row.emplace_back(std::string(text ? text : "", static_cast<std::size_t>(bytes)));
        }
      }
      on_row(row);
    }
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw std::runtime_error("'" + sql + "' failed: " + message);
  }

  // Every row of one query.
  Table query(const std::string& sql) {
    Table rows;
    each(sql, [&](const std::vector<Cell>& row) { rows.push_back(row); });
    return rows;
  }

  // The single integer a query like "SELECT count(*) ..." returns.
  std::int64_t scalar(const std::string& sql) {
    const Table rows = query(sql);
    if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0]) {
      throw std::runtime_error("'" + sql + "' did not return one non-null value");
    }
    return std::stoll(*rows[0][0]);
  }

  // The single text a query like "PRAGMA journal_mode" returns.
  std::string text(const std::string& sql) {
    const Table rows = query(sql);
    if (rows.empty() || rows[0].empty() || !rows[0][0]) {
      throw std::runtime_error("'" + sql + "' did not return a value");
    }
    return *rows[0][0];
  }

  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Rows in `table` of the SQLite file at `path`.
inline std::int64_t count_rows(const std::string& path,
                               const std::string& table = "analytics_events") {
  SqliteFile file(path);
  return file.scalar("SELECT count(*) FROM \"" + table + "\"");
}

// Every row of `sql` run against the SQLite file at `path`.
inline Table read_rows(const std::string& path, const std::string& sql) {
  SqliteFile file(path);
  return file.query(sql);
}

// A second connection that holds the database's write lock from construction until release():
// the way another process stalls evlog's writer. The file must already exist.
class SqliteWriteLock {
 public:
  explicit SqliteWriteLock(const std::string& path) : file_(path) {
    file_.exec("BEGIN IMMEDIATE");
    held_ = true;
  }
  ~SqliteWriteLock() { release(); }
  SqliteWriteLock(const SqliteWriteLock&) = delete;
  SqliteWriteLock& operator=(const SqliteWriteLock&) = delete;

  // Runs a statement inside the held transaction (e.g. an insert of one's own).
  void exec(const std::string& sql) { file_.exec(sql); }
  // Ends the transaction: rolled back (default) or committed. Idempotent.
  void release(bool commit = false) {
    if (!held_) return;
    held_ = false;
    file_.exec(commit ? "COMMIT" : "ROLLBACK");
  }
  bool held() const { return held_; }

 private:
  SqliteFile file_;
  bool held_ = false;
};

// ---------------------------------------------------------------------------------------------
// MemorySink: a Sink that keeps rows in memory. The logger owns the sink (Options::make_sink makes
// it); the test keeps the MemorySinkControl, which the sinks share, to steer and inspect them.

struct StoredRow {
  std::string event_id;
  std::string type;
  std::optional<std::int64_t> user_id;
  std::string user_type;
  std::string metadata;
  std::string created_at;
};

class MemorySinkControl : public std::enable_shared_from_this<MemorySinkControl> {
 public:
  static std::shared_ptr<MemorySinkControl> create() {
    return std::shared_ptr<MemorySinkControl>(new MemorySinkControl());
  }

  // The next `n` open() calls fail with a transient error (as a busy database would).
  void fail_open(int n) {
    std::lock_guard lock(mutex_);
    open_failures_ = n;
  }
  // Every open() reports a configuration that cannot work (as a table that cannot be adopted).
  void open_invalid(std::string message) {
    std::lock_guard lock(mutex_);
    open_invalid_ = std::move(message);
  }
  // The next `n` write() calls fail with a transient error (nothing recorded).
  void fail_transient(int n) {
    std::lock_guard lock(mutex_);
    transient_failures_ = n;
    successes_first_ = 0;
  }
  // The next `ok` write() calls succeed, then the `n` after them fail as fail_transient(n) does.
  void fail_transient_after(int ok, int n) {
    std::lock_guard lock(mutex_);
    transient_failures_ = n;
    successes_first_ = ok;
  }
  // write() refuses a batch holding an event of this type, naming the row (like a constraint).
  void refuse_type(std::string type) {
    std::lock_guard lock(mutex_);
    refused_type_ = std::move(type);
  }
  // Every write() first sleeps this long (outside the lock), as a slow database would.
  void set_delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
  }
  // Every write() also sleeps this long per row (outside the lock): a database that commits at
  // most 1 / cost rows a second.
  void set_row_cost(std::chrono::microseconds cost) {
    std::lock_guard lock(mutex_);
    row_cost_ = cost;
  }
  // The longest write() so far, its sleeps included.
  std::chrono::microseconds longest_write() const {
    std::lock_guard lock(mutex_);
    return longest_write_;
  }

  // What Options::make_sink takes.
  std::function<std::unique_ptr<evlog::Sink>()> factory();

  // --- inspection (any thread) ---
  std::vector<std::vector<StoredRow>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::vector<StoredRow> rows() const {
    std::lock_guard lock(mutex_);
    std::vector<StoredRow> all;
    for (const auto& batch : batches_) all.insert(all.end(), batch.begin(), batch.end());
    return all;
  }
  std::size_t row_count() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& batch : batches_) n += batch.size();
    return n;
  }
  bool contains_metadata(std::string_view metadata) const {
    std::lock_guard lock(mutex_);
    for (const auto& batch : batches_) {
      for (const auto& row : batch) {
        if (row.metadata == metadata) return true;
      }
    }
    return false;
  }
  int write_calls() const {
    std::lock_guard lock(mutex_);
    return write_calls_;
  }
  int failed_writes() const {
    std::lock_guard lock(mutex_);
    return failed_writes_;
  }
  int open_calls() const {
    std::lock_guard lock(mutex_);
    return open_calls_;
  }
  int sinks_made() const {
    std::lock_guard lock(mutex_);
    return sinks_made_;
  }

 private:
  friend class MemorySink;
  MemorySinkControl() = default;

  evlog::SinkStatus open() {
    std::lock_guard lock(mutex_);
    ++open_calls_;
    if (!open_invalid_.empty()) return evlog::SinkStatus::invalid_config(open_invalid_);
    if (open_failures_ > 0) {
      --open_failures_;
      return evlog::SinkStatus::transient_error("memory sink: injected busy database at open");
    }
    return evlog::SinkStatus::success();
  }

  evlog::SinkStatus write(std::span<const evlog::Row> rows) {
    const auto start = std::chrono::steady_clock::now();
    std::chrono::microseconds delay;
    {
      std::lock_guard lock(mutex_);
      delay = delay_ + row_cost_ * static_cast<std::int64_t>(rows.size());
    }
    if (delay > 0us) std::this_thread::sleep_for(delay);

    std::lock_guard lock(mutex_);
    longest_write_ = std::max(longest_write_, std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - start));
    ++write_calls_;
    if (transient_failures_ > 0 && successes_first_ > 0) {
      --successes_first_;
    } else if (transient_failures_ > 0) {
      --transient_failures_;
      ++failed_writes_;
      return evlog::SinkStatus::transient_error("memory sink: injected transient failure");
    }
    if (!refused_type_.empty()) {
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].type == refused_type_) {
          ++failed_writes_;
          return evlog::SinkStatus::refused_row(
              i, "memory sink: event type '" + refused_type_ + "' is refused");
        }
      }
    }
    std::vector<StoredRow> batch;
    for (const evlog::Row& row : rows) {
      // Like the real table's unique key: a repeated event_id is ignored, not an error.
      if (!ids_.insert(std::string(row.event_id)).second) continue;
      batch.push_back(StoredRow{std::string(row.event_id), std::string(row.type), row.user_id,
                                std::string(row.user_type), std::string(row.metadata),
                                std::string(row.created_at)});
    }
    batches_.push_back(std::move(batch));
    return evlog::SinkStatus::success();
  }

  mutable std::mutex mutex_;
  int open_failures_ = 0;
  std::string open_invalid_;
  int open_calls_ = 0;
  int transient_failures_ = 0;
  int successes_first_ = 0;
  std::string refused_type_;
  std::chrono::milliseconds delay_{0};
  std::chrono::microseconds row_cost_{0};
  std::chrono::microseconds longest_write_{0};
  std::vector<std::vector<StoredRow>> batches_;
  std::set<std::string> ids_;
  int write_calls_ = 0;
  int failed_writes_ = 0;
  int sinks_made_ = 0;
};

class MemorySink : public evlog::Sink {
 public:
  explicit MemorySink(std::shared_ptr<MemorySinkControl> control) : control_(std::move(control)) {}
  evlog::SinkStatus open() override { return control_->open(); }
  evlog::SinkStatus write(std::span<const evlog::Row> rows) override {
    return control_->write(rows);
  }
  std::string describe() const override { return "memory:test"; }

 private:
  std::shared_ptr<MemorySinkControl> control_;
};

inline std::function<std::unique_ptr<evlog::Sink>()> MemorySinkControl::factory() {
  std::shared_ptr<MemorySinkControl> self = shared_from_this();
  return [self]() -> std::unique_ptr<evlog::Sink> {
    {
      std::lock_guard lock(self->mutex_);
      ++self->sinks_made_;
    }
    return std::make_unique<MemorySink>(self);
  };
}

// ---------------------------------------------------------------------------------------------
// WarningCollector: the lines the logger passes to Options::on_warning (from its writer thread),
// kept for the test thread to inspect at any time.

class WarningCollector {
 public:
  WarningCollector() = default;
  WarningCollector(const WarningCollector&) = delete;
  WarningCollector& operator=(const WarningCollector&) = delete;

  // What Options::on_warning takes. It refers to this collector, which must outlive the logger.
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    };
  }

  // A copy of the lines so far, in the order they came.
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return lines_.size();
  }
  // Forgets the lines so far (e.g. the start-up's, before the part a test looks at).
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

  // True when some line contains `text`.
  bool any_contains(std::string_view text) const { return count_containing(text) > 0; }
  // How many lines contain `text`.
  std::size_t count_containing(std::string_view text) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(lines_.begin(), lines_.end(),
                      [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }
  // True when `pred` holds for some line. `pred` runs on a copy, outside the lock.
  bool any_of(const std::function<bool(const std::string&)>& pred) const {
    const std::vector<std::string> copy = lines();
    return std::any_of(copy.begin(), copy.end(), pred);
  }

  // Every line, each on a line of its own and indented, for a failure message.
  std::string all() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const std::string& l : lines_) out += "\n  " + l;
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// ---------------------------------------------------------------------------------------------
// Accounting.

inline std::string describe(const evlog::Stats& s) {
  std::ostringstream out;
  out << "rejected=" << s.rejected << " dropped=" << s.dropped
      << " (queue_full=" << s.dropped_queue_full << " bytes_full=" << s.dropped_bytes_full
      << ") written=" << s.written << " queued=" << s.queued << " spilled=" << s.spilled
      << " dead_lettered=" << s.dead_lettered << " lost=" << s.lost << " batches=" << s.batches
      << " retries=" << s.retries << " queued_bytes=" << s.queued_bytes << " last_error='"
      << s.last_error << "'";
  return out.str();
}

// rejected + dropped + written + queued + spilled + dead_lettered + lost == calls, and the two
// drop reasons add up to `dropped`. Use as EXPECT_TRUE(accounted(logger.stats(), calls)).
inline ::testing::AssertionResult accounted(const evlog::Stats& s, std::uint64_t calls) {
  const std::uint64_t sum = s.accounted();
  if (sum != calls) {
    return ::testing::AssertionFailure()
           << "accounting sum " << sum << " != " << calls << " calls: " << describe(s);
  }
  if (s.dropped != s.dropped_queue_full + s.dropped_bytes_full) {
    return ::testing::AssertionFailure()
           << "dropped is not the sum of its reasons: " << describe(s);
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// Formats evlog promises.

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

// Parses "YYYY-MM-DDTHH:MM:SS.ffffffZ" (exactly that shape); nullopt otherwise.
inline std::optional<Micros> parse_created_at(std::string_view text) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return std::nullopt;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return std::nullopt;
  }
  auto number = [&](std::size_t pos, std::size_t len) {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  using namespace std::chrono;
  const year_month_day date{year{number(0, 4)}, month{static_cast<unsigned>(number(5, 2))},
                            day{static_cast<unsigned>(number(8, 2))}};
  if (!date.ok() || number(11, 2) > 23 || number(14, 2) > 59 || number(17, 2) > 60) {
    return std::nullopt;
  }
  return Micros{sys_days{date}} + hours{number(11, 2)} + minutes{number(14, 2)} +
         seconds{number(17, 2)} + microseconds{number(20, 6)};
}

// A canonical lower- or upper-case UUID text whose version nibble is 7 and variant is RFC 9562.
inline bool is_uuid_v7(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return false;
    } else if (std::isxdigit(static_cast<unsigned char>(id[i])) == 0) {
      return false;
    }
  }
  const char variant = static_cast<char>(std::tolower(static_cast<unsigned char>(id[19])));
  return id[14] == '7' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

// The Unix milliseconds in a UUIDv7's first 48 bits.
inline std::int64_t uuid_unix_ms(std::string_view id) {
  std::string hex;
  for (char c : id.substr(0, 13)) {
    if (c != '-') hex += c;
  }
  return static_cast<std::int64_t>(std::stoull(hex, nullptr, 16));
}

// True when `field` appears in `message` as a whole word (so "type" is not found in "user_type").
inline bool names_field(std::string_view message, std::string_view field) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t pos = message.find(field); pos != std::string_view::npos;
       pos = message.find(field, pos + 1)) {
    const bool starts = pos == 0 || !is_word(message[pos - 1]);
    const std::size_t end = pos + field.size();
    const bool ends = end == message.size() || !is_word(message[end]);
    if (starts && ends) return true;
  }
  return false;
}

inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Polls `done` every millisecond until it is true or `timeout` passes; returns its last answer.
// For behaviour that flush() would hide (e.g. the writer's own max_delay); never a bare sleep.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Options for a logger writing into `database`, with a flush-friendly short max_delay.
inline evlog::Options options_for(const std::string& database) {
  evlog::Options options;
  options.database = database;
  options.max_delay = 20ms;
  return options;
}

// The default options (max_delay 100 ms included) on `database`, with the classroom's critical
// types (committed delivery for them) and warnings silenced.
inline evlog::Options committed_options(const std::string& database) {
  evlog::Options o;
  o.database = database;
  o.critical_types = {"task_complete", "subtask_complete", "quiz_attempt", "task_start"};
  o.on_warning = [](std::string_view) {};
  return o;
}

// Options for a logger writing into a MemorySink steered by `control`; `database` names a file
// that must never be created.
inline evlog::Options memory_options(const std::shared_ptr<MemorySinkControl>& control,
                                     const std::string& database) {
  evlog::Options options = options_for(database);
  options.make_sink = control->factory();
  return options;
}

inline constexpr std::chrono::milliseconds kLongWait{30000};

// Logs one event of type "prime" and waits until it is written, so the table exists and the
// writer is past its start (e.g. before another connection takes the write lock). One log() call.
inline ::testing::AssertionResult prime(evlog::Logger& logger) {
  const evlog::Result r = logger.log({"prime", {}, "", ""});
  if (!r.ok()) return ::testing::AssertionFailure() << "prime event not admitted: " << r.message;
  if (!logger.flush(kLongWait)) return ::testing::AssertionFailure() << "prime flush timed out";
  return ::testing::AssertionSuccess();
}

}  // namespace evlog_test
