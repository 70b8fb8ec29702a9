// An idle logger costs (almost) nothing: the writer sleeps between ticks and is never woken per
// event. Measured as CPU time, not wall time: while the test thread sleeps, the process's CPU
// time is the writer's.
#include <sys/resource.h>

#include <thread>

#include "test_support.hpp"

namespace evlog_test {
namespace {

std::chrono::microseconds process_cpu() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// CPU used by the process while the calling thread sleeps for `wall`, as a fraction of one core.
double cpu_share_while_sleeping(std::chrono::milliseconds wall) {
  const auto before = process_cpu();
  std::this_thread::sleep_for(wall);
  return std::chrono::duration<double>(process_cpu() - before).count() /
         std::chrono::duration<double>(wall).count();
}

TEST(Idle, AnIdleLoggerUsesUnderOnePercentOfACore) {
  TempDir dir;
  evlog::Options o;
  o.database = dir.file("idle.db");
  evlog::Logger logger(o);
  (void)logger.log({.type = "page_view", .user_id = 1, .user_type = {}, .metadata = {}});
  ASSERT_TRUE(logger.flush(kLongWait));
  const double share = cpu_share_while_sleeping(std::chrono::milliseconds(2000));
  RecordProperty("idle_cpu_percent", std::to_string(100 * share));
  EXPECT_LT(share, 0.01) << "an idle logger used " << 100 * share << " % of a core";
}

TEST(Idle, AWriterWaitingOutAnOutageUsesUnderFivePercent) {
  TempDir dir;
  const std::string path = dir.file("outage.db");
  evlog::Options o;
  o.database = path;
  o.on_warning = [](std::string_view) {};
  evlog::Logger logger(o);
  ASSERT_TRUE(logger.flush(kLongWait));
  SqliteWriteLock lock(path);  // every attempt now fails after db_timeout (busy)
  for (int i = 0; i < 100; ++i) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries >= 3; }, kLongWait));
  const double share = cpu_share_while_sleeping(std::chrono::milliseconds(3000));
  RecordProperty("outage_cpu_percent", std::to_string(100 * share));
  EXPECT_LT(share, 0.05) << "a writer in backoff used " << 100 * share << " % of a core";
  lock.release();
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(accounted(logger.stats(), 100));
}

}  // namespace
}  // namespace evlog_test
