// Four processes log into one PostgreSQL table at once: every row present, none twice.
//
// Forks: labelled `fork`, so the ThreadSanitizer run (which does not support threads started
// after fork()) leaves it to the other configurations.
#include <sys/wait.h>
#include <unistd.h>

#include "pg_support.hpp"
#include "test_support.hpp"

namespace evlog_test {
namespace {

TEST(PostgresMultiProcess, FourProcessesShareOneTable) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("processes");
  const int processes = 4;
  const int per_process = static_cast<int>(scale(20000));
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      {
        evlog::Options o;
        o.database = pg_env("EVLOG_TEST_PG");
        o.table = table;
        o.on_full = evlog::OnFull::block;
        o.block_timeout = std::chrono::milliseconds(5000);
        o.on_warning = [](std::string_view) {};
        evlog::Logger logger(o);
        for (int i = 0; i < per_process; ++i) {
          if (!logger
                   .log({.type = "page_view",
                         .user_id = p * 1'000'000 + i,
                         .user_type = {},
                         .metadata = {}})
                   .ok()) {
            code = 3;
          }
        }
        if (!logger.shutdown(std::chrono::seconds(60)) ||
            logger.stats().written != static_cast<std::uint64_t>(per_process)) {
          code = 4;
        }
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), processes * per_process);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), processes * per_process);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT user_id) FROM " + table), processes * per_process);
}

}  // namespace
}  // namespace evlog_test
