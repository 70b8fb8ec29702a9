// What a language binding builds on: Logger::log with a WaitHook calls the hook once, just before
// the call first waits, and never when the call returns at once; Logger::refuse counts a call the
// binding refused itself, so that the accounting covers every call.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::accounted;
using evlog_test::count_rows;
using evlog_test::kLongWait;
using evlog_test::memory_options;
using evlog_test::MemorySinkControl;
using evlog_test::options_for;
using evlog_test::prime;
using evlog_test::SqliteWriteLock;
using evlog_test::TempDir;

// Counts the calls.
class CountingHook : public evlog::WaitHook {
 public:
  void before_wait() noexcept override { ++calls; }
  int calls = 0;
};

// An async call into a queue with room returns without waiting: the hook is not called, under
// every overflow policy.
TEST(WaitHook, NotCalledWhenLogReturnsAtOnce) {
  for (const evlog::OnFull policy :
       {evlog::OnFull::drop_newest, evlog::OnFull::drop_oldest, evlog::OnFull::block}) {
    TempDir dir;
    evlog::Options options = options_for(dir.file("hook.db"));
    options.on_full = policy;
    evlog::Logger logger(options);
    CountingHook hook;
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(logger.log({"page_view", i, "student", ""}, hook).outcome, evlog::Outcome::queued);
    }
    EXPECT_EQ(hook.calls, 0);
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_TRUE(accounted(logger.stats(), 1000));
  }
}

// A committed-delivery call waits for its commit: the hook runs once, before the wait.
TEST(WaitHook, CalledOnceBeforeACommittedWait) {
  TempDir dir;
  const std::string db = dir.file("committed.db");
  evlog::Options options = options_for(db);
  options.critical_types = {"task_complete"};
  evlog::Logger logger(options);
  CountingHook hook;
  EXPECT_EQ(logger.log({"task_complete", 7, "student", ""}, hook).outcome,
            evlog::Outcome::committed);
  EXPECT_EQ(hook.calls, 1);
  CountingHook explicit_hook;
  EXPECT_EQ(logger.log({"page_view", 7, "student", ""}, evlog::Delivery::committed, explicit_hook)
                .outcome,
            evlog::Outcome::committed);
  EXPECT_EQ(explicit_hook.calls, 1);
  EXPECT_EQ(count_rows(db), 2);
}

// Under OnFull::block a full queue makes log() wait for room: the hook runs once, however long
// the wait, and the event is admitted once room comes.
TEST(WaitHook, CalledOnceWhenBlockWaitsForRoom) {
  auto control = MemorySinkControl::create();
  TempDir dir;
  evlog::Options options = memory_options(control, dir.file("never.db"));
  options.queue_capacity = 16;
  options.max_batch = 16;
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 10s;
  control->set_delay(20ms);  // the writer drains slowly, so the queue fills
  evlog::Logger logger(options);
  int waited = 0;
  for (int i = 0; i < 200; ++i) {
    CountingHook hook;
    ASSERT_EQ(logger.log({"page_view", i, "", ""}, hook).outcome, evlog::Outcome::queued);
    ASSERT_LE(hook.calls, 1);
    waited += hook.calls;
  }
  EXPECT_GT(waited, 0) << "200 events into 16 slots drained at 16 per 20 ms never waited";
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(control->row_count(), 200u);
  EXPECT_TRUE(accounted(logger.stats(), 200));
}

// drop_newest never waits, even on a full queue: the hook is not called and the event dropped.
TEST(WaitHook, NotCalledWhenDropNewestDrops) {
  TempDir dir;
  const std::string db = dir.file("full.db");
  evlog::Options options = options_for(db);
  options.queue_capacity = 16;
  evlog::Logger logger(options);
  ASSERT_TRUE(prime(logger));
  SqliteWriteLock lock(db);  // the writer cannot commit: the queue stays full
  CountingHook hook;
  int dropped = 0;
  for (int i = 0; i < 100; ++i) {
    dropped += logger.log({"page_view", i, "", ""}, hook).outcome == evlog::Outcome::dropped;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(hook.calls, 0);
  lock.release();
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(accounted(logger.stats(), 101));
}

// refuse() answers `rejected` with the caller's message and counts the call in Stats::rejected;
// once shutdown has begun it answers `closed`, as log() would, and still counts it.
TEST(Refuse, CountsTheCallAsRejected) {
  TempDir dir;
  const std::string db = dir.file("refuse.db");
  evlog::Logger logger(options_for(db));
  ASSERT_EQ(logger.log({"page_view", 1, "", ""}).outcome, evlog::Outcome::queued);
  const evlog::Result r = logger.refuse("user_id: must be an int, got str");
  EXPECT_EQ(r.outcome, evlog::Outcome::rejected);
  EXPECT_EQ(r.message, "user_id: must be an int, got str");
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(logger.flush(kLongWait));
  evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_TRUE(accounted(stats, 2));

  ASSERT_TRUE(logger.shutdown(kLongWait));
  EXPECT_EQ(logger.refuse("metadata: cannot serialize a value of type set").outcome,
            evlog::Outcome::closed);
  stats = logger.stats();
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_TRUE(accounted(stats, 3));
  EXPECT_EQ(count_rows(db), 1);
}

}  // namespace
