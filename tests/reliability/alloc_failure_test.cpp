// R16: allocation failure. While armed, every allocation made on a thread other than the test's
// own fails (failing_alloc.cpp): operator new throws std::bad_alloc (or returns null), and
// SQLite's allocator returns null, so SQLite answers SQLITE_NOMEM. The writer meets both in the
// middle of its batches; it must not die, lose or duplicate an event, or leak (the
// AddressSanitizer run checks leaks). Once allocations succeed again, every event is written
// exactly once and the accounting balances.
#include <thread>

#include "failing_alloc.hpp"
#include "test_support.hpp"

namespace evlog_test {
namespace {

using namespace std::chrono_literals;

class AllocationFailure : public ::testing::TestWithParam<bool> {};

// The writer runs into failing allocations for 600 ms while the test thread keeps logging
// (events within the inline budget: log() allocates nothing); then allocations work again.
TEST_P(AllocationFailure, TheWriterSurvivesAndLosesNothing) {
  ASSERT_TRUE(sqlite_allocator_hooked()) << "SQLite's allocator could not be replaced";
  const bool with_spill = GetParam();
  TempDir dir;
  const std::string db = dir.file("nomem.db");
  evlog::Options options = options_for(db);
  options.retry_initial = 1ms;
  options.retry_max = 20ms;
  options.on_warning = [](std::string_view) {};
  if (with_spill) {
    options.spill_dir = dir.file("spill");
    options.spill_after = 50ms;
  }
  evlog::Logger logger(options);
  ASSERT_TRUE(prime(logger));

  const std::int64_t n = static_cast<std::int64_t>(scale(20000));
  const auto failing_until = std::chrono::steady_clock::now() + 600ms;
  arm_failing_allocations(std::this_thread::get_id());
  std::int64_t i = 0;
  for (; std::chrono::steady_clock::now() < failing_until; ++i) {
    ASSERT_TRUE(logger.log({"nomem", i, "student", R"({"k":1})"}).ok());
    if (i % 64 == 0) std::this_thread::sleep_for(1ms);
  }
  disarm_failing_allocations();
  for (; i < n; ++i) ASSERT_TRUE(logger.log({"nomem", i, "student", R"({"k":1})"}).ok());
  EXPECT_GT(failed_allocations(), 0u) << "no allocation failed: the test proves nothing";

  ASSERT_TRUE(logger.flush(kLongWait)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_GT(s.retries, 0u) << describe(s);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(i) + 1) << describe(s);
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(i) + 1));
  ASSERT_TRUE(logger.shutdown(kLongWait));
  SqliteFile file(db);
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE event_type = 'nomem'"), i);
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT user_id) FROM analytics_events WHERE event_type = "
                        "'nomem'"),
            i);
}

INSTANTIATE_TEST_SUITE_P(SpillDirectory, AllocationFailure, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "WithSpill" : "WithoutSpill";
                         });

}  // namespace
}  // namespace evlog_test
