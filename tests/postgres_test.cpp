// The PostgreSQL sink against a real server: a stopped backend, older tables adopted (or refused),
// a re-sent batch, a unique index dropped while running, jsonb's refusals caught before a batch,
// secrets never shown.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pg_support.hpp"
#include "sinks/postgres/postgres_sink.hpp"
#include "test_support.hpp"

namespace evlog_test {
namespace {

evlog::Options pg_options(const std::string& table) {
  evlog::Options o;
  o.database = pg_uri(table);  // application_name = the table: this test's backends only
  o.table = table;
  o.retry_initial = std::chrono::milliseconds(5);
  o.retry_max = std::chrono::milliseconds(200);
  o.on_warning = [](std::string_view) {};
  return o;
}

// Logs one "warm" event with committed delivery, so that the table exists and the logger holds a
// backend (one a test may then stop) before the test proper; the callers count it as the one
// event beyond their n. Its user_id, -1, is outside the page_view events' 0..n-1 and not NULL, so
// count(DISTINCT user_id) counts it too; the callers' other counts (event ids, rows, page_view
// rows, user_id 500) do not depend on it.
::testing::AssertionResult commit_warm_up(evlog::Logger& logger) {
  const evlog::Result r = logger.log(
      {.type = "warm", .user_id = -1, .user_type = {}, .metadata = {}}, evlog::Delivery::committed);
  if (r.outcome != evlog::Outcome::committed) {
    return ::testing::AssertionFailure()
           << "warm-up event not committed: " << evlog::to_string(r.outcome) << " " << r.message;
  }
  return ::testing::AssertionSuccess();
}

// A backend stopped with SIGSTOP never answers: the client-side deadline turns that into a
// transient failure, the writer reconnects, and shutdown stays bounded (R6, R23).
TEST(PostgresSink, StoppedBackendCannotHangTheWriter) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("stopped");
  evlog::Logger logger(pg_options(table));
  ASSERT_TRUE(commit_warm_up(logger));
  std::vector<pid_t> stopped;
  for (const pid_t pid : backend_pids(table)) {
    if (::kill(pid, SIGSTOP) == 0) stopped.push_back(pid);
  }
  ASSERT_FALSE(stopped.empty());
  const int n = static_cast<int>(scale(500));
  for (int i = 0; i < n; ++i) {
    (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
  }
  // The stopped backend's connection times out (2 s), the writer reconnects to a new backend.
  const bool flushed = logger.flush(30s);
  for (pid_t pid : stopped) ::kill(pid, SIGCONT);
  ASSERT_TRUE(flushed) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_GT(s.retries, 0u);
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(n) + 1));
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), n + 1);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), n + 1);
}

// R23 on the server: with the logger's backend stopped (SIGSTOP) while the writer waits on it,
// shutdown(500 ms) returns within 1 s although a call's own deadline is at least 2 s (so R23's
// shutdown(2 s) within 2.5 s holds a fortiori): the call in progress gives up at the shutdown's
// deadline, and what is not written is spilled, to be replayed once the server answers (every
// event then once in the table).
TEST(PostgresSink, ShutdownKeepsItsDeadlineWithAStoppedBackend) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("shutdown");
  TempDir dir;
  evlog::Options options = pg_options(table);
  options.spill_dir = dir.file("spill");
  const int n = static_cast<int>(scale(500));
  std::vector<pid_t> stopped;
  {
    evlog::Logger logger(options);
    ASSERT_TRUE(commit_warm_up(logger));
    for (const pid_t pid : backend_pids(table)) {
      if (::kill(pid, SIGSTOP) == 0) stopped.push_back(pid);
    }
    ASSERT_FALSE(stopped.empty());
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}}).ok());
    }
    std::this_thread::sleep_for(150ms);  // the writer is inside a call to the stopped backend
    const auto t0 = std::chrono::steady_clock::now();
    (void)logger.shutdown(500ms);
    const auto took = std::chrono::steady_clock::now() - t0;
    for (pid_t pid : stopped) ::kill(pid, SIGCONT);
    EXPECT_LE(took, 1000ms) << "shutdown(500 ms) took "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                            << " ms";
    const evlog::Stats s = logger.stats();
    EXPECT_EQ(s.lost, 0u) << describe(s);
    EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(n) + 1));
  }
  const evlog::ReplayReport replay = evlog::replay_spill_directory(options, 30s);
  EXPECT_EQ(replay.files_left, 0u);
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT user_id) FROM " + table), n + 1);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), n + 1);
}

TEST(PostgresSink, AdoptsTheOlderTableShape) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("older");
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  db.exec("CREATE TABLE " + table +
          " (id bigserial PRIMARY KEY, event_type text NOT NULL, user_id bigint, user_type text, "
          "metadata jsonb, created_at timestamptz NOT NULL DEFAULT now())");
  db.exec("INSERT INTO " + table + " (event_type, user_id) VALUES ('login', 1), ('page_view', 2)");
  {
    evlog::Logger logger(pg_options(table));
    ASSERT_EQ(logger
                  .log({.type = "task_start", .user_id = 3, .user_type = {}, .metadata = {}},
                       evlog::Delivery::committed)
                  .outcome,
              evlog::Outcome::committed);
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), 3);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table + " WHERE event_id IS NULL"), 2);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = '" + table +
                      "' AND indexdef LIKE 'CREATE UNIQUE INDEX%event_id%'"),
            1);
}

// An older table that already has an index leading with (event_type, created_at), under a name
// of its own, gets no second one (it would only double the cost of every insert); a table with an
// event_id column but no unique index on it is refused, as exactly-once rests on that index, and
// its rows are left alone.
TEST(PostgresSink, AdoptsExistingIndexesAndRefusesAnEventIdWithoutAUniqueIndex) {
  EVLOG_REQUIRE_PG();
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  const std::string indexed = unique_table("indexed");
  db.exec(
      "CREATE TABLE " + indexed +
      " (id bigserial PRIMARY KEY, event_id uuid UNIQUE, event_type text NOT NULL, user_id "
      "bigint, user_type text, metadata jsonb, created_at timestamptz NOT NULL); CREATE INDEX " +
      indexed + "_by_type_and_time ON " + indexed + " (event_type, created_at, user_id)");
  {
    evlog::Logger logger(pg_options(indexed));
    ASSERT_TRUE(commit_warm_up(logger));  // adopted: a committed event lands
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + indexed), 1);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = '" + indexed + "'"), 3)
      << "expected the primary key, the unique event_id and _by_type_and_time only";

  const std::string plain = unique_table("plain_event_id");
  db.exec("CREATE TABLE " + plain +
          " (id bigserial PRIMARY KEY, event_id uuid, event_type text NOT NULL, user_id bigint, "
          "user_type text, metadata jsonb, created_at timestamptz NOT NULL); INSERT INTO " +
          plain + " (event_type, created_at) VALUES ('keep me', now())");
  try {
    evlog::Logger logger(pg_options(plain));
    FAIL() << "a table whose event_id has no unique index was accepted";
  } catch (const evlog::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(plain), std::string::npos) << message;
    EXPECT_NE(message.find("unique index"), std::string::npos) << message;
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + plain + " WHERE event_type = 'keep me'"), 1);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = '" + plain + "'"), 1);
}

// The unique index on event_id is dropped while the logger runs, and its connection is lost. A
// COPY could now duplicate a re-sent batch, so the writer must not write at all: the table is
// checked again on the new connection, the events wait (retried, counted as queued) with a
// warning naming the index, and once the index is back they land, once each.
TEST(PostgresSink, AUniqueIndexDroppedWhileRunningStopsWritesUntilItIsBack) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("dropped_index");
  std::mutex mu;
  std::vector<std::string> warnings;
  evlog::Options options = pg_options(table);
  options.on_warning = [&](std::string_view w) {
    std::lock_guard lock(mu);
    warnings.emplace_back(w);
  };
  evlog::Logger logger(options);
  ASSERT_TRUE(commit_warm_up(logger));
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  db.exec("ALTER TABLE " + table + " DROP CONSTRAINT " + table + "_event_id_key");
  ASSERT_GT(terminate_backends(table), 0);
  constexpr int kEvents = 50;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(
        logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}}).ok());
  }
  EXPECT_FALSE(logger.flush(std::chrono::milliseconds(1500)));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table + " WHERE event_type = 'page_view'"), 0);
  {
    std::lock_guard lock(mu);
    const bool named = std::any_of(warnings.begin(), warnings.end(), [](const std::string& w) {
      return w.find("unique index") != std::string::npos;
    });
    EXPECT_TRUE(named) << "no warning names the missing unique index";
  }
  db.exec("CREATE UNIQUE INDEX ON " + table + " (event_id)");
  ASSERT_TRUE(logger.flush(30s)) << describe(logger.stats());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table + " WHERE event_type = 'page_view'"),
            kEvents);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), kEvents + 1);
  EXPECT_TRUE(accounted(logger.stats(), kEvents + 1));
}

// The built-in PostgreSQL sink, with its connection killed right after a batch is sent and
// before its answer, while the writer takes and formats its next batch (Sink::while_waiting).
class KilledWhileWaiting : public evlog::Sink {
 public:
  KilledWhileWaiting(const std::string& table, std::atomic<int>& kills)
      : table_(table),
        kills_(kills),
        inner_(pg_uri(table), table, std::chrono::milliseconds(2000)) {}
  evlog::SinkStatus open() override { return inner_.open(); }
  evlog::SinkStatus write(std::span<const evlog::Row> rows) override {
    inner_.set_while_waiting([this] {
      // Every third batch, up to five times: the batch is on the wire, its outcome unknown.
      if (++writes_ % 3 == 0 && kills_.load() < 5) kills_ += terminate_backends(table_);
      while_waiting();  // the writer's own work: the next batch, taken and formatted meanwhile
    });
    return inner_.write(rows);
  }
  std::string describe() const override { return inner_.describe(); }
  void give_up_at(std::chrono::steady_clock::time_point deadline) noexcept override {
    inner_.give_up_at(deadline);
  }

 private:
  std::string table_;
  std::atomic<int>& kills_;
  evlog::detail::PostgresSink inner_;
  int writes_ = 0;
};

// Killed while one batch is sent and the next is built: the sent batch is re-sent on a new
// connection (COPY, or the statement that skips rows already there), the prefetched one follows,
// and every event lands exactly once.
TEST(PostgresSink, ConnectionKilledWhileTheNextBatchIsBuiltLosesAndRepeatsNothing) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("killed_while_waiting");
  std::atomic<int> kills{0};
  evlog::Options options = pg_options(table);
  options.max_batch = 512;
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 10s;
  options.retry_max = 50ms;
  options.on_warning = [](std::string_view) {};
  options.make_sink = [&] { return std::make_unique<KilledWhileWaiting>(table, kills); };
  evlog::Logger logger(options);
  const int events = 20000;  // not scaled: 40 batches of 512 at least, for five kills
  for (int i = 0; i < events; ++i) {
    ASSERT_TRUE(
        logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}}).ok());
  }
  ASSERT_TRUE(logger.flush(60s)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_GE(kills.load(), 3) << "the connection was not killed mid-batch";
  EXPECT_GE(s.retries, 3u);
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), events);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), events);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT user_id) FROM " + table), events);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(events));
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(events)));
}

// Under steady load the writer takes its next batch while each one commits, so there is rarely a
// moment when it holds nothing; a flush must still return once the events logged before it are
// written, not wait for such a moment.
TEST(PostgresSink, FlushReturnsWhileTheWriterKeepsPrefetching) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("flush_under_load");
  evlog::Options options = pg_options(table);
  options.max_batch = 256;
  options.queue_capacity = 8192;  // each flush waits for at most this many events
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 10s;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0};
  std::thread producer([&] {
    for (std::int64_t i = 0; !stop.load(); ++i) {
      (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
      calls.fetch_add(1);  // back to back: the queue is never empty when the writer looks
    }
  });
  int flushed = 0;
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(100ms);  // the load under way, batches committing back to back
    if (logger.flush(10s)) ++flushed;
  }
  stop.store(true);
  producer.join();
  EXPECT_EQ(flushed, 5) << "flush waited for a moment without a prefetched batch";
  ASSERT_TRUE(logger.flush(30s));
  const evlog::Stats s = logger.stats();
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), static_cast<long long>(calls.load()));
  EXPECT_TRUE(accounted(s, calls.load()));
}

// A batch is written with COPY; one re-sent after its outcome was unknown holds rows already in
// the table, so COPY refuses it as a whole (SQLSTATE 23505, nothing committed) and the sink sends
// it again through the statement that skips them: the new rows land, none twice.
TEST(PostgresSink, ABatchPartlyInTheTableAddsOnlyTheRestOnce) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("resent");
  evlog::detail::PostgresSink sink(pg_uri(table), table, std::chrono::milliseconds(2000));
  ASSERT_TRUE(sink.open().ok());
  const std::string ids[] = {"01930000-0000-7000-8000-000000000001",
                             "01930000-0000-7000-8000-000000000002",
                             "01930000-0000-7000-8000-000000000003"};
  auto row = [](std::string_view id, std::int64_t user) {
    return evlog::Row{.event_id = id,
                      .type = "page_view",
                      .user_id = user,
                      .user_type = "student",
                      .metadata = R"({"path":"/tasks/3"})",
                      .created_at = "2026-12-02T10:00:00.000001Z"};
  };
  const std::vector<evlog::Row> first = {row(ids[0], 1), row(ids[1], 2)};
  const evlog::SinkStatus written = sink.write(first);
  ASSERT_TRUE(written.ok()) << written.message;
  const std::vector<evlog::Row> again = {row(ids[1], 2), row(ids[2], 3), row(ids[0], 1)};
  const evlog::SinkStatus resent = sink.write(again);
  ASSERT_TRUE(resent.ok()) << resent.message;
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), 3);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), 3);
  EXPECT_EQ(db.scalar("SELECT user_id FROM " + table + " WHERE event_id = '" + ids[2] + "'"), 3);
  // And the next fresh batch goes by COPY again.
  const std::string next = "01930000-0000-7000-8000-000000000004";
  const std::vector<evlog::Row> fresh = {row(next, 4)};
  ASSERT_TRUE(sink.write(fresh).ok());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), 4);

  // A batch of several megabytes whose first row is already there: the server refuses the COPY
  // while the rest is still being sent, and the client must finish sending before it hears so.
  std::vector<std::string> many_ids;
  for (int i = 0; i < 20000; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "01930000-0001-7000-8000-%012d", i);
    many_ids.emplace_back(id);
  }
  const std::string padding(100, 'x');
  const std::string metadata = R"({"pad":")" + padding + R"("})";
  std::vector<evlog::Row> large = {row(ids[0], 1)};
  for (const std::string& id : many_ids) {
    evlog::Row r = row(id, 5);
    r.metadata = metadata;
    large.push_back(r);
  }
  const evlog::SinkStatus big = sink.write(large);
  ASSERT_TRUE(big.ok()) << big.message;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), 4 + 20000);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM " + table), 4 + 20000);
}

TEST(PostgresSink, RejectsWhatJsonbWouldRefuseAndKeepsNeighbours) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("jsonb");
  evlog::Logger logger(pg_options(table));
  (void)logger.log({.type = "page_view", .user_id = 1, .user_type = {}, .metadata = R"({"a":1})"});
  const evlog::Result bad = logger.log(
      {.type = "page_view", .user_id = 2, .user_type = {}, .metadata = R"({"a":"\u0000"})"});
  (void)logger.log({.type = "page_view", .user_id = 3, .user_type = {}, .metadata = R"({"a":3})"});
  EXPECT_EQ(bad.outcome, evlog::Outcome::rejected);
  EXPECT_TRUE(names_field(bad.message, "metadata")) << bad.message;
  ASSERT_TRUE(logger.flush(30s));
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table), 2);
  EXPECT_TRUE(accounted(logger.stats(), 3));
}

// R20 on the server: a CHECK constraint refuses one event of a batch of 1,000. The batch is split
// to isolate it (SQLSTATE 23514 is a refusal of that row's data, not a failure to retry); it goes
// to the dead-letter file with the server's message, and the other 999 are written.
TEST(PostgresSink, ACheckConstraintRefusingOneEventDeadLettersItAlone) {
  EVLOG_REQUIRE_PG();
  const std::string table = unique_table("check");
  TempDir dir;
  evlog::Options options = pg_options(table);
  options.spill_dir = dir.file("spill");
  evlog::Logger logger(options);
  ASSERT_TRUE(commit_warm_up(logger));
  PgConnection db(pg_env("EVLOG_TEST_PG"));
  db.exec("ALTER TABLE " + table + " ADD CONSTRAINT no_500 CHECK (user_id IS DISTINCT FROM 500)");
  constexpr int kEvents = 1000;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(
        logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}}).ok());
  }
  ASSERT_TRUE(logger.flush(30s)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.dead_lettered, 1u) << describe(s);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(kEvents));  // 999 and the warm-up event
  EXPECT_TRUE(accounted(s, kEvents + 1));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table + " WHERE event_type = 'page_view'"),
            kEvents - 1);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table + " WHERE user_id = 500"), 0);
  std::ifstream in(options.spill_dir + "/dead-letters.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line)) << "no dead letter on disk";
  EXPECT_NE(line.find("\"user_id\":500"), std::string::npos) << line;
  EXPECT_NE(line.find("no_500"), std::string::npos) << "the server's reason is missing: " << line;
  EXPECT_FALSE(std::getline(in, line)) << "more than one dead letter: " << line;
}

// R22: a password in the connection string never reaches a message, a warning, an exception or
// a metric, whichever way it is written.
TEST(PostgresSink, PasswordsNeverAppearInMessages) {
  const std::string marker = "Sekr1tMarker";
  const std::vector<std::string> unreachable = {
      "postgresql://app:" + marker + "@127.0.0.1:1/evlog",
      "postgresql://app@127.0.0.1:1/evlog?password=" + marker,
      "postgresql:host=127.0.0.1 port=1 dbname=evlog user=app password=" + marker,
  };
  for (const std::string& dsn : unreachable) {
    WarningCollector warnings;
    evlog::Options o;
    o.database = dsn;
    o.retry_initial = std::chrono::milliseconds(5);
    o.retry_max = std::chrono::milliseconds(20);
    o.on_warning = warnings.sink();
    evlog::Logger logger(o);  // an unreachable server is transient: no exception
    (void)logger.log({.type = "page_view", .user_id = 1, .user_type = {}, .metadata = {}});
    ASSERT_TRUE(wait_until([&] { return logger.stats().retries > 0; }, 20s));
    const evlog::Stats s = logger.stats();
    EXPECT_FALSE(s.last_error.empty());
    EXPECT_EQ(s.last_error.find(marker), std::string::npos) << s.last_error;
    logger.shutdown(std::chrono::milliseconds(100));
    const std::vector<std::string> lines = warnings.lines();
    EXPECT_FALSE(lines.empty());
    for (const std::string& w : lines) EXPECT_EQ(w.find(marker), std::string::npos) << w;
  }
  // A string libpq cannot parse: the exception does not quote it.
  evlog::Options bad;
  bad.database = "postgresql:host=127.0.0.1 password=" + marker + " 'unterminated";
  try {
    evlog::Logger logger(bad);
    ADD_FAILURE() << "an unparsable connection string must throw";
  } catch (const evlog::Error& e) {
    EXPECT_EQ(std::string(e.what()).find(marker), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace evlog_test
