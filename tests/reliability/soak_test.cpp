// R24: the soak. Two producers log at a steady pace (some events with committed delivery) while a
// fault timer, on a fixed seed, holds the database's write lock for a second now and then, so
// the writer keeps moving between healthy, failing, spilling and replaying. Every 5 s the test
// samples the resident memory (VmRSS), the open file descriptors and the spill bytes.
//
// Pass: after warm-up (the first 10 s), with the first third of the remaining samples as the
// baseline, nothing climbs — the mean
// of the last third stays within a tolerance of the mean of the first (RSS: +10 % + 8 MiB; fds:
// +2; spill bytes: +1 MiB); the accounting identity (R3) holds at the end; and the delivered set
// is exact: every admitted event is in the table exactly once, and nothing else is.
//
// Length: EVLOG_SOAK_SECONDS, else 180 s scaled by EVLOG_TEST_SCALE (at least 30 s). Run longer
// with scripts/soak.sh SECONDS.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_reliability::create_database;
using evlog_test::accounted;
using evlog_test::describe;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::SqliteFile;
using evlog_test::SqliteWriteLock;
using evlog_test::TempDir;

constexpr int kProducers = 2;
constexpr auto kSampleEvery = 5s;
constexpr int kEventsPerMsPerProducer = 1;  // 2,000 events/s in all

std::chrono::seconds soak_length() {
  if (const char* text = std::getenv("EVLOG_SOAK_SECONDS"); text != nullptr && *text != '\0') {
    return std::chrono::seconds(std::max(10L, std::strtol(text, nullptr, 10)));
  }
  return std::chrono::seconds(std::max<std::size_t>(30, evlog_test::scale(180)));
}

std::uint64_t rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  return 0;
}

std::uint64_t open_fds() {
  std::uint64_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n > 0 ? n - 1 : 0;  // not the descriptor opendir itself holds
}

struct Sample {
  double at_s;
  std::uint64_t rss_kib;
  std::uint64_t fds;
  std::uint64_t spill_bytes;
  std::uint64_t written;
  std::uint64_t spilled;
};

template <typename Field>
double mean(const std::vector<Sample>& samples, std::size_t begin, std::size_t end, Field field) {
  double sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += static_cast<double>(field(samples[i]));
  return end > begin ? sum / static_cast<double>(end - begin) : 0.0;
}

TEST(Soak, SteadyUnderRecurringFaults) {
  const std::chrono::seconds length = soak_length();
  TempDir dir;
  const std::string db = dir.file("soak.db");
  create_database(db);
  evlog::Options options = options_for(db);
  options.spill_dir = dir.file("spill");
  options.spill_after = 300ms;
  options.retry_max = 200ms;
  options.critical_types = {"critical"};
  options.commit_timeout = 2s;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);

  std::atomic<bool> stop{false};
  // admitted[t][i]: producer t's i-th call was admitted (its marker is t * 1e9 + i).
  std::vector<std::vector<bool>> admitted(kProducers);
  std::atomic<std::uint64_t> calls{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      std::vector<bool>& mine = admitted[t];
      auto next = std::chrono::steady_clock::now();
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::uint64_t seq = static_cast<std::uint64_t>(t) * 1000000000ULL + i;
        const bool critical = i % 500 == 0;
        const std::string metadata = "{\"seq\":" + std::to_string(seq) + ",\"page\":\"/course/" +
                                     std::to_string(i % 97) + "\"}";
        const evlog::Result r =
            logger.log({critical ? "critical" : "page_view", static_cast<std::int64_t>(i % 1000),
                        "student", metadata});
        ++calls;
        mine.push_back(r.ok());
        if ((i + 1) % kEventsPerMsPerProducer == 0) {
          next += 1ms;
          std::this_thread::sleep_until(next);
        }
      }
    });
  }

  // Faults on a timer: the write lock held for a second, every 3 to 8 s.
  std::atomic<int> faults{0};
  std::thread fault_timer([&] {
    std::mt19937_64 random(24);
    while (!stop.load()) {
      const auto pause = std::chrono::milliseconds(3000 + random() % 5000);
      for (auto waited = 0ms; waited < pause && !stop.load(); waited += 100ms) {
        std::this_thread::sleep_for(100ms);
      }
      if (stop.load()) break;
      SqliteWriteLock lock(db);
      ++faults;
      std::this_thread::sleep_for(1s);
    }
  });

  std::vector<Sample> samples;
  const auto start = std::chrono::steady_clock::now();
  for (auto next = start + kSampleEvery; next <= start + length; next += kSampleEvery) {
    std::this_thread::sleep_until(next);
    const evlog::Stats s = logger.stats();
    samples.push_back({evlog_reliability::ms_since(start) / 1000.0, rss_kib(), open_fds(),
                       s.spill_bytes, s.written, s.spilled});
    std::printf(
        "soak %6.1f s: rss %6llu KiB, fds %3llu, spill %8llu B, written %9llu, "
        "spilled %6llu\n",
        samples.back().at_s, static_cast<unsigned long long>(samples.back().rss_kib),
        static_cast<unsigned long long>(samples.back().fds),
        static_cast<unsigned long long>(s.spill_bytes), static_cast<unsigned long long>(s.written),
        static_cast<unsigned long long>(s.spilled));
    std::fflush(stdout);
  }
  stop = true;
  for (auto& p : producers) p.join();
  fault_timer.join();

  ASSERT_TRUE(logger.flush(kLongWait)) << describe(logger.stats());
  ASSERT_TRUE(logger.shutdown(kLongWait));
  const evlog::Stats end = logger.stats();
  EXPECT_TRUE(accounted(end, calls.load()));  // R3
  EXPECT_EQ(end.lost, 0u);
  EXPECT_EQ(end.spilled, 0u);
  EXPECT_GT(end.retries, 0u) << "the faults never reached the writer";
  EXPECT_GT(faults.load(), 0);

  // The delivered set is exact.
  std::uint64_t admitted_total = 0;
  for (const auto& v : admitted)
    admitted_total += static_cast<std::uint64_t>(std::count(v.begin(), v.end(), true));
  std::vector<std::vector<std::uint8_t>> seen(kProducers);
  for (int t = 0; t < kProducers; ++t) seen[t].assign(admitted[t].size(), 0);
  std::uint64_t rows = 0, strangers = 0, twice = 0;
  SqliteFile(db).each(
      "SELECT json_extract(metadata, '$.seq') FROM analytics_events WHERE event_type <> 'prime'",
      [&](const std::vector<evlog_test::Cell>& row) {
        ++rows;
        const std::uint64_t seq = std::stoull(row[0].value_or("0"));
        const std::uint64_t t = seq / 1000000000ULL;
        const std::uint64_t i = seq % 1000000000ULL;
        if (t >= kProducers || i >= admitted[t].size() || !admitted[t][i]) {
          ++strangers;
        } else if (seen[t][i]++ > 0) {
          ++twice;
        }
      });
  EXPECT_EQ(rows, admitted_total);
  EXPECT_EQ(strangers, 0u) << "rows of events that were not admitted";
  EXPECT_EQ(twice, 0u) << "events written twice";
  EXPECT_EQ(end.written, admitted_total) << describe(end);

  // No upward slope after warm-up (the first two samples, when there are nine or more): of the
  // samples after it, the first third is the baseline and the last third the verdict.
  const std::size_t warm_up = samples.size() >= 9 ? 2 : 0;
  samples.erase(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(warm_up));
  ASSERT_GE(samples.size(), 3u);
  const std::size_t third = samples.size() / 3;
  const std::size_t last = samples.size() - third;
  auto rss = [](const Sample& s) { return s.rss_kib; };
  auto fds = [](const Sample& s) { return s.fds; };
  auto spill = [](const Sample& s) { return s.spill_bytes; };
  const double rss_first = mean(samples, 0, third, rss);
  const double rss_last = mean(samples, last, samples.size(), rss);
  const double fds_first = mean(samples, 0, third, fds);
  const double fds_last = mean(samples, last, samples.size(), fds);
  const double spill_first = mean(samples, 0, third, spill);
  const double spill_last = mean(samples, last, samples.size(), spill);
  EXPECT_LE(rss_last, rss_first * 1.10 + 8192) << "RSS climbs (KiB)";
  EXPECT_LE(fds_last, fds_first + 2) << "open descriptors climb";
  EXPECT_LE(spill_last, spill_first + (1 << 20)) << "spill bytes climb";
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "%zu samples over %lld s, %d faults: rss %.0f -> %.0f KiB, fds %.1f -> %.1f, "
                "spill %.0f -> %.0f B (first third -> last third), %llu events exact",
                samples.size(), static_cast<long long>(length.count()), faults.load(), rss_first,
                rss_last, fds_first, fds_last, spill_first, spill_last,
                static_cast<unsigned long long>(admitted_total));
  std::printf("%s\n", summary);
  RecordProperty("summary", summary);
}

}  // namespace
