// R9 (and R12's "SIGKILL between commit and delete"): a child process logging at full speed is
// killed with SIGKILL at random moments, 25 rounds with a fixed seed. The database is locked by
// another process for part of some rounds, so the child is also killed while it spills. After
// each kill a fresh logger replays what the child left, and then:
//   - PRAGMA integrity_check is ok, no event_id appears twice, no row is partial;
//   - every row is one the child logged (its marker was admitted, or was the call in progress);
//   - no event the child saw dropped is in the table;
//   - every event acknowledged `committed` is in the table;
//   - the spill directory is empty.
// The events lost per kill (admitted, not yet committed or spilled: what async delivery allows)
// are reported as the test property `lost_per_kill`.
//
// Label `fork`: each round forks a child that starts a logger (a writer thread) after fork(),
// which ThreadSanitizer does not support; this test runs in the normal and ASan+UBSan builds.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_reliability::CliWriteLock;
using evlog_reliability::create_database;
using evlog_reliability::spill_segments;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::SqliteFile;
using evlog_test::TempDir;

constexpr int kRounds = 25;
constexpr std::uint64_t kCommittedEvery = 256;  // every 256th event uses committed delivery

// What the child tells the parent after each log() call returns.
struct Report {
  std::uint64_t seq;
  std::uint32_t outcome;  // evlog::Outcome
  std::uint32_t pad;
};

evlog::Options child_options(const std::string& db, const std::string& spill) {
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.spill_after = 50ms;
  options.retry_max = 100ms;
  options.queue_capacity = 16384;
  options.critical_types = {"critical"};
  options.commit_timeout = 100ms;
  options.on_warning = [](std::string_view) {};
  return options;
}

// The child: logs until it is killed, reporting each outcome through `out`.
[[noreturn]] void run_child(const std::string& db, const std::string& spill, int out) {
  try {
    evlog::Logger logger(child_options(db, spill));
    for (std::uint64_t seq = 0;; ++seq) {
      const bool critical = seq % kCommittedEvery == 0;
      const std::string metadata = evlog_reliability::marker_metadata(seq);
      const evlog::Result r = logger.log(
          {critical ? "critical" : "page", static_cast<std::int64_t>(seq), "child", metadata});
      const Report report{seq, static_cast<std::uint32_t>(r.outcome), 0};
      if (::write(out, &report, sizeof report) != sizeof report) ::_exit(3);
    }
  } catch (...) {
    ::_exit(2);
  }
}

struct RoundResult {
  std::uint64_t admitted = 0;
  std::uint64_t committed_acks = 0;
  std::uint64_t present = 0;
  std::uint64_t lost = 0;
  std::uint64_t replayed = 0;
};

TEST(Crash, SigkillAtRandomMomentsKeepsEveryAcknowledgedEvent) {
  TempDir dir;
  std::mt19937_64 random(20240611);
  std::vector<RoundResult> results;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string db = dir.file("round-" + std::to_string(round) + ".db");
    const std::string spill = dir.file("spill-" + std::to_string(round));
    create_database(db);

    // 0: no lock; 1: locked from the start (the child spills); 2: locked half-way.
    const int lock_mode = static_cast<int>(random() % 3);
    const auto run_for = std::chrono::milliseconds(100 + random() % 600);
    std::unique_ptr<CliWriteLock> lock;
    if (lock_mode == 1) lock = std::make_unique<CliWriteLock>(db);

    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) {
      ::close(fds[0]);
      run_child(db, spill, fds[1]);
    }
    ::close(fds[1]);
    std::vector<Report> reports;
    std::thread reader([&] {
      Report r;
      std::size_t have = 0;
      for (;;) {
        const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&r) + have, sizeof r - have);
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
        if (have == sizeof r) {
          reports.push_back(r);
          have = 0;
        }
      }
    });
    if (lock_mode == 2) {
      std::this_thread::sleep_for(run_for / 2);
      lock = std::make_unique<CliWriteLock>(db);
      std::this_thread::sleep_for(run_for / 2);
    } else {
      std::this_thread::sleep_for(run_for);
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    reader.join();
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended before the kill, status " << status;
    lock.reset();

    // A fresh logger replays what the child left.
    const evlog::ReplayReport replay =
        evlog::replay_spill_directory(child_options(db, spill), kLongWait);
    EXPECT_EQ(replay.files_left, 0u);
    EXPECT_TRUE(spill_segments(spill).empty());

    RoundResult result;
    result.replayed = replay.stats.replayed;
    std::map<std::uint64_t, evlog::Outcome> outcome;
    for (const Report& r : reports) outcome[r.seq] = static_cast<evlog::Outcome>(r.outcome);
    // The call in progress at the kill (its event may be in the table, reported or not). A
    // child killed inside its first call (committed delivery, database locked) reported nothing.
    const std::uint64_t in_progress = reports.empty() ? 0 : reports.back().seq + 1;

    EXPECT_EQ(evlog_reliability::integrity(db), "ok");
    SqliteFile file(db);
    EXPECT_EQ(file.scalar("SELECT count(*) - count(DISTINCT event_id) FROM analytics_events"), 0);
    // No partial row: every field is the one logged for its marker.
    EXPECT_EQ(
        file.scalar("SELECT count(*) FROM analytics_events WHERE event_type <> 'prime' AND ("
                    "user_id IS NOT json_extract(metadata, '$.seq') OR "
                    "user_type IS NOT 'child' OR created_at NOT LIKE '____-__-__T%Z' OR "
                    "event_type <> CASE WHEN user_id % " +
                    std::to_string(kCommittedEvery) + " = 0 THEN 'critical' ELSE 'page' END)"),
        0);
    std::set<std::uint64_t> present;
    file.each("SELECT user_id FROM analytics_events WHERE event_type <> 'prime'",
              [&](const std::vector<evlog_test::Cell>& row) {
                const std::uint64_t seq = std::stoull(*row[0]);
                EXPECT_TRUE(present.insert(seq).second) << "event " << seq << " twice";
                const auto it = outcome.find(seq);
                if (it == outcome.end()) {
                  EXPECT_EQ(seq, in_progress) << "a row the child never logged: " << seq;
                } else {
                  EXPECT_TRUE(it->second == evlog::Outcome::queued ||
                              it->second == evlog::Outcome::committed ||
                              it->second == evlog::Outcome::timed_out)
                      << "event " << seq << " is in the table but log() answered "
                      << evlog::to_string(it->second);
                }
              });
    for (const auto& [seq, o] : outcome) {
      const bool admitted = o == evlog::Outcome::queued || o == evlog::Outcome::committed ||
                            o == evlog::Outcome::timed_out;
      if (!admitted) continue;
      ++result.admitted;
      const bool there = present.contains(seq);
      if (there) ++result.present;
      if (!there) ++result.lost;
      if (o == evlog::Outcome::committed) {
        ++result.committed_acks;
        EXPECT_TRUE(there) << "event " << seq << " was acknowledged committed but is missing";
      }
    }
    std::printf(
        "round %2d: lock mode %d, %4lld ms, %7llu admitted, %5llu committed acks, "
        "%6llu replayed, %6llu lost\n",
        round, lock_mode, static_cast<long long>(run_for.count()),
        static_cast<unsigned long long>(result.admitted),
        static_cast<unsigned long long>(result.committed_acks),
        static_cast<unsigned long long>(result.replayed),
        static_cast<unsigned long long>(result.lost));
    results.push_back(result);
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
  }

  std::string lost_list;
  std::uint64_t total_lost = 0, total_admitted = 0, total_committed = 0, max_lost = 0;
  std::uint64_t total_replayed = 0;
  for (const RoundResult& r : results) {
    total_replayed += r.replayed;
    lost_list += (lost_list.empty() ? "" : ",") + std::to_string(r.lost);
    total_lost += r.lost;
    total_admitted += r.admitted;
    total_committed += r.committed_acks;
    max_lost = std::max(max_lost, r.lost);
  }
  RecordProperty("lost_per_kill", lost_list);
  RecordProperty("lost_max", std::to_string(max_lost));
  RecordProperty("admitted_total", std::to_string(total_admitted));
  RecordProperty("committed_acks_total", std::to_string(total_committed));
  std::printf(
      "%d kills: %llu admitted, %llu acknowledged committed (all present), %llu lost in "
      "total, at most %llu per kill\n",
      kRounds, static_cast<unsigned long long>(total_admitted),
      static_cast<unsigned long long>(total_committed), static_cast<unsigned long long>(total_lost),
      static_cast<unsigned long long>(max_lost));
  EXPECT_GT(total_committed, 0u) << "no round acknowledged a committed event";
  // The kills must also have left spill files behind for the replay above to prove anything.
  EXPECT_GT(total_replayed, 0u) << "no kill left a spill file to replay";
}

}  // namespace
