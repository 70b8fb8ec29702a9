// Committed delivery survives a crash: a child process that logs committed events is killed with
// SIGKILL right after calls return; every event acknowledged `committed` is in the file.
//
// This file forks and carries the `fork` label: the ThreadSanitizer run (which does not support
// threads started after fork()) leaves it to the other configurations.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include "test_support.hpp"

namespace evlog_test {
namespace {

using evlog::Outcome;

// A child logs committed events and reports each acknowledged one through a pipe; the parent
// kills it with SIGKILL at a random moment. Every acknowledged event must be in the file.
TEST(CommittedDelivery, AcknowledgedEventsSurviveSigkill) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  std::mt19937 rng(20261128);
  const int rounds = static_cast<int>(std::max<std::size_t>(5, scale(25)));
  std::set<int> acknowledged;
  for (int round = 0; round < rounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      evlog::Logger logger(committed_options(path));
      for (int i = 0;; ++i) {
        const int id = round * 1'000'000 + i;
        const std::string m = R"({"id":)" + std::to_string(id) + "}";
        if (logger.log({.type = "task_complete", .user_id = id, .user_type = {}, .metadata = m})
                .outcome == Outcome::committed) {
          if (::write(fds[1], &id, sizeof id) != sizeof id) ::_exit(3);
        }
      }
    }
    ::close(fds[1]);
    const int wanted = std::uniform_int_distribution<int>(1, 40)(rng);
    int id = 0;
    int got = 0;
    while (got < wanted && ::read(fds[0], &id, sizeof id) == sizeof id) {
      acknowledged.insert(id);
      ++got;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child should have been killed, status " << status;
    while (::read(fds[0], &id, sizeof id) == sizeof id) acknowledged.insert(id);
    ::close(fds[0]);
  }
  SqliteFile file(path);
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
  std::set<int> present;
  file.each("SELECT user_id FROM analytics_events", [&](const std::vector<Cell>& row) {
    present.insert(static_cast<int>(std::stoll(row[0].value())));
  });
  for (int id : acknowledged) {
    EXPECT_TRUE(present.contains(id)) << "acknowledged event " << id << " lost by SIGKILL";
  }
  EXPECT_EQ(file.scalar("SELECT count(*) FROM analytics_events"),
            file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"));
  EXPECT_GE(acknowledged.size(), static_cast<std::size_t>(rounds));
}

}  // namespace
}  // namespace evlog_test
