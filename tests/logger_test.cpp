// Logger: events from many threads land exactly once with their fields; ids and timestamps are
// made at log() time; flush and shutdown keep their deadlines; the destructor loses nothing;
// stats report a stalled database; several loggers coexist; each writer thread is named.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::accounted;
using evlog_test::count_rows;
using evlog_test::is_uuid_v7;
using evlog_test::kLongWait;
using evlog_test::lower;
using evlog_test::Micros;
using evlog_test::options_for;
using evlog_test::parse_created_at;
using evlog_test::prime;
using evlog_test::read_rows;
using evlog_test::scale;
using evlog_test::SqliteFile;
using evlog_test::SqliteWriteLock;
using evlog_test::TempDir;
using evlog_test::uuid_unix_ms;
using evlog_test::wait_until;
using evlog_test::WarningCollector;
using Clock = std::chrono::steady_clock;

Micros now_micros() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// Reports at most a few of many per-row mismatches, then a total.
class Mismatches {
 public:
  explicit Mismatches(std::string what) : what_(std::move(what)) {}
  ~Mismatches() {
    if (count_ > kShown) ADD_FAILURE() << what_ << ": " << count_ << " mismatches in all";
  }
  void add(const std::string& detail) {
    if (++count_ <= kShown) ADD_FAILURE() << what_ << ": " << detail;
  }

 private:
  static constexpr int kShown = 5;
  std::string what_;
  int count_ = 0;
};

// 8 threads × 50,000 events (scaled): each lands exactly once, with its type, user_id, user_type
// and metadata (NULL where empty), a unique UUIDv7, and a created_at inside the test's run; within
// a thread the id's time never goes backwards.
TEST(Logger, ManyThreadsLandExactlyOnceWithTheirFields) {
  constexpr int kThreads = 8;
  const std::size_t per_thread = scale(50000);
  TempDir dir;
  const std::string db = dir.file("load.db");
  evlog::Options options = options_for(db);
  options.on_full = evlog::OnFull::block;  // no drops: every event must land
  options.block_timeout = 2000ms;
  evlog::Logger logger(options);

  const Micros started = now_micros();
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> not_ok{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string type = "load.t" + std::to_string(t);
      const std::string user_type = "thread-" + std::to_string(t);
      std::string metadata;
      std::uint64_t my_calls = 0;
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_thread; ++i) {
        metadata = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        const evlog::Event event{
            type, static_cast<std::int64_t>(t) * 1000000 + static_cast<std::int64_t>(i),
            i % 5 == 0 ? std::string_view() : std::string_view(user_type),
            i % 7 == 0 ? std::string_view() : std::string_view(metadata)};
        for (;;) {
          const evlog::Result r = logger.log(event);
          ++my_calls;
          if (r.ok()) break;
          // Only a full queue may refuse a valid event; retry it so that every event lands.
          if (r.outcome != evlog::Outcome::dropped) {
            ++not_ok;
            break;
          }
          std::this_thread::yield();
        }
      }
      calls += my_calls;
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(not_ok.load(), 0u);
  ASSERT_TRUE(logger.flush(kLongWait));
  const Micros finished = now_micros();

  const std::uint64_t total = kThreads * per_thread;
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.written, total);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_TRUE(accounted(stats, calls.load()));

  SqliteFile file(db);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"), static_cast<std::int64_t>(total));
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"),
            static_cast<std::int64_t>(total));
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE typeof(user_id) <> 'integer'"),
            0);

  std::vector<std::vector<bool>> seen(kThreads, std::vector<bool>(per_thread, false));
  Mismatches fields("fields");
  Mismatches ids("event_id");
  Mismatches times("created_at");
  int last_thread = -1;
  std::int64_t last_ms = 0;
  file.each(
      "SELECT event_id, event_type, user_id, user_type, metadata, created_at FROM "
      "analytics_events ORDER BY user_id",
      [&](const std::vector<evlog_test::Cell>& row) {
        if (!row[2]) return fields.add("user_id is NULL");
        const std::int64_t user_id = std::stoll(*row[2]);
        const int t = static_cast<int>(user_id / 1000000);
        const std::size_t i = static_cast<std::size_t>(user_id % 1000000);
        if (t < 0 || t >= kThreads || i >= per_thread) {
          return fields.add("unexpected user_id " + *row[2]);
        }
        if (seen[t][i]) return fields.add("event logged once, stored twice: " + *row[2]);
        seen[t][i] = true;

        const std::string metadata =
            "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        if (row[1] != "load.t" + std::to_string(t)) fields.add("event_type of " + *row[2]);
        if (i % 5 == 0 ? row[3].has_value() : row[3] != "thread-" + std::to_string(t)) {
          fields.add("user_type of " + *row[2]);
        }
        if (i % 7 == 0 ? row[4].has_value() : row[4] != metadata) {
          fields.add("metadata of " + *row[2]);
        }

        if (!row[0] || !is_uuid_v7(*row[0]))
          return ids.add("not a UUIDv7: " + row[0].value_or("NULL"));
        const auto created = row[5] ? parse_created_at(*row[5]) : std::nullopt;
        if (!created) return times.add("bad created_at '" + row[5].value_or("NULL") + "'");
        if (*created < started || *created > finished) {
          times.add("created_at " + *row[5] + " outside the test's run");
        }
        // The id's timestamp is the created_at instant (to the millisecond).
        const std::int64_t id_ms = uuid_unix_ms(*row[0]);
        const std::int64_t created_ms =
            std::chrono::floor<std::chrono::milliseconds>(*created).time_since_epoch().count();
        if (id_ms < created_ms - 1 || id_ms > created_ms + 1) {
          ids.add(*row[0] + " has time " + std::to_string(id_ms) + " ms, created_at " + *row[5]);
        }
        // Within one thread (rows in log order here), the id's time never goes backwards.
        if (t == last_thread && id_ms < last_ms) ids.add(*row[0] + " goes back in time");
        last_thread = t;
        last_ms = id_ms;
      });
  std::size_t missing = 0;
  for (const auto& thread_seen : seen) {
    for (bool s : thread_seen) missing += s ? 0 : 1;
  }
  EXPECT_EQ(missing, 0u) << "events logged but not in the table";
}

// created_at is when log() was called, not when the row was written: writes are held up ~1 s by
// another connection's write lock, and created_at still falls between the clock readings taken
// around log(). The format is YYYY-MM-DDTHH:MM:SS.ffffffZ.
TEST(Logger, CreatedAtIsTheLogTimeNotTheWriteTime) {
  TempDir dir;
  const std::string db = dir.file("time.db");
  evlog::Logger logger(options_for(db));
  ASSERT_TRUE(prime(logger));

  Micros before;
  Micros after;
  Micros released;
  {
    SqliteWriteLock lock(db);
    before = now_micros();
    ASSERT_EQ(logger.log({"timed", 1, "", ""}).outcome, evlog::Outcome::queued);
    after = now_micros() + 1us;
    std::this_thread::sleep_for(1s);  // holding the lock: the writer cannot commit meanwhile
    released = now_micros();
    lock.release();
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const auto rows =
      read_rows(db, "SELECT created_at FROM analytics_events WHERE event_type = 'timed'");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0][0].has_value());
  const auto created = parse_created_at(*rows[0][0]);
  ASSERT_TRUE(created.has_value())
      << "created_at '" << *rows[0][0] << "' is not YYYY-MM-DDTHH:MM:SS.ffffffZ";
  EXPECT_GE(*created, before) << *rows[0][0];
  EXPECT_LE(*created, after) << *rows[0][0];
  EXPECT_LT(*created, released - 900ms) << "created_at looks like the write time";
}

// UUIDv7 ids sort by time: events logged one after another (a couple of microseconds apart) have
// strictly increasing event_id and created_at.
TEST(Logger, IdsSortByTimeWithinAThread) {
  TempDir dir;
  const std::string db = dir.file("order.db");
  evlog::Logger logger(options_for(db));
  const std::size_t n = scale(2000);
  for (std::size_t i = 0; i < n; ++i) {
    const Micros previous = now_micros();
    while (now_micros() < previous + 2us) {
    }
    ASSERT_EQ(logger.log({"ordered", static_cast<std::int64_t>(i), "", ""}).outcome,
              evlog::Outcome::queued);
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const auto rows =
      read_rows(db, "SELECT lower(event_id), created_at FROM analytics_events ORDER BY user_id");
  ASSERT_EQ(rows.size(), n);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_LT(*rows[i - 1][0], *rows[i][0]) << "event " << i << " sorts before its predecessor";
    ASSERT_LT(*rows[i - 1][1], *rows[i][1]) << "event " << i;
  }
}

// queue_capacity need not be a power of two: 20 is accepted (rounded up) and works.
// A capacity that is not a power of two is rounded up: 20 gives 32 slots. With the database
// locked, the writer takes one batch (max_batch 4) and can write none; the queue then holds
// exactly 32 more, and the 37th call is dropped for a full queue.
TEST(Logger, QueueCapacityRoundsUp) {
  TempDir dir;
  const std::string db = dir.file("small.db");
  evlog::Options options = options_for(db);
  options.queue_capacity = 20;
  options.max_batch = 4;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  ASSERT_TRUE(prime(logger));
  SqliteWriteLock lock(db);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(logger.log({"small", i, "", ""}).ok());
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries > 0; }, kLongWait));
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += logger.log({"small", i, "", ""}).ok() ? 1 : 0;
  EXPECT_EQ(admitted, 32) << "a queue_capacity of 20 holds 32 events";
  EXPECT_EQ(logger.stats().dropped_queue_full, 68u);
  lock.release();
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(count_rows(db), 1 + 4 + 32);
  EXPECT_TRUE(accounted(logger.stats(), 1 + 4 + 100));
}

// The names of this process's threads, from /proc/self/task/TID/comm.
std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.push_back(name);
  }
  return names;
}

long writer_threads() {
  const auto names = thread_names();
  return std::count(names.begin(), names.end(), "evlog-writer");
}

// Operators find the writer by name (top -H, ps -L, perf, /proc): one thread per logger, named
// while it runs and gone after shutdown.
TEST(Logger, EachWriterThreadIsNamedEvlogWriter) {
  TempDir dir;
  const long before = writer_threads();
  {
    evlog::Logger first(options_for(dir.file("first.db")));
    evlog::Logger second(options_for(dir.file("second.db")));
    EXPECT_TRUE(wait_until([&] { return writer_threads() == before + 2; }, kLongWait))
        << writer_threads() - before << " writer threads named evlog-writer, expected 2";
    ASSERT_TRUE(first.shutdown(kLongWait));
    // A joined thread leaves /proc a moment after join() returns: wait for it, bounded.
    EXPECT_TRUE(wait_until([&] { return writer_threads() == before + 1; }, kLongWait));
  }
  EXPECT_TRUE(wait_until([&] { return writer_threads() == before; }, kLongWait));
}

// flush() keeps its deadline while another connection holds the write lock, and returns true once
// that connection commits (the logger's rows then sit beside the other writer's row).
TEST(Logger, FlushIsFalseAtItsDeadlineWhileLockedAndTrueAfter) {
  TempDir dir;
  const std::string db = dir.file("flush.db");
  evlog::Logger logger(options_for(db));
  ASSERT_TRUE(prime(logger));

  SqliteWriteLock lock(db);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(logger.log({"held", i, "", ""}).outcome, evlog::Outcome::queued);
  }
  const auto t0 = Clock::now();
  EXPECT_FALSE(logger.flush(200ms));
  const auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 1500ms) << "flush(200ms) overran its deadline";
  EXPECT_FALSE(logger.flush(0ms));
  EXPECT_EQ(count_rows(db), 1) << "a row was committed through a held write lock";

  lock.exec(
      "INSERT INTO analytics_events (event_id, event_type, created_at) VALUES "
      "('external-1', 'external', '2024-01-01T00:00:00.000000Z')");
  lock.release(/*commit=*/true);
  EXPECT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(count_rows(db), 12);
  EXPECT_TRUE(accounted(logger.stats(), 11));
  EXPECT_EQ(logger.stats().written, 11u);
}

// Destroying a logger without flush() writes everything logged.
TEST(Logger, DestructorLosesNothing) {
  TempDir dir;
  const std::string db = dir.file("dtor.db");
  const std::size_t n = scale(20000);
  {
    evlog::Options options;  // the default max_delay: nothing is written before the destructor
    options.database = db;
    evlog::Logger logger(options);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(logger.log({"dtor", static_cast<std::int64_t>(i), "", "{\"k\":1}"}).outcome,
                evlog::Outcome::queued);
    }
  }
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(n));
}

// The destructor waits out a short stall (another connection's write lock) within
// shutdown_timeout instead of dropping what is queued.
TEST(Logger, DestructorWaitsOutAShortLock) {
  TempDir dir;
  const std::string db = dir.file("dtor_locked.db");
  std::thread releaser;
  {
    evlog::Logger logger(options_for(db));
    ASSERT_TRUE(prime(logger));
    auto lock = std::make_shared<SqliteWriteLock>(db);
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(logger.log({"late", i, "", ""}).outcome, evlog::Outcome::queued);
    }
    releaser = std::thread([lock] {
      std::this_thread::sleep_for(300ms);
      lock->release();
    });
  }
  releaser.join();
  EXPECT_EQ(count_rows(db), 101);
}

// After shutdown, log() answers `closed` (counted in rejected) and writes nothing.
TEST(Logger, LogAfterShutdownIsClosed) {
  TempDir dir;
  const std::string db = dir.file("closed.db");
  evlog::Logger logger(options_for(db));
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(logger.log({"open", i, "", ""}).outcome, evlog::Outcome::queued);
  ASSERT_TRUE(logger.shutdown(kLongWait));
  const evlog::Result r = logger.log({"after", 1, "", ""});
  EXPECT_EQ(r.outcome, evlog::Outcome::closed);
  EXPECT_FALSE(r.ok());
  const evlog::Result c = logger.log({"after", 2, "", ""}, evlog::Delivery::committed);
  EXPECT_EQ(c.outcome, evlog::Outcome::closed);
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(stats.written, 5u);
  EXPECT_TRUE(accounted(stats, 7));
  EXPECT_EQ(count_rows(db), 5);
  EXPECT_EQ(evlog::to_string(evlog::Outcome::closed), "closed");
}

// shutdown() returns true when everything was written, and the same answer again.
TEST(Logger, ShutdownIsIdempotent) {
  TempDir dir;
  const std::string db = dir.file("shutdown.db");
  evlog::Logger logger(options_for(db));
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(logger.log({"s", i, "", ""}).outcome, evlog::Outcome::queued);
  EXPECT_TRUE(logger.shutdown(kLongWait));
  EXPECT_TRUE(logger.shutdown(0ms));
  EXPECT_TRUE(logger.shutdown(kLongWait));
  EXPECT_EQ(count_rows(db), 50);
  EXPECT_TRUE(accounted(logger.stats(), 50));
}

// What cannot be written by the shutdown deadline is counted lost (never silently) and warned
// about; shutdown keeps its deadline and then answers false, again and again.
TEST(Logger, ShutdownCountsWhatMissesItsDeadlineAsLost) {
  TempDir dir;
  const std::string db = dir.file("lost.db");
  WarningCollector warnings;
  evlog::Options options = options_for(db);
  options.on_warning = warnings.sink();
  {
    evlog::Logger logger(options);
    ASSERT_TRUE(prime(logger));
    SqliteWriteLock lock(db);
    for (int i = 0; i < 10; ++i)
      ASSERT_EQ(logger.log({"doomed", i, "", ""}).outcome, evlog::Outcome::queued);
    const auto t0 = Clock::now();
    EXPECT_FALSE(logger.shutdown(300ms));
    EXPECT_LT(Clock::now() - t0, 1500ms) << "shutdown(300ms) overran its deadline";
    EXPECT_FALSE(logger.shutdown(kLongWait)) << "a second shutdown must give the first answer";
    const evlog::Stats stats = logger.stats();
    EXPECT_EQ(stats.lost + stats.spilled, 10u) << evlog_test::describe(stats);
    EXPECT_EQ(stats.written, 1u);
    EXPECT_TRUE(accounted(stats, 11));
    EXPECT_EQ(logger.log({"after", 1, "", ""}).outcome, evlog::Outcome::closed);
  }
  const bool warned = warnings.any_of(
      [](const std::string& w) { return lower(w).find("lost") != std::string::npos; });
  EXPECT_TRUE(warned) << "no warning mentioned the lost events (" << warnings.size()
                      << " warnings)";
  EXPECT_EQ(count_rows(db), 1);
}

// While writes are held up, stats() shows the oldest queued event's age growing, the database
// error, database_failing and retries; all clear once the database is back.
TEST(Logger, StatsReportAStalledDatabase) {
  TempDir dir;
  const std::string db = dir.file("stalled.db");
  evlog::Logger logger(options_for(db));
  ASSERT_TRUE(prime(logger));
  EXPECT_EQ(logger.stats().oldest_queued_age, 0us);
  EXPECT_FALSE(logger.stats().database_failing);
  {
    SqliteWriteLock lock(db);
    ASSERT_EQ(logger.log({"stuck", 1, "", ""}).outcome, evlog::Outcome::queued);
    ASSERT_TRUE(wait_until([&] { return logger.stats().oldest_queued_age >= 200ms; }, 10s))
        << "oldest_queued_age " << logger.stats().oldest_queued_age.count() << " us";
    const auto first = logger.stats().oldest_queued_age;
    EXPECT_TRUE(wait_until([&] { return logger.stats().oldest_queued_age >= first + 100ms; }, 10s))
        << "oldest_queued_age does not grow";
    ASSERT_TRUE(wait_until(
        [&] {
          const evlog::Stats s = logger.stats();
          return !s.last_error.empty() && s.database_failing && s.retries > 0;
        },
        10s))
        << evlog_test::describe(logger.stats());
    const evlog::Stats stalled = logger.stats();
    const std::string error = lower(stalled.last_error);
    EXPECT_TRUE(error.find("lock") != std::string::npos || error.find("busy") != std::string::npos)
        << "last_error '" << stalled.last_error << "' does not say the database is locked";
    EXPECT_EQ(stalled.queued, 1u);
    EXPECT_EQ(stalled.written, 1u);
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats after = logger.stats();
  EXPECT_EQ(after.oldest_queued_age, 0us);
  EXPECT_FALSE(after.database_failing);
  EXPECT_EQ(after.queued, 0u);
  EXPECT_EQ(after.written, 2u);
  EXPECT_TRUE(accounted(after, 2));
}

// flush() covers the events logged before the call and is not starved by a producer that keeps
// logging meanwhile.
TEST(Logger, FlushCoversEarlierEventsWhileOthersKeepLogging) {
  TempDir dir;
  const std::string db = dir.file("ordered_flush.db");
  evlog::Options options = options_for(db);
  options.queue_capacity = 4096;
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 2000ms;
  evlog::Logger logger(options);

  const std::size_t limit = scale(200000);
  std::vector<evlog::Outcome> outcomes(limit, evlog::Outcome::rejected);
  std::atomic<std::size_t> logged{0};
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    for (std::size_t i = 0; i < limit && !stop.load(); ++i) {
      outcomes[i] = logger.log({"flood", static_cast<std::int64_t>(i), "", ""}).outcome;
      logged.store(i + 1, std::memory_order_release);
    }
  });
  const bool started =
      wait_until([&] { return logged.load(std::memory_order_acquire) >= 1000; }, 10s);
  const std::size_t mark = logged.load(std::memory_order_acquire);
  const bool flushed = started && logger.flush(kLongWait);
  stop = true;
  producer.join();
  ASSERT_TRUE(started) << "the producer did not log 1000 events in 10 s";
  ASSERT_TRUE(flushed) << "flush starved by a concurrent producer";

  // Every event logged before the flush call and admitted is in the table (checked against the
  // rows committed by the time flush returned: later rows only add to them).
  const auto rows =
      read_rows(db, "SELECT user_id FROM analytics_events WHERE user_id < " + std::to_string(mark));
  std::size_t admitted = 0;
  for (std::size_t i = 0; i < mark; ++i) admitted += evlog::Result{outcomes[i], ""}.ok() ? 1 : 0;
  EXPECT_EQ(rows.size(), admitted);
  EXPECT_GT(admitted, 0u);
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(accounted(logger.stats(), logged.load()));
}

// Several loggers in one process, each on its own file, keep their events apart.
TEST(Logger, SeveralLoggersOnDifferentFiles) {
  TempDir dir;
  const std::string db_a = dir.file("a.db");
  const std::string db_b = dir.file("b.db");
  evlog::Logger a(options_for(db_a));
  evlog::Logger b(options_for(db_b));
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(a.log({"from_a", i, "", ""}).outcome, evlog::Outcome::queued);
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(b.log({"from_b", i, "", ""}).outcome, evlog::Outcome::queued);
  ASSERT_TRUE(a.flush(kLongWait));
  ASSERT_TRUE(b.flush(kLongWait));
  EXPECT_EQ(count_rows(db_a), 100);
  EXPECT_EQ(count_rows(db_b), 200);
  EXPECT_EQ(read_rows(db_a, "SELECT 1 FROM analytics_events WHERE event_type <> 'from_a'").size(),
            0u);
  EXPECT_EQ(read_rows(db_b, "SELECT 1 FROM analytics_events WHERE event_type <> 'from_b'").size(),
            0u);
  EXPECT_EQ(a.stats().written, 100u);
  EXPECT_EQ(b.stats().written, 200u);
}

// Three loggers constructed at the same moment on one new file all start (none throws for a
// briefly busy database) and all their rows land, with distinct ids.
TEST(Logger, ThreeLoggersConstructedAtOnceOnOneNewFile) {
  constexpr int kLoggers = 3;
  TempDir dir;
  const std::string db = dir.file("shared.db");
  const std::size_t per_logger = scale(5000);
  std::latch start(kLoggers);
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int k = 0; k < kLoggers; ++k) {
    threads.emplace_back([&, k] {
      auto fail = [&](const std::string& what) {
        std::lock_guard lock(mutex);
        errors.push_back("logger " + std::to_string(k) + ": " + what);
      };
      start.arrive_and_wait();
      try {
        evlog::Options options = options_for(db);
        options.on_full = evlog::OnFull::block;
        options.block_timeout = 2000ms;
        evlog::Logger logger(options);
        const std::string user_type = "logger-" + std::to_string(k);
        for (std::size_t i = 0; i < per_logger; ++i) {
          const evlog::Result r =
              logger.log({"shared", static_cast<std::int64_t>(i), user_type, ""});
          if (!r.ok()) return fail("log() answered " + std::string(evlog::to_string(r.outcome)));
        }
        if (!logger.flush(kLongWait)) return fail("flush timed out");
        if (logger.stats().written != per_logger) return fail(evlog_test::describe(logger.stats()));
      } catch (const std::exception& e) {
        fail(std::string("threw: ") + e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  SqliteFile file(db);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"),
            kLoggers * static_cast<std::int64_t>(per_logger));
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"),
            kLoggers * static_cast<std::int64_t>(per_logger));
  for (int k = 0; k < kLoggers; ++k) {
    EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE user_type = 'logger-" +
                          std::to_string(k) + "'"),
              static_cast<std::int64_t>(per_logger));
  }
}

// Delivery::committed never answers `committed` for a row that is not committed: when it says
// committed the row is visible to another connection at once (on a healthy database it is always
// committed); while the write lock is held it answers timed_out (then the row is still written
// exactly once) or dropped, within its timeout.
TEST(Logger, CommittedDeliveryNeverClaimsAnUncommittedRow) {
  TempDir dir;
  const std::string db = dir.file("committed.db");
  evlog::Options options = options_for(db);
  options.commit_timeout = 300ms;
  options.critical_types = {"task_complete"};
  evlog::Logger logger(options);
  ASSERT_TRUE(prime(logger));

  // Rows holding `metadata`, as a fresh connection sees them.
  auto visible = [&](const std::string& metadata) {
    return read_rows(db, "SELECT 1 FROM analytics_events WHERE metadata = '" + metadata + "'")
        .size();
  };
  // Healthy database: an explicit committed delivery and a critical type are both `committed`,
  // and the row is visible to another connection when the answer comes.
  const evlog::Result explicit_commit =
      logger.log({"quiz_attempt", 1, "", "{\"n\":1}"}, evlog::Delivery::committed);
  EXPECT_EQ(explicit_commit.outcome, evlog::Outcome::committed) << explicit_commit.message;
  EXPECT_EQ(visible("{\"n\":1}"), 1u) << "answered before the row was committed";
  const evlog::Result critical = logger.log({"task_complete", 1, "", "{\"n\":2}"});
  EXPECT_EQ(critical.outcome, evlog::Outcome::committed) << critical.message;
  EXPECT_EQ(visible("{\"n\":2}"), 1u) << "answered before the row was committed";

  // Locked database: never `committed`, and the wait is bounded by commit_timeout.
  evlog::Outcome locked_outcome;
  {
    SqliteWriteLock lock(db);
    const auto t0 = Clock::now();
    const evlog::Result r =
        logger.log({"quiz_attempt", 1, "", "{\"n\":3}"}, evlog::Delivery::committed);
    EXPECT_LT(Clock::now() - t0, 1500ms) << "committed delivery overran commit_timeout";
    locked_outcome = r.outcome;
    EXPECT_TRUE(r.outcome == evlog::Outcome::timed_out || r.outcome == evlog::Outcome::dropped)
        << "answered " << evlog::to_string(r.outcome) << " while the write lock was held";
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(visible("{\"n\":3}"), locked_outcome == evlog::Outcome::timed_out ? 1u : 0u);
  EXPECT_TRUE(accounted(logger.stats(), 4));
}

}  // namespace
