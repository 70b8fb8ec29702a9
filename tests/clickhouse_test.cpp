// The ClickHouse sink against real servers (Debian's clickhouse-server, started per test by
// scripts/clickhouse_server.sh): one server, and a two-shard replicated cluster behind a
// Distributed table. What a user relies on: every value round-trips, every event lands once
// (counted with FINAL) through a restart, a cut connection, a shard outage and a SIGKILL; a table
// of the wrong shape is refused with its fault named; the accounting balances; shutdown keeps its
// deadline against a server that stopped answering.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "ch_support.hpp"
#include "sinks/clickhouse/clickhouse_sink.hpp"

namespace evlog_test {
namespace {

using evlog::detail::parse_clickhouse_uri;

std::string refusal(const std::string& uri) {
  try {
    (void)parse_clickhouse_uri(uri);
  } catch (const evlog::Error& e) {
    return e.what();
  }
  return "";
}

TEST(ClickHouseUri, TheFormsAUserWrites) {
  auto t = parse_clickhouse_uri("clickhouse://analytics@ch1.internal:8123/classroom");
  EXPECT_EQ(t.user, "analytics");
  EXPECT_EQ(t.host, "ch1.internal");
  EXPECT_EQ(t.port, 8123u);
  EXPECT_EQ(t.database, "classroom");
  EXPECT_EQ(t.cluster, "");
  t = parse_clickhouse_uri(
      "clickhouse://analytics:s%40cret@ch1.internal:8123/classroom?cluster=events");
  EXPECT_EQ(t.password, "s@cret");
  EXPECT_EQ(t.cluster, "events");
  EXPECT_EQ(t.display, "clickhouse://analytics@ch1.internal:8123/classroom?cluster=events");
  t = parse_clickhouse_uri("clickhouse://ch1");
  EXPECT_EQ(t.user, "default");
  EXPECT_EQ(t.port, 8123u);
  EXPECT_EQ(t.database, "default");
}

TEST(ClickHouseUri, RefusalsNameTheFieldAndNeverThePassword) {
  EXPECT_TRUE(names_field(refusal("clickhouse://u:pw1234@h:99999/db"), "port"));
  EXPECT_TRUE(names_field(refusal("clickhouse://u:pw1234@h/bad-name"), "database"));
  EXPECT_TRUE(names_field(refusal("clickhouse://u:pw1234@h/db?cluster=a;b"), "cluster"));
  EXPECT_TRUE(names_field(refusal("clickhouse://u:pw1234@h/db?compress=1"), "compress"));
  EXPECT_TRUE(names_field(refusal("clickhouse://:8123/db"), "host"))
      << refusal("clickhouse://:8123/db");
  for (const char* uri : {"clickhouse://u:pw1234@h:99999/db", "clickhouse://u:pw1234@h/bad-name",
                          "clickhouse://u:pw1234@h/db?compress=1"}) {
    const std::string message = refusal(uri);
    EXPECT_NE(message, "") << uri;
    EXPECT_EQ(message.find("pw1234"), std::string::npos) << message;
  }
}

// Checked without a server, by the same check the Logger makes first.
TEST(ClickHouseUri, ValidateOptionsRefusesABadUriWithoutConnecting) {
  evlog::Options o;
  o.database = "clickhouse://analytics:pw1234@ch1.internal:8123/class-room";
  try {
    evlog::validate_options(o);
    ADD_FAILURE() << "a database name with '-' was accepted";
  } catch (const evlog::Error& e) {
    EXPECT_TRUE(names_field(e.what(), "database")) << e.what();
    EXPECT_EQ(std::string(e.what()).find("pw1234"), std::string::npos) << e.what();
  }
  o.database = "clickhouse://analytics:pw1234@ch1.internal:8123/classroom?cluster=events";
  EXPECT_NO_THROW(evlog::validate_options(o));
}

evlog::Options ch_options(const std::string& uri, const std::string& table) {
  evlog::Options o;
  o.database = uri;
  o.table = table;
  o.on_warning = [](std::string_view) {};
  o.retry_initial = 5ms;
  o.retry_max = 100ms;
  return o;
}

long long final_count(const std::string& http, const std::string& table) {
  return ch_scalar(http, "SELECT count() FROM " + table + " FINAL");
}
long long distinct_ids(const std::string& http, const std::string& table) {
  return ch_scalar(http, "SELECT uniqExact(event_id) FROM " + table);
}

TEST(ClickHouse, CreatesItsTableAndEveryValueRoundTripsExactly) {
  ChServer server;
  evlog::Logger logger(ch_options(server.uri(), "analytics_events"));
  EXPECT_EQ(logger.stats().last_error, "");
  // TabSeparated's escapes (backslash, tab, newline, \N), quotes and SQL, UTF-8, and metadata of
  // 60 KiB.
  const std::string user_type = "'; DROP TABLE analytics_events;-- \"q\" \\ \\N \\t \t\n\r 😀";
  const std::string metadata = std::string(R"({"quote":"it's \"x\"",)") + "\t\n\r" +
                               R"("bs":"\\N\\t","emoji":"😀","pad":")" + std::string(60000, 'x') +
                               R"("})";
  ASSERT_EQ(logger
                .log({.type = "quiz_attempt",
                      .user_id = -9007199254740993LL,
                      .user_type = user_type,
                      .metadata = metadata},
                     evlog::Delivery::committed)
                .outcome,
            evlog::Outcome::committed);
  ASSERT_EQ(logger
                .log({.type = "page_view", .user_id = {}, .user_type = {}, .metadata = {}},
                     evlog::Delivery::committed)
                .outcome,
            evlog::Outcome::committed);
  const std::string http = server.http();
  const std::string q = "SELECT %s FROM analytics_events WHERE event_type = 'quiz_attempt'";
  const auto value = [&](const std::string& column) {
    std::string sql = q;
    sql.replace(sql.find("%s"), 2, column);
    return ch_value(http, sql);
  };
  EXPECT_EQ(value("user_type"), user_type);
  EXPECT_EQ(value("metadata"), metadata);
  EXPECT_EQ(value("user_id"), "-9007199254740993");
  EXPECT_EQ(ch_value(http,
                     "SELECT concat(toString(isNull(user_id)), toString(isNull(user_type)), "
                     "toString(isNull(metadata))) FROM analytics_events WHERE event_type = "
                     "'page_view'"),
            "111");
  // created_at: whole seconds in UTC, created_at_us the microseconds within them; the event's
  // time as evlog gave it (its UUIDv7 carries the same instant, to the millisecond).
  const std::string id = value("toString(event_id)");
  ASSERT_TRUE(is_uuid_v7(id)) << id;
  const long long micros =
      std::stoll(value("toUInt64(toUnixTimestamp(created_at)) * 1000000 + created_at_us"));
  EXPECT_EQ(micros / 1000, uuid_unix_ms(id));
  EXPECT_EQ(value("toTypeName(created_at)"), "DateTime('UTC')");
  EXPECT_EQ(ch_value(http, "SELECT engine FROM system.tables WHERE name = 'analytics_events'"),
            "ReplacingMergeTree");
}

// What constructing a Logger on `table` throws ("" when it does not).
std::string refusal_of(const std::string& uri, const std::string& table) {
  try {
    evlog::Logger logger(ch_options(uri, table));
  } catch (const evlog::Error& e) {
    return e.what();
  }
  return "";
}

TEST(ClickHouse, ATableOfAnotherShapeIsRefusedWithItsFaultNamed) {
  ChServer server;
  const std::string http = server.http();
  const std::string columns =
      "(event_id UUID, event_type String, user_id Nullable(Int64), user_type Nullable(String), "
      "metadata Nullable(String), created_at DateTime('UTC')";
  // A plain MergeTree keeps a re-sent row twice: refused, naming the engine.
  ch_query(http, "CREATE TABLE plain " + columns +
                     ", created_at_us UInt32) ENGINE = MergeTree ORDER BY (event_type, event_id)");
  EXPECT_NE(refusal_of(server.uri(), "plain").find("not ReplacingMergeTree"), std::string::npos)
      << refusal_of(server.uri(), "plain");
  // A column missing.
  ch_query(http, "CREATE TABLE short " + columns +
                     ") ENGINE = ReplacingMergeTree ORDER BY (event_type, event_id)");
  EXPECT_NE(refusal_of(server.uri(), "short").find("no column 'created_at_us'"), std::string::npos)
      << refusal_of(server.uri(), "short");
  // A sorting key that does not end with event_id: duplicates would not collapse.
  ch_query(http, "CREATE TABLE keyed " + columns +
                     ", created_at_us UInt32) ENGINE = ReplacingMergeTree ORDER BY (event_id, "
                     "event_type)");
  EXPECT_NE(refusal_of(server.uri(), "keyed").find("does not end with event_id"), std::string::npos)
      << refusal_of(server.uri(), "keyed");
  // A column of another type.
  ch_query(http, "CREATE TABLE typed " + columns +
                     ", created_at_us UInt64) ENGINE = ReplacingMergeTree ORDER BY (event_type, "
                     "event_id)");
  EXPECT_NE(refusal_of(server.uri(), "typed").find("'created_at_us' is UInt64, not UInt32"),
            std::string::npos)
      << refusal_of(server.uri(), "typed");
}

// A value the table refuses (throwIf in a column's expression: older servers know no
// CONSTRAINT) is dead-lettered alone, and its neighbours are written.
TEST(ClickHouse, ARowTheTableRefusesIsDeadLetteredAlone) {
  ChServer server;
  ch_query(server.http(),
           "CREATE TABLE guarded (event_id UUID, event_type String, user_id Nullable(Int64), "
           "user_type Nullable(String), metadata Nullable(String), created_at DateTime('UTC'), "
           "created_at_us UInt32, guard UInt8 MATERIALIZED throwIf(user_id = 13)) ENGINE = "
           "ReplacingMergeTree ORDER BY (event_type, created_at, event_id)");
  TempDir spill;
  evlog::Options o = ch_options(server.uri(), "guarded");
  o.spill_dir = spill.path().string();
  o.max_delay = 5s;  // the 1,000 events go in one batch
  evlog::Logger logger(o);
  for (int i = 0; i < 1000; ++i) (void)logger.log({"page_view", i, "", ""});
  ASSERT_TRUE(logger.flush(60s)) << describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, 1000));
  EXPECT_EQ(s.dead_lettered, 1u);
  EXPECT_EQ(s.written, 999u);
  EXPECT_EQ(final_count(server.http(), "guarded"), 999);
  EXPECT_EQ(ch_scalar(server.http(), "SELECT count() FROM guarded WHERE user_id = 13"), 0);
  std::ifstream letters(spill.file("dead-letters.jsonl"));
  const std::string line((std::istreambuf_iterator<char>(letters)), {});
  EXPECT_NE(line.find("\"user_id\":13"), std::string::npos) << line;
  EXPECT_NE(line.find("throwIf"), std::string::npos) << line;
}

// A password is sent as basic authentication and masked from every message.
TEST(ClickHouse, APasswordNeverAppearsInAMessage) {
  ChServer server;
  std::string uri = server.uri();
  uri.replace(uri.find("default@"), 8, "default:s3cret-pw@");
  WarningCollector warnings;
  evlog::Options o = ch_options(uri, "secret");
  o.on_warning = warnings.sink();
  evlog::Logger logger(o);  // the server refuses the password: a transient failure, retried
  (void)logger.log({"page_view", 1, "", ""});
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries >= 2; }, 30s));
  const evlog::Stats s = logger.stats();
  EXPECT_NE(s.last_error.find("Wrong password"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.last_error.find("s3cret-pw"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("clickhouse://default@127.0.0.1:"), std::string::npos);
  for (const std::string& line : warnings.lines()) {
    EXPECT_EQ(line.find("s3cret-pw"), std::string::npos) << line;
  }
  (void)logger.shutdown(100ms);
}

TEST(ClickHouse, TheServerStoppedMidLoadAndRestartedLosesNothing) {
  ChServer server;
  TempDir spill;
  evlog::Options o = ch_options(server.uri(), "restarted");
  o.spill_dir = spill.path().string();
  o.spill_after = 200ms;
  evlog::Logger logger(o);
  // About 5,000 events a second, before, during and after the outage.
  std::atomic<bool> stop{false};
  std::atomic<int> logged{0};
  std::thread producer([&] {
    for (int i = 0; !stop; ++i) {
      (void)logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = {}});
      logged = i + 1;
      if (i % 10 == 0) std::this_thread::sleep_for(2ms);
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop = true;
      thread.join();
    }
  } join{stop, producer};
  ASSERT_TRUE(wait_until([&] { return logger.stats().written > 1000; }, 30s));
  server.stop();
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled > 0; }, 30s))
      << describe(logger.stats());
  server.restart();
  const std::uint64_t written_at_restart = logger.stats().written;
  ASSERT_TRUE(wait_until([&] { return logger.stats().written > written_at_restart + 1000; }, 60s))
      << describe(logger.stats());
  stop = true;
  producer.join();
  producer = std::thread([] {});
  const int total = logged;
  ASSERT_TRUE(logger.flush(60s)) << describe(logger.stats());
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == 0; }, 60s));
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(total)));
  EXPECT_GT(s.retries, 0u);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(total));
  EXPECT_EQ(final_count(server.http(), "restarted"), total);
  EXPECT_EQ(distinct_ids(server.http(), "restarted"), total);
}

// The server committed a batch and the connection broke before its answer: the batch is sent
// again byte-identical, and it counts once. libcurl itself sends a request again, once, when a
// reused connection closes before any answer; the proxy cuts that repeat too, so the sink's own
// re-send is what lands in the end.
TEST(ClickHouse, ABatchWhoseAnswerWasCutIsResentIdenticalAndCountsOnce) {
  ChServer server;
  CuttingProxy proxy(port_of(server.http()));
  const std::string uri =
      "clickhouse://default@127.0.0.1:" + std::to_string(proxy.port()) + "/default";
  evlog::Logger logger(ch_options(uri, "cut"));
  const int batches = 5;
  int events = 0;
  for (int b = 0; b < batches; ++b) {
    if (b == 2) proxy.cut_next_inserts(2);
    for (int i = 0; i < 200; ++i) {
      (void)logger.log({.type = "page_view", .user_id = events++, .user_type = {}, .metadata = {}});
    }
    ASSERT_EQ(
        logger.log({"task_complete", events++, "student", ""}, evlog::Delivery::committed).outcome,
        evlog::Outcome::committed)
        << describe(logger.stats());
  }
  ASSERT_EQ(proxy.cuts(), 2);
  const std::vector<std::string> inserts = proxy.inserts();
  // The cut request, libcurl's repeat (cut too), then the sink's: three times the same bytes.
  std::size_t repeated = 0;
  for (std::size_t i = 0; i + 1 < inserts.size(); ++i) {
    if (inserts[i] == inserts[i + 1]) ++repeated;
  }
  EXPECT_EQ(repeated, 2u) << inserts.size() << " inserts";
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(events)));
  EXPECT_GE(s.retries, 1u);
  EXPECT_EQ(final_count(server.http(), "cut"), events);
  EXPECT_EQ(distinct_ids(server.http(), "cut"), events);
  // Both copies reached the server: without FINAL (before the parts merge) the row count is
  // higher, which is why the docs count with FINAL.
  EXPECT_GE(ch_scalar(server.http(), "SELECT count() FROM cut"), events);
}

// A SIGKILL of the app mid-load: every event it was told was committed is in the table.
TEST(ClickHouse, ASigkilledAppKeepsEveryCommittedEvent) {
  ChServer server;
  TempDir dir;
  const std::string acks = dir.file("acks");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    evlog::Logger logger(ch_options(server.uri(), "killed"));
    std::ofstream out(acks);
    for (int i = 0;; ++i) {
      (void)logger.log({"page_view", i, "", ""});
      if (i % 50 == 0 &&
          logger.log({"task_complete", i, "student", ""}, evlog::Delivery::committed).outcome ==
              evlog::Outcome::committed) {
        out << i << '\n' << std::flush;
      }
    }
  }
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(acks);
        return std::count(std::istreambuf_iterator<char>(in), {}, '\n') >= 20;
      },
      60s));
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  std::ifstream in(acks);
  std::vector<long long> acked;
  for (long long v; in >> v;) acked.push_back(v);
  ASSERT_GE(acked.size(), 20u);
  for (long long id : acked) {
    EXPECT_EQ(ch_scalar(server.http(),
                        "SELECT count() FROM killed FINAL WHERE event_type = "
                        "'task_complete' AND user_id = " +
                            std::to_string(id)),
              1)
        << "acknowledged event " << id;
  }
}

// A server that stops answering (SIGSTOP) cannot hold shutdown past its deadline.
TEST(ClickHouse, ShutdownKeepsItsDeadlineAgainstAServerThatStoppedAnswering) {
  ChServer server;
  evlog::Options o = ch_options(server.uri(), "frozen");
  o.db_timeout = 5000ms;  // one request may wait 5 s
  evlog::Logger logger(o);
  ASSERT_TRUE(prime(logger));
  server.freeze();
  for (int i = 0; i < 100; ++i) (void)logger.log({"page_view", i, "", ""});
  std::this_thread::sleep_for(300ms);  // the writer is now waiting on the frozen server
  const auto start = std::chrono::steady_clock::now();
  (void)logger.shutdown(500ms);
  const auto took = std::chrono::steady_clock::now() - start;
  server.thaw();
  EXPECT_LT(took, 2000ms);
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, 101));
  EXPECT_EQ(s.lost + s.written + s.spilled, 101u) << describe(s);
}

// --- a cluster: two shards, each a ReplicatedReplacingMergeTree, behind a Distributed table ---

// The local tables and the Distributed table, ON CLUSTER, as the docs give them.
void create_cluster_table(const std::string& http, const std::string& name) {
  ch_setup(http, "CREATE TABLE IF NOT EXISTS " + name +
                     "_local ON CLUSTER events (event_id UUID, event_type String, user_id "
                     "Nullable(Int64), user_type Nullable(String), metadata Nullable(String), "
                     "created_at DateTime('UTC'), created_at_us UInt32) ENGINE = "
                     "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/" +
                     name +
                     "_local', '{replica}') PARTITION BY toYYYYMM(created_at) ORDER BY "
                     "(event_type, created_at, event_id)");
  ch_setup(http, "CREATE TABLE IF NOT EXISTS " + name + " ON CLUSTER events AS " + name +
                     "_local ENGINE = Distributed(events, default, " + name +
                     "_local, cityHash64(toString(event_id)))");
}

TEST(ClickHouseCluster, EveryEventLandsOnceAcrossTheShardsAndThroughAShardOutage) {
  ChServer cluster(ChServer::Kind::cluster);
  create_cluster_table(cluster.http(1), "sharded");
  TempDir spill;
  evlog::Options o = ch_options(cluster.uri(), "sharded");
  o.spill_dir = spill.path().string();
  o.spill_after = 200ms;
  evlog::Logger logger(o);
  const int first = static_cast<int>(scale(4000));
  for (int i = 0; i < first; ++i) (void)logger.log({"page_view", i, "", ""});
  ASSERT_TRUE(logger.flush(30s)) << describe(logger.stats());
  // Acknowledged means on every shard it touched (insert_distributed_sync=1): exact at once.
  EXPECT_EQ(final_count(cluster.http(1), "sharded"), first);
  EXPECT_GT(ch_scalar(cluster.http(1), "SELECT count() FROM sharded_local"), 0);
  EXPECT_GT(ch_scalar(cluster.http(2), "SELECT count() FROM sharded_local"), 0);

  cluster.stop(2);
  const int second = static_cast<int>(scale(2000));
  for (int i = 0; i < second; ++i) (void)logger.log({"page_view", first + i, "", ""});
  ASSERT_TRUE(wait_until([&] { return logger.stats().retries > 0; }, 30s))
      << describe(logger.stats());
  cluster.restart(2);
  ASSERT_TRUE(logger.flush(60s)) << describe(logger.stats());
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == 0; }, 60s));
  const evlog::Stats s = logger.stats();
  EXPECT_TRUE(accounted(s, static_cast<std::uint64_t>(first + second)));
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(first + second));
  EXPECT_EQ(final_count(cluster.http(1), "sharded"), first + second);
  EXPECT_EQ(distinct_ids(cluster.http(1), "sharded"), first + second);
}

TEST(ClickHouseCluster, AMissingOrWrongTableIsRefusedWithWhatIsMissing) {
  ChServer cluster(ChServer::Kind::cluster);
  const auto refused = [&](const std::string& table) { return refusal_of(cluster.uri(), table); };
  EXPECT_NE(refused("absent").find("does not exist"), std::string::npos) << refused("absent");
  // The Distributed table over local tables that do not collapse duplicates.
  ch_setup(cluster.http(1),
           "CREATE TABLE IF NOT EXISTS plain_local ON CLUSTER events (event_id UUID, event_type "
           "String, user_id "
           "Nullable(Int64), user_type Nullable(String), metadata Nullable(String), created_at "
           "DateTime('UTC'), created_at_us UInt32) ENGINE = MergeTree ORDER BY (event_type, "
           "event_id)");
  ch_setup(cluster.http(1),
           "CREATE TABLE IF NOT EXISTS plain ON CLUSTER events AS plain_local ENGINE = "
           "Distributed(events, default, plain_local, rand())");
  EXPECT_NE(refused("plain").find("ReplicatedReplacingMergeTree"), std::string::npos)
      << refused("plain");
  // A local table missing on one shard.
  ch_setup(cluster.http(1),
           "CREATE TABLE IF NOT EXISTS half_local (event_id UUID, event_type String, user_id "
           "Nullable(Int64), "
           "user_type Nullable(String), metadata Nullable(String), created_at DateTime('UTC'), "
           "created_at_us UInt32) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/01/"
           "half_local', 'r1') ORDER BY (event_type, event_id)");
  ch_setup(cluster.http(1),
           "CREATE TABLE IF NOT EXISTS half AS half_local ENGINE = Distributed(events, "
           "default, half_local, rand())");
  EXPECT_NE(refused("half").find("missing on 1 of the cluster's 2 shards"), std::string::npos)
      << refused("half");
}

}  // namespace
}  // namespace evlog_test
