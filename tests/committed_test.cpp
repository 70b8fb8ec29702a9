// Committed delivery: a critical event returns `committed` only once its row is committed and
// visible to another connection, and concurrent critical events share one commit.
//
// The SIGKILL test, which forks, is in committed_crash_test.cpp, so that this file runs under
// ThreadSanitizer too.
#include <atomic>
#include <thread>

#include "test_support.hpp"

namespace evlog_test {
namespace {

using evlog::Delivery;
using evlog::Outcome;

std::string marker(int thread, int i) {
  return R"({"t":)" + std::to_string(thread) + R"(,"i":)" + std::to_string(i) + "}";
}

TEST(CommittedDelivery, RowIsVisibleToAnotherConnectionWhenLogReturns) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Logger logger(committed_options(path));
  SqliteFile reader(path);
  const int n = static_cast<int>(scale(200));
  for (int i = 0; i < n; ++i) {
    const std::string m = marker(0, i);
    const evlog::Result r =
        logger.log({.type = "task_complete", .user_id = i, .user_type = "student", .metadata = m});
    ASSERT_EQ(r.outcome, Outcome::committed) << r.message;
    ASSERT_EQ(reader.scalar("SELECT count(*) FROM analytics_events WHERE metadata = '" + m + "'"),
              1)
        << "event " << i << " was acknowledged before its row was visible";
  }
  EXPECT_EQ(logger.stats().committed_waits, static_cast<std::uint64_t>(n));
}

TEST(CommittedDelivery, ExplicitDeliveryOverridesTheType) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Logger logger(committed_options(path));
  SqliteFile reader(path);
  // An ordinary type asked to be committed is committed on return ...
  ASSERT_EQ(logger
                .log({.type = "page_view", .user_id = 1, .user_type = {}, .metadata = R"({"x":1})"},
                     Delivery::committed)
                .outcome,
            Outcome::committed);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM analytics_events WHERE metadata = '{\"x\":1}'"), 1);
  // ... and a critical type asked to be async is only queued.
  EXPECT_EQ(logger
                .log({.type = "task_complete", .user_id = 1, .user_type = {}, .metadata = {}},
                     Delivery::async)
                .outcome,
            Outcome::queued);
  ASSERT_TRUE(logger.flush(10s));
  EXPECT_TRUE(accounted(logger.stats(), 2));
}

TEST(CommittedDelivery, DoesNotWaitOutMaxDelay) {
  TempDir dir;
  evlog::Options o = committed_options(dir.file("a.db"));
  o.max_delay = std::chrono::milliseconds(20000);
  evlog::Logger logger(o);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(
      logger.log({.type = "quiz_attempt", .user_id = 3, .user_type = {}, .metadata = {}}).outcome,
      Outcome::committed);
  // A committed event makes the writer commit at once, not at its next 10 s tick.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(10000));
}

TEST(CommittedDelivery, TimesOutWhileLockedAndIsWrittenOnceAfter) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Options o = committed_options(path);
  o.commit_timeout = std::chrono::milliseconds(300);
  evlog::Logger logger(o);
  ASSERT_TRUE(logger.flush(10s));  // the table exists before the lock is taken
  SqliteWriteLock lock(path);
  const evlog::Result r = logger.log(
      {.type = "task_complete", .user_id = 9, .user_type = {}, .metadata = R"({"late":1})"});
  EXPECT_EQ(r.outcome, Outcome::timed_out);
  EXPECT_TRUE(r.ok()) << "a timed-out event is still admitted and will be written";
  EXPECT_EQ(logger.stats().commit_timeouts, 1u);
  EXPECT_EQ(logger.stats().queued, 1u);
  lock.release();
  ASSERT_TRUE(logger.flush(10s));
  EXPECT_EQ(SqliteFile(path).scalar(
                "SELECT count(*) FROM analytics_events WHERE metadata = '{\"late\":1}'"),
            1);
  EXPECT_TRUE(accounted(logger.stats(), 1));
}

TEST(CommittedDelivery, FullQueueWaitsForRoomThenReportsDropped) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Options o = committed_options(path);
  o.queue_capacity = 16;
  o.max_batch = 4;
  o.commit_timeout = std::chrono::milliseconds(300);
  evlog::Logger logger(o);
  ASSERT_TRUE(logger.flush(10s));
  SqliteWriteLock lock(path);
  std::uint64_t calls = 0;
  // The writer takes a full batch (max_batch) and keeps failing to write it ...
  for (int i = 0; i < 4; ++i, ++calls) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries > 0; }, 10s));
  // ... and the queue behind it fills up while nothing can be written.
  for (int i = 0; i < 64; ++i, ++calls) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  ASSERT_EQ(logger.stats().queued, 20u);
  const evlog::Result r =
      logger.log({.type = "task_complete", .user_id = 1, .user_type = {}, .metadata = {}});
  ++calls;
  EXPECT_EQ(r.outcome, Outcome::dropped) << "no room came within commit_timeout: " << r.message;
  lock.release();
  ASSERT_TRUE(logger.flush(10s));
  EXPECT_TRUE(accounted(logger.stats(), calls));
  EXPECT_EQ(count_rows(path), static_cast<std::int64_t>(logger.stats().written));
}

// Room that comes within commit_timeout is waited for: the queue is full behind a batch the
// writer cannot write, the lock goes 200 ms into the call, and the call answers `committed`
// (the event waited for room, then for its commit) with its row in the table.
TEST(CommittedDelivery, FullQueueWaitsForRoomThatComesInTime) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Options o = committed_options(path);
  o.queue_capacity = 16;
  o.max_batch = 4;
  o.retry_initial = std::chrono::milliseconds(5);
  o.retry_max = std::chrono::milliseconds(20);  // the writer notices the lock is gone at once
  o.commit_timeout = std::chrono::milliseconds(20000);
  evlog::Logger logger(o);
  ASSERT_TRUE(logger.flush(10s));
  SqliteWriteLock lock(path);
  std::uint64_t calls = 0;
  for (int i = 0; i < 4; ++i, ++calls) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries > 0; }, 10s));
  for (int i = 0; i < 64; ++i, ++calls) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  ASSERT_EQ(logger.stats().queued, 20u) << "the queue is not full";
  std::thread releaser([&] {
    std::this_thread::sleep_for(200ms);
    lock.release();
  });
  const auto t0 = std::chrono::steady_clock::now();
  const evlog::Result r =
      logger.log({.type = "task_complete", .user_id = 2, .user_type = {}, .metadata = {}});
  ++calls;
  releaser.join();
  EXPECT_EQ(r.outcome, Outcome::committed) << r.message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms) << "it did not wait for room";
  EXPECT_EQ(SqliteFile(path).scalar(
                "SELECT count(*) FROM analytics_events WHERE event_type = 'task_complete'"),
            1);
  ASSERT_TRUE(logger.flush(10s));
  EXPECT_TRUE(accounted(logger.stats(), calls));
}

TEST(CommittedDelivery, SixteenThreadsMixingDeliveriesShareCommits) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  evlog::Logger logger(committed_options(path));
  const int threads = 16;
  const int per_thread = static_cast<int>(scale(1000));
  std::atomic<int> committed{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const bool critical = i % 4 == 0;
        const std::string m = marker(t, i);
        const evlog::Result r = logger.log({.type = critical ? "subtask_complete" : "page_view",
                                            .user_id = t,
                                            .user_type = "student",
                                            .metadata = m});
        if (critical && r.outcome == Outcome::committed) {
          committed.fetch_add(1);
        } else if (r.outcome != (critical ? Outcome::committed : Outcome::queued)) {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_TRUE(logger.flush(30s));
  const evlog::Stats s = logger.stats();
  const std::uint64_t calls = static_cast<std::uint64_t>(threads) * per_thread;
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(accounted(s, calls));
  EXPECT_EQ(s.written, calls);
  SqliteFile reader(path);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM analytics_events"),
            static_cast<std::int64_t>(calls));
  EXPECT_EQ(reader.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"),
            static_cast<std::int64_t>(calls));
  EXPECT_EQ(
      reader.scalar("SELECT count(*) FROM analytics_events WHERE event_type = 'subtask_complete'"),
      committed.load());
  // Group commit: far fewer transactions than critical events.
  EXPECT_LT(s.batches, static_cast<std::uint64_t>(committed.load()))
      << "every committed event paid a transaction of its own";
}

}  // namespace
}  // namespace evlog_test
