// The behaviour users rely on, against every sink (one parameterised suite, not a copy): the
// built-in SQLite, PostgreSQL and ClickHouse sinks, and a sink written as a user writes one
// (Options::make_sink, the public Sink interface only): accounting, committed delivery,
// exactly-once under faults, values round-tripping exactly, and fork().
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"
#if EVLOG_WITH_POSTGRES
#include "pg_support.hpp"
#endif
#if EVLOG_WITH_CLICKHOUSE
#include "ch_support.hpp"
#endif

namespace evlog_test {
namespace {

enum class Backend { sqlite, postgres, clickhouse, user };

std::string backend_name(const testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::sqlite:
      return "SQLite";
    case Backend::postgres:
      return "PostgreSQL";
    case Backend::clickhouse:
      return "ClickHouse";
    case Backend::user:
      return "UserSink";
  }
  return "unknown";
}

// A sink as a user writes one: its own SQLite connection, through the public Sink interface
// only, with the fork hooks such a connection needs (closed before fork(), forgotten in the
// child). Counts its hooks' calls, per process.
class UserSqliteSink : public evlog::Sink {
 public:
  static inline std::atomic<int> prepare_fork_calls{0};
  static inline std::atomic<int> abandon_calls{0};

  UserSqliteSink(std::string path, std::string table)
      : path_(std::move(path)), table_(std::move(table)) {}
  ~UserSqliteSink() override { close(); }

  evlog::SinkStatus open() override {
    if (db_ != nullptr) return evlog::SinkStatus::success();
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      return failure("open");
    }
    sqlite3_busy_timeout(db_, 50);
    if (!exec("PRAGMA journal_mode=WAL") ||
        !exec("CREATE TABLE IF NOT EXISTS " + table_ +
              " (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT "
              "NULL, user_id INTEGER, user_type TEXT, metadata TEXT, created_at TEXT NOT NULL)")) {
      return failure("create");
    }
    return evlog::SinkStatus::success();
  }

  evlog::SinkStatus write(std::span<const evlog::Row> rows) override {
    if (!exec("BEGIN IMMEDIATE")) return failure("begin");
    sqlite3_stmt* insert = nullptr;
    const std::string sql = "INSERT INTO " + table_ +
                            " (event_id, event_type, user_id, user_type, metadata, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &insert, nullptr) != SQLITE_OK) {
      return rollback("prepare");
    }
    const auto text = [&](int i, std::string_view v) {
      if (v.empty()) return sqlite3_bind_null(insert, i);
      return sqlite3_bind_text(insert, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    };
    for (const evlog::Row& r : rows) {
      text(1, r.event_id);
      text(2, r.type);
      if (r.user_id) {
        sqlite3_bind_int64(insert, 3, *r.user_id);
      } else {
        sqlite3_bind_null(insert, 3);
      }
      text(4, r.user_type);
      text(5, r.metadata);
      text(6, r.created_at);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        sqlite3_finalize(insert);
        return rollback("insert");
      }
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    if (!exec("COMMIT")) return rollback("commit");
    return evlog::SinkStatus::success();
  }

  std::string describe() const override { return "user-sqlite:" + path_; }

  void prepare_fork() noexcept override {
    ++prepare_fork_calls;
    close();  // SQLite's locks are per process: no connection may be open across fork()
  }
  void abandon() noexcept override {
    ++abandon_calls;
    db_ = nullptr;  // the parent's connection: never closed here
  }

 private:
  bool exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  evlog::SinkStatus rollback(const char* what) {
    evlog::SinkStatus status = failure(what);
    if (db_ != nullptr && !sqlite3_get_autocommit(db_)) exec("ROLLBACK");
    return status;
  }
  evlog::SinkStatus failure(const char* what) {
    std::string message = std::string("user sink: ") + what + ": " +
                          (db_ != nullptr ? sqlite3_errmsg(db_) : "no connection");
    if (db_ != nullptr && sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_CHECK) {
      return evlog::SinkStatus::refused_batch(std::move(message));
    }
    if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) exec("ROLLBACK");
    close();  // the next open() starts afresh
    return evlog::SinkStatus::transient_error(std::move(message));
  }
  void close() noexcept {
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }

  std::string path_;
  std::string table_;
  sqlite3* db_ = nullptr;
};

class SinkBehaviour : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
#if EVLOG_WITH_POSTGRES
    if (GetParam() == Backend::postgres) {
      EVLOG_REQUIRE_PG();
      table_ = unique_table("behaviour");
      app_ = table_;
      return;
    }
#endif
#if EVLOG_WITH_CLICKHOUSE
    if (GetParam() == Backend::clickhouse) {
      // A server of its own, reached through a relay that fault() cuts.
      ch_ = std::make_unique<ChServer>();
      proxy_ = std::make_unique<CuttingProxy>(port_of(ch_->http()));
      return;
    }
#endif
    path_ = dir_.file("behaviour.db");
  }

  evlog::Options options() const {
    evlog::Options o;
    o.database = path_;
#if EVLOG_WITH_POSTGRES
    if (GetParam() == Backend::postgres) o.database = pg_uri(app_);
#endif
#if EVLOG_WITH_CLICKHOUSE
    if (GetParam() == Backend::clickhouse) {
      o.database = "clickhouse://default@127.0.0.1:" + std::to_string(proxy_->port()) + "/default";
    }
#endif
    if (GetParam() == Backend::user) {
      o.make_sink = [path = path_, table = table_] {
        return std::make_unique<UserSqliteSink>(path, table);
      };
    }
    o.table = table_;
    o.on_warning = [](std::string_view) {};
    return o;
  }

  long long scalar(const std::string& sql) {
#if EVLOG_WITH_POSTGRES
    if (GetParam() == Backend::postgres) return PgConnection(pg_env("EVLOG_TEST_PG")).scalar(sql);
#endif
    return SqliteFile(path_).scalar(sql);
  }
  long long rows(const std::string& where = "TRUE") {
#if EVLOG_WITH_CLICKHOUSE
    // FINAL: a row that landed twice (a batch re-sent after a cut) counts once.
    if (GetParam() == Backend::clickhouse) {
      return ch_scalar(ch_->http(), "SELECT count() FROM " + table_ + " FINAL WHERE " +
                                        (where == "TRUE" ? "1" : where));
    }
#endif
    return scalar("SELECT count(*) FROM " + table_ + " WHERE " + where);
  }
  long long distinct_ids() {
#if EVLOG_WITH_CLICKHOUSE
    if (GetParam() == Backend::clickhouse) {
      return ch_scalar(ch_->http(), "SELECT uniqExact(event_id) FROM " + table_);
    }
#endif
    return scalar("SELECT count(DISTINCT event_id) FROM " + table_);
  }
  std::string text(const std::string& sql) {
#if EVLOG_WITH_CLICKHOUSE
    if (GetParam() == Backend::clickhouse) return ch_value(ch_->http(), sql);
#endif
#if EVLOG_WITH_POSTGRES
    if (GetParam() == Backend::postgres) {
      return PgConnection(pg_env("EVLOG_TEST_PG")).query(sql).at(0).at(0);
    }
#endif
    return SqliteFile(path_).text(sql);
  }

  // Interrupts the writer's database for a while: another connection holds SQLite's write lock;
  // PostgreSQL's evlog backends are terminated (the connection is lost mid-stream); ClickHouse's
  // connections are cut at the relay, whatever is in flight.
  void fault() {
#if EVLOG_WITH_CLICKHOUSE
    if (GetParam() == Backend::clickhouse) {
      proxy_->cut_all();
      return;
    }
#endif
#if EVLOG_WITH_POSTGRES
    if (GetParam() == Backend::postgres) {
      terminate_backends(app_);
      return;
    }
#endif
    {
      SqliteWriteLock lock(path_);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }

  TempDir dir_;
  std::string path_;
  std::string table_ = "analytics_events";
  std::string app_;
#if EVLOG_WITH_CLICKHOUSE
  std::unique_ptr<ChServer> ch_;
  std::unique_ptr<CuttingProxy> proxy_;
#endif
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
  if (GetParam() != Backend::postgres) {
    EXPECT_EQ(text("SELECT metadata FROM " + table_), metadata);  // byte-exact text
  } else {
    // jsonb normalises layout; the values are what was logged.
    EXPECT_EQ(text("SELECT metadata->>'quote' FROM " + table_), "it's \"x\"");
    EXPECT_EQ(text("SELECT metadata->>'emoji' FROM " + table_), "😀");
    EXPECT_EQ(text("SELECT metadata->>'bs' FROM " + table_), "\\N\\.");
    EXPECT_EQ(text("SELECT metadata->'nested'->'a'->>2 FROM " + table_), R"({"b": null})");
  }
}

// A logger made before fork() works in both processes: the child never writes its parent's
// queued events, each side's rows land once, and a user's sink gets its hooks: prepare_fork()
// in the parent, abandon() in the child.
TEST_P(SinkBehaviour, ForkedChildWritesItsOwnEventsOnce) {
  evlog::Options o = options();
  o.max_delay = 10s;  // the parent's events are still queued when it forks
  evlog::Logger logger(o);
  ASSERT_EQ(logger.log({"prime", {}, "", ""}, evlog::Delivery::committed).outcome,
            evlog::Outcome::committed);  // the table exists before the child opens it
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(logger.log({"parent", i, "", ""}).outcome, evlog::Outcome::queued);
  }
  const int prepared_before = UserSqliteSink::prepare_fork_calls;
  const int abandoned_before = UserSqliteSink::abandon_calls;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int ok = 0;
    for (int i = 0; i < 50; ++i) ok += logger.log({"child", 1000 + i, "", ""}).ok() ? 1 : 0;
    const bool clean = logger.shutdown(30s);
    const bool hooks =
        GetParam() != Backend::user || UserSqliteSink::abandon_calls == abandoned_before + 1;
    const evlog::Stats s = logger.stats();
    ::_exit(ok == 50 && clean && hooks && s.written == 50 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child failed its checks";
  if (GetParam() == Backend::user) {
    EXPECT_EQ(UserSqliteSink::prepare_fork_calls, prepared_before + 1);
  }
  ASSERT_TRUE(logger.flush(30s));
  EXPECT_EQ(logger.stats().written, 101u);
  EXPECT_EQ(rows("event_type = 'parent'"), 100);
  EXPECT_EQ(rows("event_type = 'child'"), 50);
  EXPECT_EQ(distinct_ids(), 151);
}

// The built-in sinks this build has, and a user's.
std::vector<Backend> every_sink() {
  std::vector<Backend> sinks{Backend::sqlite};
#if EVLOG_WITH_POSTGRES
  sinks.push_back(Backend::postgres);
#endif
#if EVLOG_WITH_CLICKHOUSE
  sinks.push_back(Backend::clickhouse);
#endif
  sinks.push_back(Backend::user);
  return sinks;
}

INSTANTIATE_TEST_SUITE_P(EverySink, SinkBehaviour, testing::ValuesIn(every_sink()), backend_name);

}  // namespace
}  // namespace evlog_test
