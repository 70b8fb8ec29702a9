// A Stats snapshot balances at every instant: while producers log, the database fails and
// recovers, batches are spilled and replayed, events are dead-lettered and evicted, every
// snapshot's accounting sum lies between the log() calls that had returned before stats() was
// called and the calls that had begun before it returned.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::MemorySinkControl;
using evlog_test::TempDir;

struct Tally {
  std::atomic<std::uint64_t> started{0};   // log() calls begun
  std::atomic<std::uint64_t> returned{0};  // log() calls that have returned
};

struct SnapshotReport {
  std::uint64_t taken = 0;
  std::uint64_t unbalanced = 0;
  std::string first_unbalanced;
  // What the storm reached while snapshots were taken, so that the test cannot pass on a calm run.
  std::uint64_t saw_spilled = 0;
  std::uint64_t saw_in_memory = 0;
};

// Takes snapshots until `stop`, checking each against the calls around it.
SnapshotReport take_snapshots(evlog::Logger& logger, const Tally& tally,
                              const std::atomic<bool>& stop) {
  SnapshotReport report;
  while (!stop.load()) {
    // Sequentially consistent loads of the tallies: `returned` before the call, `started` after.
    const std::uint64_t returned_before = tally.returned.load();
    const evlog::Stats s = logger.stats();
    const std::uint64_t started_after = tally.started.load();
    ++report.taken;
    if (s.spilled > 0) ++report.saw_spilled;
    if (s.queued > 0) ++report.saw_in_memory;
    const std::uint64_t sum = s.accounted();
    if (sum < returned_before || sum > started_after) {
      if (report.unbalanced++ == 0) {
        report.first_unbalanced =
            "sum " + std::to_string(sum) + " outside [" + std::to_string(returned_before) + ", " +
            std::to_string(started_after) + "]: rejected " + std::to_string(s.rejected) +
            " dropped " + std::to_string(s.dropped) + " written " + std::to_string(s.written) +
            " queued " + std::to_string(s.queued) + " spilled " + std::to_string(s.spilled) +
            " dead_lettered " + std::to_string(s.dead_lettered) + " lost " + std::to_string(s.lost);
      }
    }
  }
  return report;
}

void produce(evlog::Logger& logger, Tally& tally, const std::atomic<bool>& stop, unsigned seed) {
  std::mt19937 rng(seed);
  std::uint64_t i = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const unsigned pick = rng() % 1000;
    evlog::Event event{"page_view", static_cast<std::int64_t>(i++), "student", "{\"p\":1}"};
    evlog::Delivery delivery = evlog::Delivery::async;
    if (pick < 5) event.type = "refused_kind";    // dead-lettered by the sink
    if (pick >= 5 && pick < 10) event.type = "";  // rejected: no type
    if (pick >= 10 && pick < 12) delivery = evlog::Delivery::committed;
    tally.started.fetch_add(1);
    (void)logger.log(event, delivery);
    tally.returned.fetch_add(1);
    if (pick % 64 == 0) std::this_thread::yield();
  }
}

void storm(const std::shared_ptr<MemorySinkControl>& control, const std::atomic<bool>& stop) {
  std::mt19937 rng(7);
  while (!stop.load()) {
    // Bursts of failures long enough to pass spill_after, then quiet spells for replay.
    control->fail_transient(static_cast<int>(rng() % 12));
    control->set_delay(std::chrono::milliseconds(rng() % 3));
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 40));
  }
  control->fail_transient(0);
  control->set_delay(0ms);
}

void run_storm(evlog::OnFull on_full) {
  TempDir dir;
  auto control = MemorySinkControl::create();
  control->refuse_type("refused_kind");
  evlog::Options options = evlog_test::memory_options(control, dir.file("never.db"));
  options.queue_capacity = 1024;
  options.max_batch = 256;
  options.max_delay = 10ms;
  options.on_full = on_full;
  options.spill_dir = dir.file("spill");
  options.spill_after = 5ms;
  options.retry_initial = 1ms;
  options.retry_max = 10ms;
  options.commit_timeout = 20ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);

  Tally tally;
  std::atomic<bool> stop_producers{false};
  std::atomic<bool> stop_snapshots{false};
  SnapshotReport report;
  std::thread snapshots([&] { report = take_snapshots(logger, tally, stop_snapshots); });
  std::thread chaos([&] { storm(control, stop_producers); });
  std::vector<std::thread> producers;
  for (unsigned t = 0; t < 3; ++t) {
    producers.emplace_back([&, t] { produce(logger, tally, stop_producers, 100 + t); });
  }
  std::this_thread::sleep_for(evlog_test::scale(1500) * 1ms);
  stop_producers.store(true);
  for (auto& p : producers) p.join();
  chaos.join();
  // Snapshots go on while the backlog drains (replay of the spill files, the last batches).
  ASSERT_TRUE(logger.flush(evlog_test::kLongWait));
  stop_snapshots.store(true);
  snapshots.join();

  EXPECT_EQ(report.unbalanced, 0u)
      << report.unbalanced << " of " << report.taken
      << " snapshots did not balance; the first: " << report.first_unbalanced;
  EXPECT_GT(report.taken, 1000u);
  EXPECT_GT(report.saw_spilled, 0u) << "no snapshot saw a spilled event: the storm did not spill";
  EXPECT_GT(report.saw_in_memory, 0u);

  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.accounted(), tally.started.load());
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.spilled, 0u);
  EXPECT_GT(s.dead_lettered, 0u);
  EXPECT_GT(s.rejected, 0u);
  EXPECT_GT(s.retries, 0u);
  EXPECT_EQ(control->row_count(), s.written);  // each written event in the table once
}

TEST(StatsSnapshot, BalancesDuringAStormWhenTheNewestIsDropped) {
  run_storm(evlog::OnFull::drop_newest);
}

TEST(StatsSnapshot, BalancesDuringAStormWhenTheOldestIsEvicted) {
  run_storm(evlog::OnFull::drop_oldest);
}

TEST(StatsSnapshot, BalancesDuringAStormWhenProducersBlock) {
  run_storm(evlog::OnFull::block);
}

}  // namespace
