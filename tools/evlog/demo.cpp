// tools/evlog/demo.cpp — `evlog demo`: request threads replay the classroom app's event mix at a
// paced rate, first with one synchronous INSERT + COMMIT per event (the problem statement's
// strategy, table demo_sync_events), then through one evlog::Logger with the default options
// (table analytics_events). Every call is timed; the report shows what a request pays.
#include "demo.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "paced_replay.hpp"

namespace evlog::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSyncTable = "demo_sync_events";

struct DemoOptions {
  std::string database = "analytics.db";
  Pace pace;  // defaults: 4 threads, 8,000 events/s in total, 5 s per phase (≈ 11 s in all)
};

// ---- SQLite: the synchronous baseline and counting rows ----------------------------------------

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw std::runtime_error(std::string(sqlite3_db_filename(db, "main")) + ": " + message);
  }
}

Statement prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string(sqlite3_db_filename(db, "main")) + ": " +
                             sqlite3_errmsg(db));
  }
  return Statement(raw);
}

// Opens `path` as the problem statement's app would: WAL, synchronous=NORMAL, 5 s busy timeout.
Connection open_database(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(path + ": " +
                             (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  exec(db.get(), "PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL");
  return db;
}

// Rows in `table`; 0 while the table does not exist yet.
std::int64_t count_rows(const std::string& path, const std::string& table) {
  const Connection db = open_database(path);
  Statement exists = prepare(db.get(), "SELECT count(*) FROM sqlite_master WHERE name = ?");
  sqlite3_bind_text(exists.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(exists.get()) != SQLITE_ROW || sqlite3_column_int64(exists.get(), 0) == 0) {
    return 0;
  }
  Statement count = prepare(db.get(), "SELECT count(*) FROM \"" + table + "\"");
  if (sqlite3_step(count.get()) != SQLITE_ROW) {
    throw std::runtime_error(path + ": " + sqlite3_errmsg(db.get()));
  }
  return sqlite3_column_int64(count.get(), 0);
}

// SQLite creates files 0644; analytics data is private, so create a missing file 0600 first, as
// evlog does. Any other error shows when SQLite opens the file.
void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

// ---- the two ways to record one event --------------------------------------------------------

// The synchronous strategy: one INSERT in autocommit mode per event, i.e. its own transaction,
// committed before the call returns; a connection per request thread.
class SyncInserter {
 public:
  explicit SyncInserter(const std::string& path)
      : db_(open_database(path)),
        insert_(prepare(db_.get(), std::string("INSERT INTO ") + kSyncTable +
                                       " (event_id, event_type, user_id, user_type, metadata,"
                                       " created_at) VALUES (?, ?, ?, ?, ?, ?)")),
        ids_(std::random_device{}()) {}

  // Stamps the event as evlog does (UUIDv7, UTC microseconds) and inserts it.
  bool record(const evlog::Event& event) {
    std::array<char, 48> id{};
    std::array<char, 48> at{};
    format_uuid_v7(id);
    format_utc_now(at);
    sqlite3_stmt* s = insert_.get();
    bind_text_or_null(s, 1, id.data());
    bind_text_or_null(s, 2, event.type);
    event.user_id ? sqlite3_bind_int64(s, 3, *event.user_id) : sqlite3_bind_null(s, 3);
    bind_text_or_null(s, 4, event.user_type);
    bind_text_or_null(s, 5, event.metadata);
    bind_text_or_null(s, 6, at.data());
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return true;
    failure_ = sqlite3_errmsg(db_.get());
    return false;
  }
  const std::string& failure() const { return failure_; }

 private:
  // An empty view means NULL, as in evlog::Event.
  static void bind_text_or_null(sqlite3_stmt* s, int index, std::string_view text) {
    text.empty()
        ? sqlite3_bind_null(s, index)
        : sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void format_uuid_v7(std::array<char, 48>& out) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    const std::uint64_t high = (static_cast<std::uint64_t>(ms) << 16) | 0x7000 | (ids_() & 0x0fff);
    const std::uint64_t low = (ids_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    std::snprintf(out.data(), out.size(),
                  "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, high >> 32,
                  (high >> 16) & 0xffff, high & 0xffff, low >> 48, low & 0xffffffffffff);
  }
  static void format_utc_now(std::array<char, 48>& out) {
    using namespace std::chrono;
    const auto now = floor<microseconds>(system_clock::now());
    const auto day = floor<days>(now);
    const year_month_day date{day};
    const hh_mm_ss time{now - day};
    std::snprintf(out.data(), out.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ",
                  static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                  static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()),
                  static_cast<int>(time.subseconds().count()));
  }

  Connection db_;
  Statement insert_;
  std::mt19937_64 ids_;
  std::string failure_;
};

// evlog: one call of Logger::log() with the logger's own delivery choice.
class LogRecorder {
 public:
  explicit LogRecorder(evlog::Logger& logger) : logger_(&logger) {}

  bool record(const evlog::Event& event) {
    const evlog::Result result = logger_->log(event);
    if (result.ok()) return true;
    failure_ = std::string(evlog::to_string(result.outcome)) +
               (result.message.empty() ? "" : ": " + result.message);
    return false;
  }
  const std::string& failure() const { return failure_; }

 private:
  evlog::Logger* logger_;
  std::string failure_;
};

// ---- reporting -------------------------------------------------------------------------------

// A duration in the unit that suits it, three significant digits: "182 ns", "41.2 µs", "5.01 ms",
// "1.35 s".
std::string format_ns(double ns) {
  const char* unit = ns >= 1e9 ? "s" : ns >= 1e6 ? "ms" : ns >= 1e3 ? "µs" : "ns";
  const double value = ns >= 1e9 ? ns / 1e9 : ns >= 1e6 ? ns / 1e6 : ns >= 1e3 ? ns / 1e3 : ns;
  std::array<char, 32> text{};
  const int decimals = value < 10 ? 2 : (value < 100 ? 1 : 0);
  std::snprintf(text.data(), text.size(), "%.*f %s", decimals, value, unit);
  return text.data();
}

void print_latencies(const Pace& pace, const Samples& run) {
  const auto calls = run.latencies_ns.size();
  std::printf("  %-14s %12zu", "calls", calls);
  if (run.failures > 0) {
    std::printf("   failed %" PRIu64 " (first: %s)", run.failures, run.first_failure.c_str());
  }
  std::printf("\n");
  const std::array<std::pair<const char*, double>, 4> rows{
      {{"latency p50", 0.5}, {"latency p99", 0.99}, {"latency p99.9", 0.999}, {"latency max", 1}}};
  for (const auto& [name, p] : rows) {
    std::printf("  %-14s %12s\n", name, format_ns(percentile(run.latencies_ns, p)).c_str());
  }
  std::printf("  %-14s %12.0f   (target %d)\n", "events/s",
              run.seconds > 0 ? static_cast<double>(calls) / run.seconds : 0.0, pace.rate);
}

// Prints the rows line. Returns why it is wrong, or "" when `table` gained exactly `expected` rows.
std::string check_rows(const std::string& table, std::int64_t before, std::int64_t after,
                       std::uint64_t expected) {
  const std::int64_t added = after - before;
  const bool ok = added >= 0 && static_cast<std::uint64_t>(added) == expected;
  std::printf("  %-14s %12" PRId64 "   added, %" PRId64 " in the table (expected %" PRIu64 ")%s\n",
              "rows", added, after, expected, ok ? "" : "  MISMATCH");
  return ok ? ""
            : table + " gained " + std::to_string(added) + " rows, not " + std::to_string(expected);
}

// ---- the two phases --------------------------------------------------------------------------

struct PhaseOutcome {
  double p50_ns = 0;
  double p99_ns = 0;
  std::vector<std::string> failures;  // what went wrong; empty when every check passed
};

PhaseOutcome run_sync_phase(const DemoOptions& opts) {
  create_private_file(opts.database);
  {
    const Connection db = open_database(opts.database);
    exec(db.get(), "PRAGMA journal_mode=WAL");
    exec(db.get(), std::string("CREATE TABLE IF NOT EXISTS ") + kSyncTable +
                       " (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
                       " event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT,"
                       " metadata TEXT, created_at TEXT NOT NULL)");
  }
  const std::int64_t before = count_rows(opts.database, kSyncTable);
  std::printf("\nphase 1/2: synchronous INSERT + COMMIT per event, table %s\n", kSyncTable);
  std::fflush(stdout);
  const Samples run = run_paced(opts.pace, [&](int) { return SyncInserter(opts.database); });
  print_latencies(opts.pace, run);
  PhaseOutcome outcome{percentile(run.latencies_ns, 0.5), percentile(run.latencies_ns, 0.99), {}};
  const std::string rows = check_rows(kSyncTable, before, count_rows(opts.database, kSyncTable),
                                      run.latencies_ns.size() - run.failures);
  if (!rows.empty()) outcome.failures.push_back(rows);
  return outcome;
}

PhaseOutcome run_evlog_phase(const DemoOptions& opts) {
  evlog::Options options;  // the defaults, but for the file
  options.database = opts.database;
  const std::int64_t before = count_rows(opts.database, options.table);
  std::printf("\nphase 2/2: evlog Logger::log(), default options, table %s\n",
              options.table.c_str());
  std::fflush(stdout);

  evlog::Logger logger(options);
  const Samples run = run_paced(opts.pace, [&](int) { return LogRecorder(logger); });
  const auto drain_start = Clock::now();
  const bool drained = logger.shutdown(options.shutdown_timeout);
  const double drain_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - drain_start).count();
  const evlog::Stats s = logger.stats();

  print_latencies(opts.pace, run);
  std::printf("  %-14s %12s   (shutdown %s)\n", "drain", format_ns(drain_ns).c_str(),
              drained ? "drained everything" : "missed its deadline");
  PhaseOutcome outcome{percentile(run.latencies_ns, 0.5), percentile(run.latencies_ns, 0.99), {}};
  // Rows this logger added: its own events, plus any replayed from earlier processes' spill files.
  const std::string rows = check_rows(
      options.table, before, count_rows(opts.database, options.table), s.written + s.replayed);
  if (!rows.empty()) outcome.failures.push_back(rows);

  const std::uint64_t calls = run.latencies_ns.size();
  const std::uint64_t accounted =
      s.rejected + s.dropped + s.written + s.queued + s.spilled + s.dead_lettered + s.lost;
  const bool balanced = accounted == calls;
  std::printf("calls=%" PRIu64 " rejected=%" PRIu64 " dropped=%" PRIu64 " written=%" PRIu64
              " queued=%" PRIu64 " spilled=%" PRIu64 " dead_lettered=%" PRIu64 " lost=%" PRIu64
              " (%s)\n",
              calls, s.rejected, s.dropped, s.written, s.queued, s.spilled, s.dead_lettered, s.lost,
              balanced ? "balanced" : "UNBALANCED");
  if (!s.last_error.empty()) std::printf("last database error: %s\n", s.last_error.c_str());
  if (!balanced) outcome.failures.push_back("the accounting does not balance");
  // A demo that lost events at shutdown has not shown what evlog promises: fail it too.
  if (!drained) outcome.failures.push_back(std::to_string(s.lost) + " events lost at shutdown");
  return outcome;
}

std::string format_ratio(double slow, double fast) {
  const double ratio = slow / std::max(fast, 1.0);
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), ratio < 10 ? "%.1f" : "%.0f", ratio);
  return text.data();
}

bool run_demo(const DemoOptions& opts) {
  std::printf(
      "evlog demo: %d request threads, %d events/s in total (%.0f/s per thread), %d s per"
      " phase, database %s\n",
      opts.pace.threads, opts.pace.rate, static_cast<double>(opts.pace.rate) / opts.pace.threads,
      opts.pace.seconds, opts.database.c_str());
  const PhaseOutcome sync = run_sync_phase(opts);
  const PhaseOutcome async = run_evlog_phase(opts);
  std::printf("\nlog() is %s× cheaper at p50 than a synchronous insert (%s× at p99)\n",
              format_ratio(sync.p50_ns, async.p50_ns).c_str(),
              format_ratio(sync.p99_ns, async.p99_ns).c_str());
  std::fflush(stdout);
  std::string failures;
  for (const PhaseOutcome* phase : {&sync, &async}) {
    for (const std::string& failure : phase->failures) {
      failures += (failures.empty() ? "" : "; ") + failure;
    }
  }
  if (!failures.empty()) std::fprintf(stderr, "evlog: demo failed: %s\n", failures.c_str());
  return failures.empty();
}

}  // namespace

void add_demo_command(CLI::App& app, std::function<bool()>& chosen) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Replay the classroom event mix: first one synchronous INSERT + COMMIT per event, then "
      "through evlog; compare what each call costs");
  demo->add_option("--database", opts->database,
                   "SQLite file (tables demo_sync_events and analytics_events)")
      ->capture_default_str()
      ->check([](const std::string& path) { return path.empty() ? "must not be empty" : ""; });
  demo->add_option("--seconds", opts->pace.seconds, "Length of each of the two phases, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  demo->add_option("--threads", opts->pace.threads, "Request threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  demo->add_option("--rate", opts->pace.rate, "Target events per second, all threads together")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  demo->callback([opts, &chosen] { chosen = [opts] { return run_demo(*opts); }; });
}

}  // namespace evlog::cli
