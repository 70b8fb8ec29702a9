// R17: fork() after a logger exists, in a multi-threaded process. The child logs through the
// inherited logger (which gives it a writer and a connection of its own) and leaves with _exit;
// the parent goes on. Each side's events are in the table exactly once, and the child never
// writes the events its parent had queued at the fork.
//
// Excluded from the ThreadSanitizer run (label `fork`): ThreadSanitizer does not support a
// process that forks while other threads run and then starts threads in the child, which is
// exactly what this test does (the child's logger starts a writer thread after fork()).
//
// How "never writes the parent's events" is seen: rows are inserted with ON CONFLICT(event_id)
// DO NOTHING, so a second insert of an event would leave no second row. A BEFORE INSERT trigger
// (which fires for every insert attempt, conflicting or not) records each committed attempt in an
// audit table: every event_id must have been inserted exactly once, by one process.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
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
using evlog_reliability::marker_metadata;
using evlog_reliability::read_markers;
using evlog_test::accounted;
using evlog_test::describe;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::scale;
using evlog_test::SqliteFile;
using evlog_test::TempDir;

// The child's exit codes.
enum ChildExit : int { kOk = 0, kNotAdmitted = 10, kFlushFailed = 11, kMiscounted = 12 };

// Waits for `pid` up to `timeout`, then kills it; the wait status, or nothing on timeout.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(5ms);
  }
}

std::string explain(const std::optional<int>& status) {
  if (!status) return "the child hung and was killed";
  if (!WIFEXITED(*status)) return "the child died of signal " + std::to_string(WTERMSIG(*status));
  switch (WEXITSTATUS(*status)) {
    case kOk:
      return "";
    case kNotAdmitted:
      return "the child's log() did not admit an event";
    case kFlushFailed:
      return "the child's flush() timed out";
    case kMiscounted:
      return "the child's counters were not exact";
    default:
      return "the child exited with " + std::to_string(WEXITSTATUS(*status));
  }
}

// The child: `n` events through the inherited logger (markers from `first`, after `first` events
// it logged already), a flush, exact counters, _exit.
[[noreturn]] void child_logs(evlog::Logger& logger, std::int64_t first, std::int64_t n) {
  int code = kOk;
  for (std::int64_t i = 0; i < n && code == kOk; ++i) {
    if (!logger.log({"child", first + i, "", marker_metadata(first + i)}).ok()) {
      code = kNotAdmitted;
    }
  }
  if (code == kOk && !logger.flush(kLongWait)) code = kFlushFailed;
  if (code == kOk) {
    const evlog::Stats s = logger.stats();
    const std::int64_t calls = first + n;
    if (s.written != static_cast<std::uint64_t>(calls) || !accounted(s, calls)) {
      code = kMiscounted;
    }
  }
  ::_exit(code);
}

void add_insert_audit(const std::string& db) {
  SqliteFile file(db);
  file.exec("CREATE TABLE insert_attempts (event_id TEXT NOT NULL)");
  file.exec(
      "CREATE TRIGGER audit_inserts BEFORE INSERT ON analytics_events BEGIN "
      "INSERT INTO insert_attempts (event_id) VALUES (NEW.event_id); END");
}

// Event ids inserted more than once (by any process), and events of `type` never inserted.
std::int64_t repeated_inserts(const std::string& db) {
  SqliteFile file(db);
  return file.scalar(
      "SELECT count(*) FROM (SELECT event_id FROM insert_attempts GROUP BY event_id "
      "HAVING count(*) > 1)");
}

// Two threads log in the parent; the writer is held up (another process holds the write lock)
// while the main thread logs 100 events right before fork(), so they sit in the queue the child
// inherits. The child logs its own events and exits; the lock goes; the parent goes on.
//
// The parent's threads are paced (2 events per sleep of at least 1 ms: under 2,000 a second each)
// so that its writer is never saturated. SQLite does not hand its write lock over in turn: a writer
// that commits back to back takes the lock again microseconds after each commit, while the child's
// writer polls for it every few milliseconds, and on a loaded machine under AddressSanitizer
// (parent threads sleeping only every 64 events) the child found the lock free not once in 30 s.
// That is SQLite's lock, documented in docs/operations.md; what this test proves is the fork.
TEST(Fork, MultiThreadedParentAndChildEachWriteTheirOwnEventsOnce) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  add_insert_audit(db);
  evlog::Options options = options_for(db);
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 30s;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  ASSERT_TRUE(evlog_test::prime(logger));

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> parent_logged[2] = {0, 0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      const std::string type = "parent" + std::to_string(t);
      for (std::int64_t i = 0; !stop.load(); ++i) {
        if (logger.log({type, i, "", marker_metadata(i)}).ok()) ++parent_logged[t];
        if (i % 2 == 0) std::this_thread::sleep_for(1ms);  // paced: see the comment above
      }
    });
  }
  std::this_thread::sleep_for(100ms);

  auto lock = std::make_unique<CliWriteLock>(db);
  constexpr std::int64_t kPreFork = 100;
  for (std::int64_t i = 0; i < kPreFork; ++i) {
    ASSERT_TRUE(logger.log({"pre_fork", i, "", marker_metadata(i)}).ok());
  }
  const std::int64_t child_events = static_cast<std::int64_t>(scale(5000));
  const pid_t pid = ::fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) child_logs(logger, 0, child_events);

  std::this_thread::sleep_for(300ms);
  lock->release();
  const std::optional<int> status = wait_for(pid, 60s);
  EXPECT_EQ(explain(status), "");
  std::this_thread::sleep_for(100ms);
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(logger.flush(kLongWait));

  const std::int64_t calls = 1 + kPreFork + parent_logged[0] + parent_logged[1];
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(calls)) << describe(s);
  EXPECT_TRUE(accounted(s, calls));
  for (int t = 0; t < 2; ++t) {
    const evlog_reliability::MarkerRows rows = read_markers(db, "parent" + std::to_string(t));
    EXPECT_EQ(rows.rows, parent_logged[t].load());
    EXPECT_EQ(rows.distinct_event_ids, rows.rows);
    EXPECT_TRUE(rows.duplicates().empty());
  }
  const evlog_reliability::MarkerRows pre = read_markers(db, "pre_fork");
  EXPECT_EQ(pre.rows, kPreFork);
  EXPECT_EQ(pre.count_by_seq.size(), static_cast<std::size_t>(kPreFork));
  const evlog_reliability::MarkerRows child = read_markers(db, "child");
  EXPECT_EQ(child.rows, child_events);
  EXPECT_EQ(child.count_by_seq.size(), static_cast<std::size_t>(child_events));
  EXPECT_EQ(repeated_inserts(db), 0) << "an event was inserted by both processes";
  EXPECT_TRUE(logger.shutdown(kLongWait));
}

// The parent shuts its logger down (closing its connection) while the child is still logging
// through the inherited one. The child's events must all reach the table: closing the parent's
// connection must not take the database's WAL away from under the child.
TEST(Fork, ParentClosingItsLoggerDoesNotLoseTheChildsEvents) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  create_database(db);
  evlog::Options options = options_for(db);
  options.on_warning = [](std::string_view) {};
  auto logger = std::make_unique<evlog::Logger>(options);
  ASSERT_TRUE(evlog_test::prime(*logger));  // idle at the fork: no lock held

  int ready[2], go[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  const std::int64_t later = static_cast<std::int64_t>(scale(2000));
  const pid_t pid = ::fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    // One event committed first, so the child's own connection is open; then the parent closes
    // its logger; then the rest.
    int code = kOk;
    if (!logger->log({"child", 0, "", marker_metadata(0)}).ok()) code = kNotAdmitted;
    if (code == kOk && !logger->flush(kLongWait)) code = kFlushFailed;
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(20);
    if (code == kOk) child_logs(*logger, 1, later);
    ::_exit(code);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_TRUE(logger->shutdown(kLongWait));
  logger.reset();  // the parent's connection closes
  ASSERT_EQ(::write(go[1], &c, 1), 1);
  const std::optional<int> status = wait_for(pid, 60s);
  EXPECT_EQ(explain(status), "");

  const evlog_reliability::MarkerRows child = read_markers(db, "child");
  EXPECT_EQ(child.rows, later + 1) << "rows of the child's events in the table";
  EXPECT_EQ(child.count_by_seq.size(), static_cast<std::size_t>(later + 1));
  EXPECT_EQ(evlog_reliability::integrity(db), "ok");
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

// A pre-forked worker of the test below: logs `n` events of `type` into a spill directory that
// another live worker shares (the database locked, so they spill), says so, waits for "go",
// flushes (its own files replayed), reports {written, replayed}, waits for "go" again, exits.
[[noreturn]] void spilling_worker(const std::string& db, const std::string& spill, const char* type,
                                  std::int64_t n, int to_parent, int from_parent) {
  evlog::Options options = options_for(db);
  options.spill_dir = spill;
  options.spill_after = 0ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!logger.log({type, i, "", ""}).ok()) ::_exit(kNotAdmitted);
  }
  if (!evlog_test::wait_until(
          [&] { return logger.stats().spilled == static_cast<std::uint64_t>(n); }, kLongWait)) {
    ::_exit(kFlushFailed);
  }
  char c = 'r';
  if (::write(to_parent, &c, 1) != 1 || ::read(from_parent, &c, 1) != 1) ::_exit(kMiscounted);
  if (!logger.flush(kLongWait)) ::_exit(kFlushFailed);
  const evlog::Stats s = logger.stats();
  const std::uint64_t report[2] = {s.written, s.replayed};
  if (::write(to_parent, report, sizeof report) != sizeof report) ::_exit(kMiscounted);
  if (::read(from_parent, &c, 1) != 1) ::_exit(kMiscounted);  // alive until both have reported
  ::_exit(accounted(s, n) ? kOk : kMiscounted);
}

// Pre-forked servers share one spill directory. Each live process holds a lock on its own files,
// so neither replays (nor deletes) the other's: each writes exactly its own events, `replayed`
// (events of other processes' files) stays 0 for both, and the table holds every event once.
TEST(Fork, PreForkedWorkersSharingASpillDirectoryReplayOnlyTheirOwnFiles) {
  TempDir dir;
  const std::string db = dir.file("shared.db");
  const std::string spill = dir.file("spill");
  create_database(db);
  const std::int64_t n = static_cast<std::int64_t>(scale(2000));
  CliWriteLock lock(db);

  struct Worker {
    pid_t pid = -1;
    int to_parent[2] = {-1, -1};
    int from_parent[2] = {-1, -1};
  };
  Worker workers[2];
  const char* types[2] = {"worker_a", "worker_b"};
  for (int w = 0; w < 2; ++w) {
    ASSERT_EQ(::pipe(workers[w].to_parent), 0);
    ASSERT_EQ(::pipe(workers[w].from_parent), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      spilling_worker(db, spill, types[w], n, workers[w].to_parent[1], workers[w].from_parent[0]);
    }
    workers[w].pid = pid;
  }
  char c = 0;
  for (Worker& w : workers) ASSERT_EQ(::read(w.to_parent[0], &c, 1), 1) << "a worker did not spill";
  EXPECT_GE(evlog_reliability::spill_segments(spill).size(), 2u) << "each worker has its own file";
  lock.release();  // the database answers again
  for (Worker& w : workers) ASSERT_EQ(::write(w.from_parent[1], "g", 1), 1);
  for (int w = 0; w < 2; ++w) {
    std::uint64_t report[2] = {0, 0};
    ASSERT_EQ(::read(workers[w].to_parent[0], report, sizeof report),
              static_cast<ssize_t>(sizeof report))
        << "worker " << types[w] << " did not report";
    EXPECT_EQ(report[0], static_cast<std::uint64_t>(n)) << types[w] << " written";
    EXPECT_EQ(report[1], 0u) << types[w] << " replayed another live worker's spill file";
  }
  for (Worker& w : workers) ASSERT_EQ(::write(w.from_parent[1], "g", 1), 1);
  for (int w = 0; w < 2; ++w) {
    const std::optional<int> status = wait_for(workers[w].pid, kLongWait);
    EXPECT_EQ(explain(status), "") << types[w];
    for (int fd : {workers[w].to_parent[0], workers[w].to_parent[1], workers[w].from_parent[0],
                   workers[w].from_parent[1]}) {
      ::close(fd);
    }
  }
  SqliteFile file(db);
  for (const char* type : types) {
    EXPECT_EQ(file.scalar(std::string("SELECT count(DISTINCT user_id) FROM analytics_events "
                                      "WHERE event_type = '") +
                          type + "'"),
              n)
        << type;
  }
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"),
            file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"));
  EXPECT_TRUE(evlog_reliability::spill_segments(spill).empty());
}

}  // namespace
