// A spill backlog drains while live traffic continues. An outage leaves a backlog of spilled
// events; then the database returns while a producer keeps logging at about 40 % of what the
// writer can commit (less in the sanitizer builds, see kLiveRate). The writer gives replay the
// database time live events leave, so the backlog drains at about C - L events a second (C: the
// sink's capacity, L: the live rate), while live events wait for at most one commit beyond
// max_delay.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using evlog_test::MemorySinkControl;
using evlog_test::TempDir;

constexpr auto kRowCost = 20us;       // the sink commits at most C = 50,000 rows a second
constexpr double kCapacity = 50'000;  // C
// L, events a second: 40 % of C, scaled down with EVLOG_TEST_SCALE (the sanitizer builds, whose
// writer is several times slower than the sink).
const double kLiveRate = 20'000 * evlog_test::scale_factor();
constexpr auto kMaxDelay = 100ms;

// Logs at kLiveRate, one event every 50 µs (a steady stream, not bursts: the writer never finds
// the queue empty for long), until `stop`; counts every call.
void produce(evlog::Logger& logger, std::atomic<std::uint64_t>& calls,
             const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  std::uint64_t sent = 0;
  while (!stop.load()) {
    const double due = std::chrono::duration<double>(Clock::now() - start).count() * kLiveRate;
    for (; static_cast<double>(sent) < due; ++sent) {
      (void)logger.log({"page_view", static_cast<std::int64_t>(sent), "student", "{\"n\":1}"});
      calls.fetch_add(1);
    }
    std::this_thread::sleep_for(50us);
  }
}

TEST(ReplayUnderLoad, BacklogDrainsWhileLiveEventsKeepTheirDelay) {
  TempDir dir;
  auto control = MemorySinkControl::create();
  control->set_row_cost(kRowCost);
  evlog::Options options = evlog_test::memory_options(control, dir.file("never.db"));
  options.max_delay = kMaxDelay;
  options.spill_dir = dir.file("spill");
  options.spill_after = 100ms;
  options.retry_initial = 5ms;
  options.retry_max = 50ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);

  std::atomic<std::uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::thread producer([&] { produce(logger, calls, stop); });

  // The outage: every write fails for a second and a half; past spill_after, batches spill.
  control->fail_transient(1'000'000);
  std::this_thread::sleep_for(1500ms);
  const std::uint64_t backlog = logger.stats().spilled;
  control->fail_transient(0);
  const auto back = Clock::now();
  ASSERT_GT(backlog, evlog_test::scale(10'000)) << "the outage left too small a backlog to measure";

  // The bound: replay takes what live events leave, C - L events a second, so the backlog needs
  // backlog / (C - L) seconds; three times that plus a second, for a shared, noisy machine.
  const double derived_s = static_cast<double>(backlog) / (kCapacity - kLiveRate);
  const auto bound = std::chrono::duration<double>(3.0 * derived_s + 1.0);
  // Events of the outage itself are settled (spilled or written) within max_delay + retry_max of
  // its end; from then on every event the writer holds was logged with the database up.
  const auto live_from = back + kMaxDelay + options.retry_max;
  std::chrono::microseconds oldest_live_age{0};
  std::optional<Clock::duration> drained_after;
  while (Clock::now() - back < bound + 1s) {
    const evlog::Stats s = logger.stats();
    const auto now = Clock::now();
    if (now >= live_from) oldest_live_age = std::max(oldest_live_age, s.oldest_queued_age);
    if (!drained_after && s.spilled == 0) drained_after = now - back;
    // Go on sampling for a while after the backlog is gone: live events must still be on time.
    if (drained_after && now - back > *drained_after + 500ms) break;
    std::this_thread::sleep_for(2ms);
  }
  stop.store(true);
  producer.join();

  ASSERT_TRUE(drained_after.has_value())
      << "a backlog of " << backlog << " events was not gone within "
      << std::chrono::duration<double>(bound + 1s).count() << " s";
  const double drained_s = std::chrono::duration<double>(*drained_after).count();
  std::printf(
      "backlog %llu events, drained in %.2f s (derived %.2f s, bound %.2f s); oldest live "
      "age %.1f ms, longest commit %.1f ms\n",
      static_cast<unsigned long long>(backlog), drained_s, derived_s, bound.count(),
      static_cast<double>(oldest_live_age.count()) / 1000.0,
      static_cast<double>(control->longest_write().count()) / 1000.0);
  EXPECT_LE(drained_s, bound.count()) << "the backlog drained too slowly";
  // Live events: within max_delay plus one commit (the longest this sink made).
  EXPECT_LE(oldest_live_age, kMaxDelay + control->longest_write())
      << "live events waited behind the replay";

  ASSERT_TRUE(logger.flush(evlog_test::kLongWait));
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.accounted(), calls.load());
  EXPECT_EQ(s.dropped + s.rejected + s.lost + s.dead_lettered + s.spilled + s.queued, 0u);
  EXPECT_EQ(s.written, calls.load());
  const std::vector<evlog_test::StoredRow> rows = control->rows();
  std::set<std::string> ids;
  for (const auto& row : rows) ids.insert(row.event_id);
  EXPECT_EQ(rows.size(), calls.load()) << "every event in the table";
  EXPECT_EQ(ids.size(), rows.size()) << "no event twice";
}

}  // namespace
