// The behaviour users rely on, against both sinks (one parameterised suite, not a copy):
// accounting, committed delivery, exactly-once under faults, and values round-tripping exactly.
#include <atomic>
#include <thread>

#include "pg_support.hpp"
#include "test_support.hpp"

namespace evlog_test {
namespace {

enum class Backend { sqlite, postgres };

std::string backend_name(const testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "SQLite" : "PostgreSQL";
}

class SinkBehaviour : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::postgres) {
      EVLOG_REQUIRE_PG();
      table_ = unique_table("behaviour");
      app_ = table_;
    } else {
      path_ = dir_.file("behaviour.db");
    }
  }

  evlog::Options options() const {
    evlog::Options o;
    o.database = GetParam() == Backend::postgres ? pg_uri(app_) : path_;
    o.table = table_;
    o.on_warning = [](std::string_view) {};
    return o;
  }

  long long rows(const std::string& where = "TRUE") {
    const std::string sql = "SELECT count(*) FROM " + table_ + " WHERE " + where;
    if (GetParam() == Backend::postgres) return PgConnection(pg_env("EVLOG_TEST_PG")).scalar(sql);
    return SqliteFile(path_).scalar(sql);
  }
  long long distinct_ids() {
    const std::string sql = "SELECT count(DISTINCT event_id) FROM " + table_;
    if (GetParam() == Backend::postgres) return PgConnection(pg_env("EVLOG_TEST_PG")).scalar(sql);
    return SqliteFile(path_).scalar(sql);
  }
  std::string text(const std::string& sql) {
    if (GetParam() == Backend::postgres) {
      return PgConnection(pg_env("EVLOG_TEST_PG")).query(sql).at(0).at(0);
    }
    return SqliteFile(path_).text(sql);
  }

  // Interrupts the writer's database for a while: another connection holds SQLite's write lock;
  // PostgreSQL's evlog backends are terminated (the connection is lost mid-stream).
  void fault() {
    if (GetParam() == Backend::postgres) {
      terminate_backends(app_);
    } else {
      SqliteWriteLock lock(path_);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }

  TempDir dir_;
  std::string path_;
  std::string table_ = "analytics_events";
  std::string app_;
};

TEST_P(SinkBehaviour, AccountingBalancesAndEveryEventLandsOnce) {
  evlog::Logger logger(options());
  const int threads = 4;
  const int per_thread = static_cast<int>(scale(5000));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        (void)logger.log({.type = "page_view",
                          .user_id = t,
                          .user_type = "student",
                          .metadata = R"({"path":"/tasks/3"})"});
      }
    });
  }
  (void)logger.log({.type = "bad type", .user_id = {}, .user_type = {}, .metadata = {}});
  for (auto& w : workers) w.join();
  ASSERT_TRUE(logger.flush(30s));
  const evlog::Stats s = logger.stats();
  const std::uint64_t calls = static_cast<std::uint64_t>(threads) * per_thread + 1;
  EXPECT_TRUE(accounted(s, calls));
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(rows(), static_cast<long long>(s.written));
  EXPECT_EQ(distinct_ids(), static_cast<long long>(s.written));
}

TEST_P(SinkBehaviour, CommittedMeansVisibleToAnotherConnection) {
  evlog::Logger logger(options());
  for (int i = 0; i < static_cast<int>(scale(50)); ++i) {
    const std::string m = R"({"n":)" + std::to_string(i) + "}";
    const evlog::Result r =
        logger.log({.type = "task_complete", .user_id = i, .user_type = "student", .metadata = m},
                   evlog::Delivery::committed);
    ASSERT_EQ(r.outcome, evlog::Outcome::committed) << r.message;
    ASSERT_EQ(rows("user_id = " + std::to_string(i)), 1) << "event " << i;
  }
}

TEST_P(SinkBehaviour, ExactlyOnceThroughFaults) {
  evlog::Options o = options();
  o.retry_initial = std::chrono::milliseconds(5);
  o.retry_max = std::chrono::milliseconds(50);
  evlog::Logger logger(o);
  std::atomic<bool> done{false};
  const int total = static_cast<int>(scale(20000));
  std::thread producer([&] {
    for (int i = 0; i < total; ++i) {
      (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
      if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    done = true;
  });
  int faults = 0;
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    fault();
    ++faults;
  }
  producer.join();
  ASSERT_TRUE(logger.flush(60s)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_GT(faults, 0);
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(total)));
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(rows(), total);
  EXPECT_EQ(distinct_ids(), total);
}

TEST_P(SinkBehaviour, ValuesRoundTripExactly) {
  evlog::Logger logger(options());
  // Quotes and SQL for the statement; tab, newline, carriage return and backslashes (\N, \.)
  // for COPY's text format, inside a value and between JSON tokens.
  const std::string user_type = "'; DROP TABLE analytics_events;-- \"q\" \\ \\N \\. \t\n\r 😀";
  const std::string metadata = std::string(R"({"quote":"it's \"x\"",)") + "\t\n\r" +
                               R"("bs":"\\N\\.","emoji":"😀","nested":{"a":[1,2,{"b":null}]}})";
  ASSERT_EQ(logger
                .log({.type = "quiz_attempt",
                      .user_id = -9007199254740993LL,
                      .user_type = user_type,
                      .metadata = metadata},
                     evlog::Delivery::committed)
                .outcome,
            evlog::Outcome::committed);
  EXPECT_EQ(text("SELECT user_type FROM " + table_), user_type);
  EXPECT_EQ(text("SELECT user_id FROM " + table_), "-9007199254740993");
  EXPECT_EQ(text("SELECT event_type FROM " + table_), "quiz_attempt");
  if (GetParam() == Backend::sqlite) {
    EXPECT_EQ(text("SELECT metadata FROM " + table_), metadata);  // byte-exact text
  } else {
    // jsonb normalises layout; the values are what was logged.
    EXPECT_EQ(text("SELECT metadata->>'quote' FROM " + table_), "it's \"x\"");
    EXPECT_EQ(text("SELECT metadata->>'emoji' FROM " + table_), "😀");
    EXPECT_EQ(text("SELECT metadata->>'bs' FROM " + table_), "\\N\\.");
    EXPECT_EQ(text("SELECT metadata->'nested'->'a'->>2 FROM " + table_), R"({"b": null})");
  }
}

INSTANTIATE_TEST_SUITE_P(BothSinks, SinkBehaviour,
                         testing::Values(Backend::sqlite, Backend::postgres), backend_name);

}  // namespace
}  // namespace evlog_test
