// pg_ctl restart and pg_terminate_backend during a stream: nothing lost, nothing twice (R5).
//
// Restarts the shared test server, so it runs alone (RUN_SERIAL).
#include <atomic>
#include <cstdlib>
#include <thread>

#include "pg_support.hpp"
#include "test_support.hpp"

namespace evlog_test {
namespace {

// pg_ctl restart -m fast while several threads log 100,000 events, and backends terminated
// every 50 ms: every event present exactly once afterwards (R5).
TEST(PostgresSink, RestartAndTerminatedBackendsLoseAndDuplicateNothing) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("restart");
  evlog::Options o;
  o.database = pg_uri(table);
  o.table = table;
  o.retry_initial = std::chrono::milliseconds(5);
  o.retry_max = std::chrono::milliseconds(200);
  o.on_warning = [](std::string_view) {};
  evlog::Logger logger(o);
  const int threads = 4;
  const int per_thread = static_cast<int>(scale(25000));
  std::atomic<int> running{threads};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        evlog::Result r;
        // Never drop: the test is about what the database does, not about a full queue.
        while ((r = logger.log({.type = "page_view",
                                .user_id = t * 1'000'000 + i,
                                .user_type = {},
                                .metadata = {}}))
                   .outcome == evlog::Outcome::dropped) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      --running;
    });
  }
  bool restarted = false;
  int terminations = 0;
  // Faults for the first seconds of the stream (a restart, then a terminated backend every
  // 50 ms), then the stream runs on to its end.
  const auto faults_until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() > faults_until) continue;
    if (!restarted) {
      // The server keeps logging to the file scripts/pg_server.sh gave it, so that a failed
      // restart says why (pg_ctl's own words, then the server's last lines).
      const std::string data = pg_env("EVLOG_TEST_PG_DATA");
      const std::string log = data + "/../server.log";
      const std::string out = data + "/../restart.out";
      const std::string cmd = "setpriv --reuid=postgres --regid=postgres --init-groups -- " +
                              pg_env("EVLOG_TEST_PG_BIN") + "/pg_ctl -D " + data + " -l " + log +
                              " -m fast -w restart >" + out + " 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        (void)std::system(("cat " + out + "; tail -n 40 " + log).c_str());
        FAIL() << "pg_ctl restart failed: its output and the server's last lines are above";
      }
      restarted = true;
      continue;
    }
    try {
      terminations += terminate_backends(table);
    } catch (const std::exception&) {
      // the server may still be starting up
    }
  }
  for (auto& w : workers) w.join();
  ASSERT_TRUE(logger.flush(120s)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  const long long total = static_cast<long long>(threads) * per_thread;
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(total) + s.dropped));
  EXPECT_GT(s.retries, 0u);
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), total);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), total);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT user_id) FROM " + table), total);
  RecordProperty("backends_terminated", terminations);
}

}  // namespace
}  // namespace evlog_test
