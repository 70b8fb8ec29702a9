// Several processes logging into one SQLite file: every event of every process lands once.
//
// These tests fork(), so they carry the CTest label `fork`: the ThreadSanitizer run excludes that
// label (`ctest -LE fork`) because ThreadSanitizer does not support threads started after fork(),
// and each child here starts a logger (a writer thread) after fork().
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::scale;
using evlog_test::SqliteFile;
using evlog_test::TempDir;

// Exit codes of a child, so the parent can say what went wrong.
enum ChildExit : int {
  kOk = 0,
  kThrew = 10,
  kNotAdmitted = 11,
  kShutdownFailed = 12,
  kMiscounted = 13,
  kNoSinkOfItsOwn = 14,
};

// The body of a child process: a fresh logger of its own, `n` events, a clean shutdown. Never
// returns; reports through its exit code (no GoogleTest assertions in a child).
[[noreturn]] void run_child(const std::string& db, int child, std::size_t n) {
  int code = kOk;
  try {
    evlog::Options options = options_for(db);
    options.on_full = evlog::OnFull::block;
    options.block_timeout = 5000ms;
    evlog::Logger logger(options);
    const std::string user_type = "child-" + std::to_string(child);
    for (std::size_t i = 0; i < n && code == kOk; ++i) {
      const std::string metadata =
          "{\"child\":" + std::to_string(child) + ",\"i\":" + std::to_string(i) + "}";
      if (!logger.log({"multi", static_cast<std::int64_t>(i), user_type, metadata}).ok()) {
        code = kNotAdmitted;
      }
    }
    if (code == kOk && !logger.shutdown(kLongWait)) code = kShutdownFailed;
    if (code == kOk && logger.stats().written != n) code = kMiscounted;
  } catch (...) {
    code = kThrew;
  }
  ::_exit(code);
}

// Waits for `pid` up to `timeout`; past it the child is killed (SIGKILL) and reaped, so a hung
// child fails the test instead of hanging it. Returns the wait status, or nothing on timeout.
std::optional<int> wait_for_child(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done == -1) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(5ms);
  }
}

// "" when the child exited with kOk, else what went wrong.
std::string child_failure(const std::optional<int>& status) {
  if (!status) return "the child hung and was killed";
  if (!WIFEXITED(*status)) return "the child died with signal " + std::to_string(WTERMSIG(*status));
  switch (WEXITSTATUS(*status)) {
    case kOk:
      return "";
    case kThrew:
      return "the child's logger threw";
    case kNotAdmitted:
      return "log() did not admit an event in the child";
    case kShutdownFailed:
      return "shutdown() returned false in the child";
    case kMiscounted:
      return "the child's counts or rows were wrong";
    case kNoSinkOfItsOwn:
      return "make_sink was not called in the child";
    default:
      return "the child exited with " + std::to_string(WEXITSTATUS(*status));
  }
}

// Two child processes, each with its own logger, log 50,000 events each (scaled) into one new file
// at the same time (R7); the parent then finds every event exactly once, 100,000 distinct ids.
TEST(Multiprocess, TwoProcessesLogIntoOneFile) {
  constexpr int kChildren = 2;
  const std::size_t per_child = scale(50000);
  TempDir dir;
  const std::string db = dir.file("shared.db");

  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = ::fork();
    ASSERT_NE(pid, -1) << "fork failed";
    if (pid == 0) run_child(db, c, per_child);
    children.push_back(pid);
  }
  for (std::size_t c = 0; c < children.size(); ++c) {
    const std::string failure = child_failure(wait_for_child(children[c], 120s));
    EXPECT_TRUE(failure.empty()) << "child " << c << ": " << failure;
  }

  SqliteFile file(db);
  const auto total = static_cast<std::int64_t>(kChildren * per_child);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"), total);
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"), total);
  for (int c = 0; c < kChildren; ++c) {
    const std::string who = "'child-" + std::to_string(c) + "'";
    EXPECT_EQ(file.scalar(
                  "SELECT count(DISTINCT user_id) FROM analytics_events WHERE user_type = " + who),
              static_cast<std::int64_t>(per_child))
        << "child " << c << " has missing or repeated events";
    EXPECT_EQ(file.scalar("SELECT max(user_id) FROM analytics_events WHERE user_type = " + who),
              static_cast<std::int64_t>(per_child) - 1);
  }
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
}

// A logger made before fork() keeps working in both processes: the child logs through it (with a
// writer and a connection of its own) while the parent goes on logging, and ids made in parent and
// child at the same time never collide (a collision would be discarded silently by the unique key,
// and the count below would come up short).
//
// The parent's logger is idle (flushed) at the fork: a SQLite connection that holds a lock at the
// moment of fork() leaves its in-process lock state behind in the child, whoever owns it.
TEST(Multiprocess, ChildLogsThroughAnInheritedLogger) {
  TempDir dir;
  const std::string db = dir.file("inherited.db");
  const std::size_t n = scale(10000);
  evlog::Options options = options_for(db);
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 5000ms;
  evlog::Logger logger(options);
  ASSERT_TRUE(evlog_test::prime(logger));
  const std::uint64_t written_at_fork = logger.stats().written;

  const pid_t pid = ::fork();
  ASSERT_NE(pid, -1) << "fork failed";
  if (pid == 0) {
    int code = kOk;
    for (std::size_t i = 0; i < n && code == kOk; ++i) {
      if (!logger.log({"after_fork", static_cast<std::int64_t>(i), "child", ""}).ok()) {
        code = kNotAdmitted;
      }
    }
    if (code == kOk && !logger.shutdown(kLongWait)) code = kShutdownFailed;
    // The child's counters either start afresh or go on from the parent's at the fork.
    const std::uint64_t written = logger.stats().written;
    if (code == kOk && written != n && written - written_at_fork != n) code = kMiscounted;
    ::_exit(code);
  }
  std::size_t parent_not_ok = 0;
  for (std::size_t i = 0; i < n; ++i) {
    parent_not_ok +=
        logger.log({"after_fork", static_cast<std::int64_t>(i), "parent", ""}).ok() ? 0 : 1;
  }
  const std::string failure = child_failure(wait_for_child(pid, 120s));
  EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(parent_not_ok, 0u);
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.written, 1 + n);
  EXPECT_TRUE(evlog_test::accounted(stats, 1 + n));

  SqliteFile file(db);
  const auto total = static_cast<std::int64_t>(1 + 2 * n);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"), total);
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"), total);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE user_type = 'child'"),
            static_cast<std::int64_t>(n));
}

// Events the parent had queued at the fork are the parent's alone: the child's writer never
// writes them (it writes through a sink of its own, made again by make_sink), and the parent
// writes each of them once the database answers. The database fails every write until then, so
// the events are certainly still queued at the fork.
//
// The fork comes while the parent's writer sleeps out its backoff after a failed attempt. In the
// AddressSanitizer build a fork while another thread is inside the allocator can leave the
// child's allocator locked for good: GCC 12's runtime installs no fork handlers (LLVM's gained
// them in version 18), and its quarantine makes the writer's frees take allocator locks. Forked
// during the writer's 50 ms retry loop, 7 of 15 children hung there, inside the runtime's own
// thread start-up, before any evlog code ran in the new thread; forked during the sleep, none of
// 15. glibc's malloc is fork-safe, so a plain build is not exposed; a fork while the writer is
// busy is ForkWhileTheParentIsWriting's subject.
TEST(Multiprocess, ChildNeverWritesItsParentsQueuedEvents) {
  TempDir dir;
  auto sink = evlog_test::MemorySinkControl::create();
  evlog::Options options = evlog_test::memory_options(sink, dir.file("unused.db"));
  options.on_warning = [](std::string_view) {};
  options.retry_initial = 3s;
  options.retry_max = 3s;
  evlog::Logger logger(options);
  sink->fail_transient(1 << 30);
  constexpr int kQueued = 100;
  constexpr int kChildEvents = 50;
  for (int i = 0; i < kQueued; ++i) {
    ASSERT_EQ(logger.log({"before_fork", i, "parent", ""}).outcome, evlog::Outcome::queued);
  }
  const int sinks_at_fork = sink->sinks_made();
  // A failed attempt, then 3 s of backoff: the writer is asleep, the events still queued.
  ASSERT_TRUE(evlog_test::wait_until([&] { return logger.stats().retries >= 1; }, kLongWait));
  std::this_thread::sleep_for(100ms);

  const pid_t pid = ::fork();
  ASSERT_NE(pid, -1) << "fork failed";
  if (pid == 0) {
    // The child's copy of the control: let the child's writes through, then check what it wrote.
    sink->fail_transient(0);
    int code = kOk;
    for (int i = 0; i < kChildEvents && code == kOk; ++i) {
      if (!logger.log({"child_event", i, "child", ""}).ok()) code = kNotAdmitted;
    }
    if (code == kOk && !logger.shutdown(kLongWait)) code = kShutdownFailed;
    int before_fork = 0;
    int mine = 0;
    for (const evlog_test::StoredRow& row : sink->rows()) {
      before_fork += row.type == "before_fork" ? 1 : 0;
      mine += row.type == "child_event" ? 1 : 0;
    }
    if (code == kOk && (before_fork != 0 || mine != kChildEvents)) code = kMiscounted;
    if (code == kOk && sink->sinks_made() <= sinks_at_fork) code = kNoSinkOfItsOwn;
    ::_exit(code);
  }
  const std::string failure = child_failure(wait_for_child(pid, 120s));
  EXPECT_TRUE(failure.empty()) << failure;

  sink->fail_transient(0);
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(sink->row_count(), static_cast<std::size_t>(kQueued));
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.written, static_cast<std::uint64_t>(kQueued));
  EXPECT_TRUE(evlog_test::accounted(stats, kQueued));
}

// fork() can come at any moment, also while the parent's writer is inside SQLite: the child must
// still get a working logger (its own writer and connection) and shut down within its deadline.
// Each round forks while a producer thread keeps the parent's writer busy; each child logs one
// event through the inherited logger and shuts down.
TEST(Multiprocess, ForkWhileTheParentIsWriting) {
  TempDir dir;
  const std::string db = dir.file("busy_fork.db");
  const int rounds = static_cast<int>(std::max<std::size_t>(3, scale(10)));
  evlog::Options options = options_for(db);
  options.max_delay = 1ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  ASSERT_TRUE(evlog_test::prime(logger));

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{1};
  std::thread producer([&] {
    for (std::int64_t i = 0; !stop.load(); ++i) {
      (void)logger.log({"background", i, "parent", "{\"busy\":true}"});
      ++calls;
      if (i % 64 == 0) std::this_thread::sleep_for(50us);
    }
  });
  int succeeded = 0;
  std::vector<std::string> failures;
  for (int round = 0; round < rounds; ++round) {
    std::this_thread::sleep_for(20ms);
    const pid_t pid = ::fork();
    if (pid == -1) {
      failures.push_back("fork failed");
      break;
    }
    if (pid == 0) {
      int code = kOk;
      if (!logger.log({"child", round, "child", ""}).ok()) code = kNotAdmitted;
      if (code == kOk && !logger.shutdown(2000ms)) code = kShutdownFailed;
      ::_exit(code);
    }
    // shutdown(2000ms) must return in about 2 s whatever happens; 10 s means it hung.
    const std::string failure = child_failure(wait_for_child(pid, 10s));
    if (failure.empty()) {
      ++succeeded;
    } else {
      failures.push_back("round " + std::to_string(round) + ": " + failure);
      if (failures.size() == 2) break;  // enough to show it; keeps a failing run short
    }
  }
  stop = true;
  producer.join();
  for (const std::string& f : failures) ADD_FAILURE() << f;

  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(evlog_test::accounted(logger.stats(), calls.load()));
  SqliteFile file(db);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE event_type = 'child'"),
            succeeded);
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events WHERE event_type = 'background'"),
            static_cast<std::int64_t>(logger.stats().written) - 1);
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
}

}  // namespace
