// Real faults against a real SQLite file: another process holding the write lock (R7), a
// read-only or full file system (R7, R13), a database that refuses one event (R20), replay after a
// restart (R14, R4), a bounded shutdown with the database hung (R23), everything failing at once
// (R1), an fsync error injected by strace (R12) and private files (R21).
//
// Label `fault`: these tests mount tmpfs file systems, run strace and drop privileges with
// setpriv, so they need root (as CI runs). Without root they fail; they never skip silently.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "evlog/evlog.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_reliability::CliWriteLock;
using evlog_reliability::create_database;
using evlog_reliability::integrity;
using evlog_reliability::is_root;
using evlog_reliability::marker_metadata;
using evlog_reliability::read_markers;
using evlog_reliability::run_command;
using evlog_reliability::spill_segments;
using evlog_reliability::TmpfsMount;
using evlog_test::accounted;
using evlog_test::describe;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::scale;
using evlog_test::SqliteFile;
using evlog_test::SqliteWriteLock;
using evlog_test::TempDir;
using evlog_test::wait_until;
using evlog_test::WarningCollector;

// Every marker 0..n-1 of `type` in the table exactly once, nothing else of that type.
::testing::AssertionResult exactly_once(const std::string& db, const std::string& type,
                                        std::int64_t n) {
  const evlog_reliability::MarkerRows rows = read_markers(db, type);
  if (rows.rows != n || rows.distinct_event_ids != n || rows.unmarked != 0 ||
      static_cast<std::int64_t>(rows.count_by_seq.size()) != n) {
    return ::testing::AssertionFailure()
           << "type " << type << ": " << rows.rows << " rows, " << rows.distinct_event_ids
           << " distinct ids, " << rows.count_by_seq.size() << " distinct markers, expected " << n;
  }
  if (!rows.count_by_seq.empty() &&
      (rows.count_by_seq.begin()->first != 0 || rows.count_by_seq.rbegin()->first != n - 1)) {
    return ::testing::AssertionFailure() << "markers outside 0.." << n - 1;
  }
  return ::testing::AssertionSuccess();
}

// The `seq` markers of every record in the spill segments of `dir`.
std::multiset<std::int64_t> spilled_markers(const std::string& dir) {
  std::multiset<std::int64_t> out;
  for (const std::string& path : spill_segments(dir)) {
    for (const evlog::SpillRecord& r : evlog::inspect_spill_file(path).records) {
      out.insert(nlohmann::json::parse(r.metadata).at("seq").get<std::int64_t>());
    }
  }
  return out;
}

// The spill probe (DB SPILL_DIR N) run under `strace -f` with the fault options `strace_fault`
// (its -e trace= and -e inject= options), the trace written to `trace`.
//  - LeakSanitizer cannot run under ptrace: in an AddressSanitizer build, leak checks are off
//    for the probe only.
//  - TMPDIR names no directory: ThreadSanitizer's runtime otherwise creates and unlinks a file
//    there before main(), a call an unlink fault would hit ahead of the probe's own.
evlog_reliability::CommandResult run_probe_under_strace(const TempDir& dir,
                                                        const std::string& strace_fault,
                                                        const std::string& db,
                                                        const std::string& spill,
                                                        const std::string& trace, int n) {
  const std::string command = "ASAN_OPTIONS=detect_leaks=0 TMPDIR=" + dir.file("no-such-dir") +
                              " strace -f -qq -y -o " + trace + " " + strace_fault + " " +
                              EVLOG_SPILL_FSYNC_PROBE + " " + db + " " + spill + " " +
                              std::to_string(n);
  evlog_reliability::CommandResult result = run_command(command);
  result.output = command + "\n" + result.output;
  return result;
}

// One run of the spill probe under strace: its database (made ready), spill directory and strace
// log in a directory of their own, and the number of events it logs.
struct StraceProbe {
  TempDir dir;
  std::string db = dir.file("events.db");
  std::string spill = dir.file("spill");
  std::string trace = dir.file("strace.log");
  int n = static_cast<int>(scale(2000));

  StraceProbe() { create_database(db); }

  // Runs the probe with the strace fault options `strace_fault`.
  evlog_reliability::CommandResult run(const std::string& strace_fault) const {
    return run_probe_under_strace(dir, strace_fault, db, spill, trace, n);
  }
};

// The lines of the strace log `trace` that contain every one of `needles`.
std::vector<std::string> trace_lines_with(const std::string& trace,
                                          std::initializer_list<std::string_view> needles) {
  std::ifstream in(trace);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](std::string_view n) { return line.find(n) != std::string::npos; })) {
      out.push_back(line);
    }
  }
  return out;
}

// The number after "spill_failures_after_spill=" in the probe's report, or -1 without one.
long long probe_spill_failures(const std::string& output) {
  const std::string key = "spill_failures_after_spill=";
  const std::size_t at = output.find(key);
  return at == std::string::npos ? -1 : std::stoll(output.substr(at + key.size()));
}

class Fault : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(is_root()) << "the fault tests mount file systems and drop privileges: run them "
                              "as root (as CI does)";
  }
};

// R7: another process (the sqlite3 shell) holds BEGIN IMMEDIATE for 3 s while 100,000 events
// stream in: the writer retries (it does not die or drop), and every event lands exactly once.
TEST_F(Fault, WriteLockHeldByAnotherProcessFor3s) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  WarningCollector warnings;
  evlog::Options options = options_for(db);
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 30s;
  options.on_warning = warnings.sink();
  evlog::Logger logger(options);
  ASSERT_TRUE(evlog_test::prime(logger));

  const std::int64_t n = static_cast<std::int64_t>(scale(100000));
  auto lock = std::make_unique<CliWriteLock>(db);
  const auto locked_at = std::chrono::steady_clock::now();
  std::thread releaser([&] {
    std::this_thread::sleep_for(3s);
    lock->release();
  });
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(logger.log({"stream", i, "", marker_metadata(i)}).ok());
    if (i == n / 2) {
      EXPECT_TRUE(lock->held());  // the stream runs while the lock is held
    }
  }
  releaser.join();
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_GE(evlog_reliability::ms_since(locked_at), 3000.0);

  const evlog::Stats s = logger.stats();
  EXPECT_GT(s.retries, 0u) << describe(s);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(n) + 1) << describe(s);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_TRUE(accounted(s, n + 1));
  EXPECT_FALSE(s.database_failing);
  EXPECT_TRUE(warnings.any_contains("retrying")) << warnings.all();
  EXPECT_TRUE(exactly_once(db, "stream", n));
}

// The database's file system is read-only for a while (a remounted tmpfs): the logger starts
// anyway, events spill; once writable again every event is in the table exactly once and the
// spill directory is empty.
TEST_F(Fault, ReadOnlyDatabaseSpillsThenCatchesUp) {
  TempDir dir;
  TmpfsMount dbfs(dir.path() / "dbfs", 16u << 20);
  const std::string db = dbfs.file("events.db");
  create_database(db);
  // A file open for writing on it would make the remount fail (EBUSY): no logger is open now.
  ASSERT_EQ(dbfs.set_read_only(true), 0);

  const std::string spill = dir.file("spill");
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.spill_after = 100ms;
  options.retry_max = 200ms;
  WarningCollector warnings;
  options.on_warning = warnings.sink();
  evlog::Logger logger(options);  // a database that cannot be written yet is not a config error

  const std::int64_t n = static_cast<std::int64_t>(scale(5000));
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(logger.log({"ro", i, "", marker_metadata(i)}).ok());
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == static_cast<std::uint64_t>(n); },
                         kLongWait))
      << describe(logger.stats());
  evlog::Stats s = logger.stats();
  EXPECT_TRUE(s.database_failing);
  EXPECT_NE(evlog_test::lower(s.last_error).find("read-only"), std::string::npos) << s.last_error;
  EXPECT_FALSE(spill_segments(spill).empty());
  EXPECT_EQ(spilled_markers(spill).size(), static_cast<std::size_t>(n));
  EXPECT_TRUE(accounted(s, n));

  ASSERT_EQ(dbfs.set_read_only(false), 0);
  ASSERT_TRUE(logger.flush(kLongWait)) << describe(logger.stats());
  s = logger.stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(n)) << describe(s);
  EXPECT_EQ(s.spilled, 0u);
  EXPECT_TRUE(accounted(s, n));
  EXPECT_TRUE(exactly_once(db, "ro", n));
  EXPECT_TRUE(spill_segments(spill).empty());
  EXPECT_TRUE(logger.shutdown(kLongWait));
}

// R7: the database on a 256 KiB tmpfs fills up. SQLITE_FULL is classified (retried, last_error
// says so), nothing crashes, events spill to a directory elsewhere, nothing is silent; the file
// passes integrity_check with the earlier rows intact, and once there is room again a new logger
// replays so that every event is in the table exactly once.
TEST_F(Fault, DiskFullSpillsElsewhereAndKeepsTheFileIntact) {
  TempDir dir;
  TmpfsMount dbfs(dir.path() / "dbfs", 256u << 10);
  const std::string db = dbfs.file("events.db");
  const std::string spill = dir.file("spill");
  create_database(db);

  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.spill_after = 200ms;
  options.retry_max = 200ms;
  WarningCollector warnings;
  options.on_warning = warnings.sink();
  const std::int64_t early = 40;
  const std::int64_t total = 1000;  // ~1 KiB each: far more than the file system holds
  {
    evlog::Logger logger(options);
    for (std::int64_t i = 0; i < early; ++i) {
      ASSERT_TRUE(logger.log({"full", i, "", marker_metadata(i)}).ok());
    }
    ASSERT_TRUE(logger.flush(kLongWait));
    ASSERT_EQ(logger.stats().written, static_cast<std::uint64_t>(early));
    const std::string pad(1000, 'p');
    for (std::int64_t i = early; i < total; ++i) {
      const std::string metadata = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}";
      ASSERT_TRUE(logger.log({"full", i, "", metadata}).ok());
    }
    ASSERT_TRUE(wait_until(
        [&] {
          const evlog::Stats s = logger.stats();
          return s.spilled > 0 && s.queued == 0;
        },
        kLongWait))
        << describe(logger.stats());
    const evlog::Stats s = logger.stats();
    EXPECT_GT(s.retries, 0u);
    EXPECT_NE(evlog_test::lower(s.last_error).find("full"), std::string::npos) << s.last_error;
    // Nothing silent: the warning callback was told, with the database's words.
    EXPECT_TRUE(warnings.any_contains("disk is full")) << warnings.all();
    EXPECT_TRUE(accounted(s, total));
    EXPECT_TRUE(logger.shutdown(kLongWait));  // nothing lost: the rest is spilled
    const evlog::Stats end = logger.stats();
    EXPECT_EQ(end.lost, 0u);
    EXPECT_TRUE(accounted(end, total)) << warnings.all();
  }
  EXPECT_EQ(integrity(db), "ok");
  const evlog_reliability::MarkerRows rows = read_markers(db, "full");
  for (std::int64_t i = 0; i < early; ++i) EXPECT_TRUE(rows.has(i)) << "early row " << i;
  EXPECT_TRUE(rows.duplicates().empty());
  // Every event is in the table or in a spill file: nowhere twice, nowhere missing. A replay cut
  // short (the disk filled again after one of its chunks) takes its committed chunks out of the
  // file before it puts the file back.
  const std::multiset<std::int64_t> spilled = spilled_markers(spill);
  for (std::int64_t i = 0; i < total; ++i) {
    const std::size_t places = static_cast<std::size_t>(rows.has(i)) + spilled.count(i);
    EXPECT_EQ(places, 1u) << "event " << i << " in the table: " << rows.has(i)
                          << ", in spill files: " << spilled.count(i);
  }

  // Room again: a new logger replays the rest.
  ASSERT_EQ(dbfs.resize(64u << 20), 0);
  const evlog::ReplayReport report = evlog::replay_spill_directory(options, kLongWait);
  EXPECT_EQ(report.files_left, 0u);
  EXPECT_EQ(report.stats.replayed, spilled.size());
  EXPECT_TRUE(exactly_once(db, "full", total));
  EXPECT_EQ(integrity(db), "ok");
}

// R20: a trigger that RAISE(ABORT)s for one event type: 1 bad of 1,000 → 999 rows, and one dead
// letter with its event id and the database's message.
void check_poison_pill(const std::string& db, const std::string& spill, const std::string& reason) {
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  constexpr std::int64_t kEvents = 1000;
  constexpr std::int64_t kBad = 617;
  for (std::int64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(logger.log({i == kBad ? "poison" : "good", i, "", marker_metadata(i)}).ok());
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.written, 999u) << describe(s);
  EXPECT_EQ(s.dead_lettered, 1u) << describe(s);
  EXPECT_TRUE(accounted(s, kEvents));
  EXPECT_EQ(evlog_test::count_rows(db) - 1, 999);  // minus the prime row
  EXPECT_EQ(read_markers(db, "poison").rows, 0);
  EXPECT_FALSE(read_markers(db, "good").has(kBad));

  std::ifstream in(spill + "/dead-letters.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u);
  const nlohmann::json letter = nlohmann::json::parse(lines[0]);
  EXPECT_TRUE(evlog_test::is_uuid_v7(letter.at("event_id").get<std::string>())) << lines[0];
  EXPECT_EQ(letter.at("event_type"), "poison");
  EXPECT_EQ(letter.at("user_id"), kBad);
  EXPECT_EQ(letter.at("metadata"), marker_metadata(kBad));
  EXPECT_NE(letter.at("reason").get<std::string>().find(reason), std::string::npos) << lines[0];
  EXPECT_TRUE(evlog_test::parse_created_at(letter.at("created_at").get<std::string>()));
}

TEST_F(Fault, TriggerRefusingOneEventDeadLettersItAlone) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  SqliteFile(db).exec(
      "CREATE TRIGGER refuse_poison BEFORE INSERT ON analytics_events "
      "WHEN NEW.event_type = 'poison' BEGIN SELECT RAISE(ABORT, 'poison is refused here'); END");
  check_poison_pill(db, dir.file("spill"), "poison is refused here");
}

TEST_F(Fault, CheckConstraintRefusingOneEventDeadLettersItAlone) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  {
    SqliteFile file(db, true);
    file.exec(
        "CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
        "event_type TEXT NOT NULL CONSTRAINT no_poison CHECK (event_type <> 'poison'), "
        "user_id INTEGER, user_type TEXT, metadata TEXT, created_at TEXT NOT NULL)");
  }
  create_database(db);  // the prime row
  check_poison_pill(db, dir.file("spill"), "CHECK constraint failed");
}

// R14 and R4: the database is locked, N events are logged with a spill directory and the logger is
// destroyed (its shutdown spills them). The lock goes; a new logger replays exactly N distinct
// events. Replaying copies of the same files twice more, or a file holding every record twice,
// adds no row. (KilledBetweenReplayCommitAndDelete below does the same across a real process
// restart: the process that spilled is killed, another one replays.)
TEST_F(Fault, ReplayAfterRestartIsExactAndIdempotent) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  const std::string spill = dir.file("spill");
  const std::string saved = dir.file("saved");
  create_database(db);
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.on_warning = [](std::string_view) {};
  const std::int64_t n = static_cast<std::int64_t>(scale(20000));
  {
    SqliteWriteLock lock(db);
    evlog::Logger logger(options);
    for (std::int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(logger.log({"outage", i, "", marker_metadata(i)}).ok());
    }
    // The destructor shuts down: the database is still locked, so everything is spilled.
  }
  const std::vector<std::string> files = spill_segments(spill);
  ASSERT_FALSE(files.empty());
  ASSERT_EQ(spilled_markers(spill).size(), static_cast<std::size_t>(n));
  std::filesystem::create_directory(saved);
  for (const std::string& f : files) {
    std::filesystem::copy_file(f, saved + "/" + std::filesystem::path(f).filename().string());
  }

  auto replay_all = [&](std::uint64_t expected_replayed) {
    evlog::Logger logger(options);
    EXPECT_TRUE(wait_until([&] { return logger.stats().replayed >= expected_replayed; }, kLongWait))
        << describe(logger.stats());
    EXPECT_TRUE(logger.flush(kLongWait));
    EXPECT_TRUE(logger.shutdown(kLongWait));
    const evlog::Stats s = logger.stats();
    EXPECT_EQ(s.replayed, expected_replayed) << describe(s);
    EXPECT_TRUE(accounted(s, 0));
  };

  replay_all(static_cast<std::uint64_t>(n));
  EXPECT_TRUE(exactly_once(db, "outage", n));
  EXPECT_TRUE(spill_segments(spill).empty());

  // The same files twice more (as after crashes between commit and delete): the batch replayed
  // three times in all onto the rows already there, and no duplicate.
  for (int again = 0; again < 2; ++again) {
    for (const auto& entry : std::filesystem::directory_iterator(saved)) {
      std::filesystem::copy_file(entry.path(), spill + "/" + entry.path().filename().string());
    }
    replay_all(static_cast<std::uint64_t>(n));
    EXPECT_TRUE(exactly_once(db, "outage", n));
    EXPECT_TRUE(spill_segments(spill).empty());
  }

  // One file holding every record twice (a batch with internal duplicates).
  const std::string first = saved + "/" + std::filesystem::path(files.front()).filename().string();
  const evlog::SpillInspection inspected = evlog::inspect_spill_file(first);
  ASSERT_FALSE(inspected.records.empty());
  std::ifstream in(first, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::size_t records_at = inspected.records.front().offset;
  {
    std::ofstream out(spill + "/spill-00000000000000000001-1-0.evs", std::ios::binary);
    out << bytes << bytes.substr(records_at);
  }
  SqliteFile(db).exec("DELETE FROM analytics_events WHERE event_type = 'outage'");
  replay_all(2 * inspected.records.size());
  const evlog_reliability::MarkerRows rows = read_markers(db, "outage");
  EXPECT_EQ(rows.rows, static_cast<std::int64_t>(inspected.records.size()));
  EXPECT_TRUE(rows.duplicates().empty());
}

// R23: shutdown(2s) with the database hung returns within 2.5 s; the rest is spilled (with a
// spill directory) or counted lost (without one); the accounting balances either way.
void check_bounded_shutdown(bool with_spill, std::chrono::milliseconds db_timeout) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  SqliteWriteLock lock(db);
  evlog::Options options = options_for(db);
  if (with_spill) options.spill_dir = dir.file("spill");
  options.db_timeout = db_timeout;
  options.spill_after = 10s;  // not before the shutdown: the shutdown itself must spill
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  const std::int64_t n = static_cast<std::int64_t>(scale(50000));
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(logger.log({"hung", i, "", marker_metadata(i)}).ok());
  }
  const auto start = std::chrono::steady_clock::now();
  const bool clean = logger.shutdown(2s);
  const double took = evlog_reliability::ms_since(start);
  EXPECT_LE(took, 2500.0);
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, n));
  EXPECT_EQ(s.queued, 0u) << describe(s);
  if (with_spill) {
    EXPECT_TRUE(clean);
    EXPECT_EQ(s.spilled, static_cast<std::uint64_t>(n)) << describe(s);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(spilled_markers(options.spill_dir).size(), static_cast<std::size_t>(n));
  } else {
    EXPECT_FALSE(clean);
    EXPECT_EQ(s.lost, static_cast<std::uint64_t>(n)) << describe(s);
  }
  ::testing::Test::RecordProperty("shutdown_ms", std::to_string(static_cast<int>(took)));
}

TEST_F(Fault, ShutdownWithTheDatabaseHungSpillsWithinTheDeadline) {
  check_bounded_shutdown(true, 100ms);
}
TEST_F(Fault, ShutdownWithTheDatabaseHungAndALongBusyTimeout) {
  check_bounded_shutdown(true, 1000ms);
}
TEST_F(Fault, ShutdownWithTheDatabaseHungAndNoSpillCountsLost) {
  check_bounded_shutdown(false, 100ms);
}

// R1: the database locked, the queue full and the spill disk full, all at once, 8 threads
// logging: log() never blocks or throws, and every call is counted. On a loaded 2-core machine a
// thread can be preempted in the middle of any call, so a call's wall time alone proves little:
// each call is also checked for voluntary context switches (getrusage, RUSAGE_THREAD), which is
// how waiting on a lock, a sleep or I/O shows. Bounds: no call that switched voluntarily took
// 100 ms or more, and no call at all took a second (a hang).
TEST_F(Fault, LogNeverBlocksWithEverythingFailingAtOnce) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  SqliteWriteLock lock(db);
  TmpfsMount spillfs(dir.path() / "spillfs", 64u << 10);
  evlog::Options options = options_for(db);
  options.spill_dir = spillfs.file("spill");
  options.spill_after = 0ms;
  options.retry_max = 50ms;
  options.queue_capacity = 1024;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);

  constexpr int kThreads = 8;
  // The storm lasts at least `run_for`, and goes on until all three failures are in force (under
  // ThreadSanitizer the writer can take longer than that to meet the locked database).
  const auto run_for = std::chrono::milliseconds(scale(3000));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0}, admitted{0}, dropped{0}, other{0}, switched{0};
  std::atomic<std::int64_t> longest_ns{0}, longest_switched_ns{0};
  auto raise_to = [](std::atomic<std::int64_t>& max, std::int64_t value) {
    std::int64_t seen = max.load();
    while (value > seen && !max.compare_exchange_weak(seen, value)) {
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string pad(200, static_cast<char>('a' + t));
      std::int64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string metadata = "{\"t\":" + std::to_string(t) + ",\"pad\":\"" + pad + "\"}";
        rusage before{}, after{};
        ::getrusage(RUSAGE_THREAD, &before);
        const auto start = std::chrono::steady_clock::now();
        const evlog::Result r = logger.log({"storm", i++, "", metadata});
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        ::getrusage(RUSAGE_THREAD, &after);
        raise_to(longest_ns, ns);
        if (after.ru_nvcsw != before.ru_nvcsw) {
          ++switched;
          raise_to(longest_switched_ns, ns);
        }
        ++calls;
        if (r.outcome == evlog::Outcome::queued) {
          ++admitted;
        } else if (r.outcome == evlog::Outcome::dropped) {
          ++dropped;
        } else {
          ++other;
        }
      }
    });
  }
  const auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(run_for);
  (void)wait_until(
      [&] {
        const evlog::Stats now = logger.stats();
        return now.database_failing && now.spill_failures > 0 && now.spill_bytes > 0 &&
               dropped.load() > 0;
      },
      kLongWait);
  stop = true;
  for (auto& t : threads) t.join();
  const evlog::Stats s = logger.stats();
  RecordProperty("storm_ms", std::to_string(evlog_reliability::ms_since(started)));
  RecordProperty("longest_log_call_us", std::to_string(longest_ns.load() / 1000));
  RecordProperty("longest_waiting_log_call_us", std::to_string(longest_switched_ns.load() / 1000));
  RecordProperty("calls_that_waited", std::to_string(switched.load()));
  RecordProperty("calls", std::to_string(calls.load()));
  EXPECT_LT(static_cast<double>(longest_switched_ns.load()) / 1e6, 100.0)
      << switched.load() << " of " << calls.load() << " calls waited";
  EXPECT_LT(static_cast<double>(longest_ns.load()) / 1e6, 1000.0);
  EXPECT_EQ(other.load(), 0u);
  EXPECT_GT(dropped.load(), 0u);
  EXPECT_EQ(s.dropped, dropped.load());
  EXPECT_GT(s.spill_failures, 0u) << describe(s);
  EXPECT_GT(s.spill_bytes, 0u);
  EXPECT_TRUE(s.database_failing);
  // No accounting check yet: the writer is still moving events (queued to spilled), and a
  // snapshot taken meanwhile may see one in transit (see Stats). After the shutdown it balances.

  const auto start = std::chrono::steady_clock::now();
  (void)logger.shutdown(2s);
  EXPECT_LE(evlog_reliability::ms_since(start), 2500.0);
  const evlog::Stats end = logger.stats();
  EXPECT_TRUE(accounted(end, calls.load()));
  EXPECT_EQ(end.queued, 0u);
  EXPECT_EQ(end.spilled + end.lost, admitted.load()) << describe(end);
}

// R12: strace injects EIO into the first fsync of a spill append in a child process. Those events
// are not counted as spilled (they stay queued and go to a new segment later); once the lock is
// gone every event is in the table exactly once and the counts are exact.
TEST_F(Fault, FsyncErrorOnASpillFileIsNeverTrusted) {
  const StraceProbe probe;
  // The writer thread's fsync calls: the new segment (1), its directory (2), the first append (3).
  const evlog_reliability::CommandResult result =
      probe.run("-e trace=fsync -e inject=fsync:error=EIO:when=3");
  ASSERT_EQ(result.status, 0) << result.output;

  const std::vector<std::string> injected = trace_lines_with(probe.trace, {"INJECTED"});
  ASSERT_FALSE(injected.empty()) << "strace injected nothing:\n" << result.output;
  EXPECT_FALSE(trace_lines_with(probe.trace, {"INJECTED", "/spill-", ".evs>"}).empty())
      << "no injected fsync on a spill segment:\n"
      << injected.front() << "\n"
      << result.output;

  // The probe reports its counters: at least one failed append, and in the end every event
  // written, none lost, none left spilled.
  EXPECT_GE(probe_spill_failures(result.output), 1) << result.output;
  EXPECT_NE(result.output.find("final written=" + std::to_string(probe.n) + " "), std::string::npos)
      << result.output;
  EXPECT_TRUE(exactly_once(probe.db, "fsync", probe.n));
  EXPECT_TRUE(spill_segments(probe.spill).empty());
}

// R12: a process killed after its replay committed a spill file's records but before it deleted
// the file. strace sends SIGKILL at the writer's first unlink, the deletion of the replayed file
// (the probe spills with the database locked, then releases it and flushes). The file is left
// with every record already in the table; the next replay writes them again, and the unique
// event_id makes that harmless: every event exactly once, and the file deleted.
TEST_F(Fault, KilledBetweenReplayCommitAndDeleteIsReplayedWithoutDuplicates) {
  const StraceProbe probe;
  const evlog_reliability::CommandResult result =
      probe.run("-e trace=unlink,unlinkat -e inject=unlink,unlinkat:signal=KILL:when=1");
  ASSERT_NE(result.status, 0) << "the probe was not killed:\n" << result.output;
  ASSERT_FALSE(trace_lines_with(probe.trace, {"unlink", "/spill-", ".evs"}).empty())
      << "the kill did not fall at a spill file's deletion:\n"
      << result.output;
  // Killed after the commit: the events are in the table already, and the file is still there.
  EXPECT_TRUE(exactly_once(probe.db, "fsync", probe.n));
  ASSERT_EQ(spill_segments(probe.spill).size(), 1u);

  evlog::Options options = options_for(probe.db);
  options.spill_dir = probe.spill;
  options.on_warning = [](std::string_view) {};
  const evlog::ReplayReport report = evlog::replay_spill_directory(options, kLongWait);
  EXPECT_EQ(report.files_left, 0u);
  EXPECT_EQ(report.stats.replayed, static_cast<std::uint64_t>(probe.n));
  EXPECT_TRUE(exactly_once(probe.db, "fsync", probe.n));
  EXPECT_TRUE(spill_segments(probe.spill).empty());
}

// R13: the disk is full when the writer spills (strace makes write(2) fail with ENOSPC for a
// stretch of the process's writes, spill files' among them): each failed spill is counted, the
// events stay queued, the logger keeps serving; once writes succeed again spilling resumes, and
// in the end every event is written once and none is lost.
//
// Plain builds only: strace counts each thread's writes, and the sanitizer runtimes make write(2)
// calls of their own (AddressSanitizer's startup pipe, for one), which move the faulted stretch
// off the writes this test aims at. The ENOSPC handling itself is the same code in every build.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_F(Fault, DiskFullWhileSpillingIsCountedAndSpillingResumes) {
  const StraceProbe probe;
  // Each thread's writes 2 to 11 fail (strace counts per thread): on the writer thread, every
  // append and new spill file after the first file's header, and its warnings; the probe
  // retries its own report lines.
  const evlog_reliability::CommandResult result =
      probe.run("-e trace=write -e inject=write:error=ENOSPC:when=2..11");
  ASSERT_EQ(result.status, 0) << result.output;

  EXPECT_FALSE(trace_lines_with(probe.trace, {"ENOSPC", "INJECTED", "spill-", ".evs>"}).empty())
      << "no write to a spill file met ENOSPC:\n"
      << result.output;
  EXPECT_GE(probe_spill_failures(result.output), 1) << result.output;
  EXPECT_NE(result.output.find("after_spill written=0 spilled=" + std::to_string(probe.n) + " "),
            std::string::npos)
      << "spilling did not resume once the disk had room:\n"
      << result.output;
  EXPECT_NE(result.output.find("final written=" + std::to_string(probe.n) + " "), std::string::npos)
      << result.output;
  EXPECT_TRUE(exactly_once(probe.db, "fsync", probe.n));
  EXPECT_TRUE(spill_segments(probe.spill).empty());
}
#endif

// R13: the spill directory's file system turns read-only: spill attempts fail and are counted,
// the logger keeps serving (events stay queued); read-write again, spilling resumes and nothing
// is lost.
TEST_F(Fault, ReadOnlySpillDirectoryIsCountedAndRecovers) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  SqliteWriteLock lock(db);
  TmpfsMount spillfs(dir.path() / "spillfs", 8u << 20);
  evlog::Options options = options_for(db);
  options.spill_dir = spillfs.file("spill");
  options.spill_after = 0ms;
  options.retry_max = 100ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  // No spill file is open for writing yet, so the remount succeeds.
  ASSERT_EQ(spillfs.set_read_only(true), 0);

  const std::int64_t n = static_cast<std::int64_t>(scale(4000));
  for (std::int64_t i = 0; i < n / 2; ++i) {
    ASSERT_TRUE(logger.log({"rofs", i, "", marker_metadata(i)}).ok());
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().spill_failures >= 2; }, kLongWait));
  // Still serving.
  for (std::int64_t i = n / 2; i < n; ++i) {
    ASSERT_EQ(logger.log({"rofs", i, "", marker_metadata(i)}).outcome, evlog::Outcome::queued);
  }
  // The writer keeps retrying meanwhile, so one snapshot may catch a batch between the queue and
  // the writer's hands (Stats is not atomic across fields); the next balanced one must show every
  // event still queued and none spilled.
  evlog::Stats s;
  ASSERT_TRUE(wait_until(
      [&] {
        s = logger.stats();
        return static_cast<bool>(accounted(s, n));
      },
      kLongWait))
      << describe(s);
  EXPECT_EQ(s.spilled, 0u);
  EXPECT_EQ(s.queued, static_cast<std::uint64_t>(n));

  ASSERT_EQ(spillfs.set_read_only(false), 0);
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == static_cast<std::uint64_t>(n); },
                         kLongWait))
      << describe(logger.stats());
  lock.release();
  ASSERT_TRUE(logger.flush(kLongWait));
  s = logger.stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(n)) << describe(s);
  EXPECT_TRUE(accounted(s, n));
  EXPECT_TRUE(exactly_once(db, "rofs", n));
  EXPECT_TRUE(logger.shutdown(kLongWait));
  EXPECT_TRUE(spill_segments(options.spill_dir).empty());
}

// R21: under umask 022 the database, its -wal and -shm, spill files and the dead-letter file are
// 0600 and the spill directory 0700; an unprivileged user (uid 65534) can read none of them.
TEST_F(Fault, FilesArePrivateUnderUmask022) {
  const mode_t old_umask = ::umask(022);
  TempDir dir;
  // Traversable by anyone, so only the files' own modes protect them.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string db = dir.file("events.db");
  const std::string spill = dir.file("spill");
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.spill_after = 0ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  ASSERT_TRUE(evlog_test::prime(logger));
  SqliteFile(db).exec(
      "CREATE TRIGGER refuse_poison BEFORE INSERT ON analytics_events "
      "WHEN NEW.event_type = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  ASSERT_TRUE(logger.log({"poison", {}, "", ""}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));
  ASSERT_EQ(logger.stats().dead_lettered, 1u);
  SqliteWriteLock lock(db);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(logger.log({"spilled", i, "", ""}).ok());
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == 10; }, kLongWait));

  auto mode_of = [](const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  };
  const std::vector<std::string> segments = spill_segments(spill);
  ASSERT_FALSE(segments.empty());
  const std::string letters = spill + "/dead-letters.jsonl";
  std::vector<std::string> private_files = {db, db + "-wal", db + "-shm", letters};
  private_files.insert(private_files.end(), segments.begin(), segments.end());
  for (const std::string& f : private_files) EXPECT_EQ(mode_of(f), 0600) << f;
  EXPECT_EQ(mode_of(spill), 0700);

  // As uid 65534: nothing readable, the directory not listable, no logger on root's database.
  auto as_nobody = [](const std::string& args) {
    return run_command(std::string("setpriv --reuid=65534 --regid=65534 --clear-groups ") +
                       EVLOG_PRIVATE_FILES_PROBE + " " + args);
  };
  std::string paths;
  for (const std::string& f : {db, db + "-wal", db + "-shm", spill}) paths += " " + f;
  evlog_reliability::CommandResult r = as_nobody("open" + paths);
  EXPECT_EQ(r.status, 0) << r.output;
  // Past a traversable directory, the files' own modes still refuse.
  ASSERT_EQ(::chmod(spill.c_str(), 0711), 0);
  paths.clear();
  for (const std::string& f : segments) paths += " " + f;
  r = as_nobody("open " + letters + paths);
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(::chmod(spill.c_str(), 0700), 0);
  r = as_nobody("logger " + db);
  EXPECT_EQ(r.status, 0) << r.output;

  // The probe itself can read a file that is not private (so a pass above means something).
  const std::string open_file = dir.file("public.txt");
  std::ofstream(open_file) << "x";
  ASSERT_EQ(::chmod(open_file.c_str(), 0644), 0);
  r = as_nobody("open " + open_file);
  EXPECT_NE(r.status, 0) << r.output;

  lock.release();
  EXPECT_TRUE(logger.shutdown(kLongWait));
  ::umask(old_umask);
}

// R21: a symbolic link planted at the database path or at the spill directory is refused with
// evlog::Error, and nothing is created where it points.
TEST_F(Fault, PlantedSymlinksAreRefused) {
  TempDir dir;
  const std::string elsewhere = dir.file("elsewhere");
  std::filesystem::create_directory(elsewhere);

  const std::string db_link = dir.file("events.db");
  ASSERT_EQ(::symlink((elsewhere + "/victim.db").c_str(), db_link.c_str()), 0);
  try {
    evlog::Logger logger(options_for(db_link));
    ADD_FAILURE() << "a database path that is a symbolic link was accepted";
  } catch (const evlog::Error& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(elsewhere + "/victim.db"));

  const std::string db = dir.file("real.db");
  const std::string spill_link = dir.file("spill");
  ASSERT_EQ(::symlink(elsewhere.c_str(), spill_link.c_str()), 0);
  evlog::Options options = options_for(db);
  options.spill_dir = spill_link;
  EXPECT_THROW(evlog::Logger logger(options), evlog::Error);
  EXPECT_TRUE(std::filesystem::is_empty(elsewhere));
}

}  // namespace
