// The SQLite sink, seen through the file it writes: the table's shape, WAL, a private file mode,
// adoption of the older table shape, clear errors for what cannot work, values bound (never
// spliced into SQL), a configurable table name, and batches inserted in groups of rows (one
// multi-row statement per 32 rows) with the same outcome as row by row.
#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "sinks/sqlite/sqlite_sink.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::accounted;
using evlog_test::count_rows;
using evlog_test::is_uuid_v7;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::read_rows;
using evlog_test::SqliteFile;
using evlog_test::TempDir;

struct Column {
  std::string type;
  bool not_null = false;
  bool primary_key = false;
};

std::map<std::string, Column> columns_of(const std::string& db, const std::string& table) {
  std::map<std::string, Column> columns;
  // table_info: cid, name, type, notnull, dflt_value, pk
  for (const auto& row : read_rows(db, "PRAGMA table_info(\"" + table + "\")")) {
    columns[*row[1]] = Column{evlog_test::lower(row[2].value_or("")), row[3] == "1", row[5] != "0"};
  }
  return columns;
}

// True when `table` has a UNIQUE index (or constraint) on exactly the column `column`.
bool has_unique_index_on(const std::string& db, const std::string& table,
                         const std::string& column) {
  // index_list: seq, name, unique, origin, partial
  for (const auto& index : read_rows(db, "PRAGMA index_list(\"" + table + "\")")) {
    if (index[2] != "1" || index[4] != "0") continue;
    const auto cols = read_rows(db, "PRAGMA index_info(\"" + *index[1] + "\")");
    if (cols.size() == 1 && cols[0][2] == column) return true;
  }
  return false;
}

void expect_current_shape(const std::string& db, const std::string& table) {
  const auto columns = columns_of(db, table);
  for (const char* name :
       {"id", "event_id", "event_type", "user_id", "user_type", "metadata", "created_at"}) {
    EXPECT_TRUE(columns.contains(name)) << "column " << name << " missing from " << table;
  }
  EXPECT_TRUE(columns.at("id").primary_key);
  EXPECT_EQ(columns.at("id").type, "integer");
  EXPECT_EQ(columns.at("user_id").type, "integer");
  EXPECT_TRUE(has_unique_index_on(db, table, "event_id")) << "event_id is not unique in " << table;
}

// A new file gets the documented table: id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,
// event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT, metadata TEXT, created_at TEXT NOT
// NULL; the file is in WAL mode.
TEST(SqliteSink, CreatesTheDocumentedTableInWalMode) {
  TempDir dir;
  const std::string db = dir.file("new.db");
  evlog::Logger logger(options_for(db));
  ASSERT_TRUE(logger.log({"page_view", 1, "student", "{\"page\":\"/\"}"}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));

  const auto columns = columns_of(db, "analytics_events");
  EXPECT_EQ(columns.size(), 7u);
  expect_current_shape(db, "analytics_events");
  const std::map<std::string, Column> expected = {
      {"id", {"integer", false, true}},      {"event_id", {"text", true, false}},
      {"event_type", {"text", true, false}}, {"user_id", {"integer", false, false}},
      {"user_type", {"text", false, false}}, {"metadata", {"text", false, false}},
      {"created_at", {"text", true, false}},
  };
  for (const auto& [name, want] : expected) {
    ASSERT_TRUE(columns.contains(name)) << name;
    const Column& got = columns.at(name);
    EXPECT_EQ(got.type, want.type) << name;
    EXPECT_EQ(got.primary_key, want.primary_key) << name;
    if (want.not_null) {
      EXPECT_TRUE(got.not_null) << name << " should be NOT NULL";
    }
  }
  SqliteFile file(db);
  EXPECT_EQ(evlog_test::lower(file.text("PRAGMA journal_mode")), "wal");
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
}

// The database file is created readable by its owner only (0600), even under umask 022, and so
// are the WAL and shared-memory files beside it.
TEST(SqliteSink, CreatesAPrivateFile) {
  TempDir dir;
  const std::string db = dir.file("private.db");
  struct UmaskGuard {
    mode_t old = ::umask(022);
    ~UmaskGuard() { ::umask(old); }
  } umask_guard;
  {
    evlog::Logger logger(options_for(db));
    ASSERT_TRUE(logger.log({"page_view", 1, "", ""}).ok());
    ASSERT_TRUE(logger.flush(kLongWait));
    for (const std::string& path : {db, db + "-wal", db + "-shm"}) {
      struct stat st {};
      if (path != db && ::stat(path.c_str(), &st) != 0) continue;  // WAL files come and go
      ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
      EXPECT_EQ(st.st_mode & 0777, 0600u)
          << path << " has mode " << std::oct << (st.st_mode & 0777);
    }
  }
}

// What another process reads of `sql` through the sqlite3 shell: the first line of its output.
std::string read_elsewhere(const std::string& db, const std::string& sql) {
  const std::string command = "sqlite3 -bail '" + db + "' '" + sql + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char line[256] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  std::string out = got ? line : "";
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The application's own connection to the file keeps its locks when a Logger opens the same file.
// Without them another process that opens and closes the file believes itself the last one: it
// checkpoints and deletes the write-ahead log still in use, and every commit after that (the
// logger's and the application's) goes to the deleted file and is lost.
TEST(SqliteSink, TheApplicationsOwnConnectionKeepsItsLocks) {
  TempDir dir;
  const std::string db = dir.file("shared.db");
  SqliteFile app(db, /*create=*/true);
  app.exec(
      "PRAGMA journal_mode=WAL; CREATE TABLE app_data (x INTEGER); "
      "INSERT INTO app_data VALUES (1); SELECT count(*) FROM app_data");
  evlog::Logger logger(options_for(db));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(logger.log({"first", i, "", ""}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));
  ASSERT_EQ(read_elsewhere(db, "SELECT count(*) FROM analytics_events"), "100");

  for (int i = 0; i < 100; ++i) ASSERT_TRUE(logger.log({"second", i, "", ""}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));
  app.exec("INSERT INTO app_data VALUES (2)");
  EXPECT_EQ(read_elsewhere(db, "SELECT count(*) FROM analytics_events"), "200");
  EXPECT_EQ(read_elsewhere(db, "SELECT count(*) FROM app_data"), "2");
  EXPECT_TRUE(logger.shutdown(kLongWait));
}

// A table of the older shape (no event_id) with rows in it is adopted: the rows stay as they were,
// event_id is added with a unique index, new events are written beside the old ones, and a second
// logger opens the adopted table again.
TEST(SqliteSink, AdoptsTheOlderTableShape) {
  TempDir dir;
  const std::string db = dir.file("old.db");
  {
    SqliteFile file(db, /*create=*/true);
    file.exec(
        "CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, event_type TEXT, user_id INTEGER, "
        "user_type TEXT, metadata TEXT, created_at TEXT);"
        "INSERT INTO analytics_events (event_type, user_id, user_type, metadata, created_at) "
        "VALUES "
        "('login', 1, 'student', '{\"old\":1}', '2023-09-01 08:00:00'),"
        "('page_view', 2, 'teacher', NULL, '2023-09-01 08:00:01'),"
        "('logout', NULL, NULL, '{\"old\":3}', '2023-09-01 08:00:02');");
  }
  const auto old_rows = read_rows(
      db,
      "SELECT id, event_type, user_id, user_type, metadata, created_at FROM analytics_events "
      "ORDER BY id");
  ASSERT_EQ(old_rows.size(), 3u);

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("logger " + std::to_string(round));
    evlog::Logger logger(options_for(db));
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(logger.log({"task_start", i, "student", "{\"new\":true}"}).outcome,
                evlog::Outcome::queued);
    }
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_TRUE(accounted(logger.stats(), 5));
    EXPECT_EQ(logger.stats().written, 5u);
  }

  expect_current_shape(db, "analytics_events");
  EXPECT_EQ(count_rows(db), 3 + 10);
  const auto kept = read_rows(
      db,
      "SELECT id, event_type, user_id, user_type, metadata, created_at FROM analytics_events "
      "WHERE id <= 3 ORDER BY id");
  EXPECT_EQ(kept, old_rows) << "the old rows were changed";
  for (const auto& row :
       read_rows(db, "SELECT event_id, created_at FROM analytics_events WHERE id > 3")) {
    ASSERT_TRUE(row[0].has_value());
    EXPECT_TRUE(is_uuid_v7(*row[0])) << *row[0];
    EXPECT_TRUE(evlog_test::parse_created_at(row[1].value_or("")).has_value());
  }
  SqliteFile file(db);
  EXPECT_EQ(file.text("PRAGMA integrity_check"), "ok");
}

// A table that cannot be adopted (no event_type column) is an evlog::Error at construction, and
// the table and its data are left alone.
TEST(SqliteSink, RefusesATableItCannotAdopt) {
  TempDir dir;
  const std::string db = dir.file("alien.db");
  {
    SqliteFile file(db, /*create=*/true);
    file.exec(
        "CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, user_id INTEGER, note TEXT);"
        "INSERT INTO analytics_events (user_id, note) VALUES (1, 'keep me');");
  }
  try {
    evlog::Logger logger(options_for(db));
    FAIL() << "a table without event_type was accepted";
  } catch (const evlog::Error& e) {
    const std::string message = e.what();
    EXPECT_TRUE(message.find("analytics_events") != std::string::npos ||
                message.find("event_type") != std::string::npos)
        << "message '" << message << "' names neither the table nor the missing column";
  }
  EXPECT_EQ(read_rows(db, "SELECT note FROM analytics_events"),
            (evlog_test::Table{{std::string("keep me")}}));
  EXPECT_FALSE(columns_of(db, "analytics_events").contains("event_type"));
}

// A database in a directory that does not exist is an evlog::Error naming the path.
TEST(SqliteSink, MissingDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string db = dir.file("no_such_dir/events.db");
  try {
    evlog::Logger logger(options_for(db));
    FAIL() << "a database in a missing directory was accepted";
  } catch (const evlog::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_dir"), std::string::npos)
        << "message '" << e.what() << "' does not name the path";
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "no_such_dir"));
}

// Values are bound, never spliced: SQL in user_type and quotes in metadata and type-legal
// punctuation in type are stored byte-exact, and the table survives.
TEST(SqliteSink, ValuesAreBoundNotSpliced) {
  TempDir dir;
  const std::string db = dir.file("inject.db");
  const std::string user_type = "'; DROP TABLE analytics_events;--";
  const std::string metadata =
      R"({"q":"it's \"quoted\" '; DELETE FROM analytics_events;--","b":"\\'","e":"\u00e9"})";
  const std::string metadata2 = "{\"k\":\"'\\\")); DROP TABLE x; --\",\"u\":\"\xF0\x9F\x98\x80\"}";
  const std::string type = "a-b:c.d_E9";
  {
    evlog::Logger logger(options_for(db));
    ASSERT_EQ(logger.log({type, 42, user_type, metadata}).outcome, evlog::Outcome::queued);
    ASSERT_EQ(logger.log({"x", 43, "\"quoted\" 'user'", metadata2}).outcome,
              evlog::Outcome::queued);
    ASSERT_TRUE(logger.flush(kLongWait));
  }
  const auto rows = read_rows(
      db, "SELECT event_type, user_id, user_type, metadata FROM analytics_events ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<evlog_test::Cell>{type, "42", user_type, metadata}));
  EXPECT_EQ(rows[1], (std::vector<evlog_test::Cell>{"x", "43", "\"quoted\" 'user'", metadata2}));
  EXPECT_EQ(count_rows(db, "sqlite_master") > 0, true);
  EXPECT_EQ(
      read_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'x'").size(),
      0u);
}

// A custom table name is used (created, written), and the default table is not created.
TEST(SqliteSink, CustomTableName) {
  TempDir dir;
  const std::string db = dir.file("custom.db");
  evlog::Options options = options_for(db);
  options.table = "My_Events_2";
  {
    evlog::Logger logger(options);
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(logger.log({"custom", i, "", ""}).ok());
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_EQ(logger.stats().written, 7u);
  }
  EXPECT_EQ(count_rows(db, "My_Events_2"), 7);
  expect_current_shape(db, "My_Events_2");
  EXPECT_TRUE(read_rows(db, "SELECT 1 FROM sqlite_master WHERE name = 'analytics_events'").empty());
}

// Durability::full is accepted and writes like normal (the synchronous level belongs to evlog's own
// connection, so another connection cannot read it back).
TEST(SqliteSink, FullDurabilityWrites) {
  TempDir dir;
  const std::string db = dir.file("full.db");
  evlog::Options options = options_for(db);
  options.durability = evlog::Durability::full;
  {
    evlog::Logger logger(options);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(logger.log({"durable", i, "", ""}).ok());
    ASSERT_TRUE(logger.flush(kLongWait));
  }
  EXPECT_EQ(count_rows(db), 20);
}

// Rows for the sink itself, with ids that sort as UUIDv7 do; `ids` owns the text the rows view.
struct RowSet {
  std::vector<std::string> ids;
  std::vector<std::string> types;
  std::vector<evlog::Row> rows;

  // n rows, user_id = index; the row at each index in `poison` has event_type "poison".
  RowSet(std::size_t n, std::initializer_list<std::size_t> poison = {}) : ids(n), types(n) {
    for (std::size_t i = 0; i < n; ++i) {
      char id[40];
      std::snprintf(id, sizeof id, "01930000-0000-7000-8000-%012zu", i);
      ids[i] = id;
      types[i] = "good";
      for (std::size_t p : poison) {
        if (p == i) types[i] = "poison";
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      rows.push_back(evlog::Row{.event_id = ids[i],
                                .type = types[i],
                                .user_id = static_cast<std::int64_t>(i),
                                .user_type = "student",
                                .metadata = R"({"path":"/tasks/3"})",
                                .created_at = "2026-12-04T10:00:00.000001Z"});
    }
  }
};

constexpr std::chrono::milliseconds kBusyTimeout{2000};

// A batch of 100 rows goes through three 32-row statements and four one-row ones. Every row lands
// once, with its own values; ids already in the table, and an id repeated inside one group, are
// skipped row by row (the first copy stays), as the one-row statement skips them.
TEST(SqliteSink, GroupsOfRowsLandOnceEachAndSkipKnownIds) {
  TempDir dir;
  const std::string db = dir.file("groups.db");
  evlog::detail::SqliteSink sink(db, "analytics_events", evlog::Durability::normal, kBusyTimeout);
  ASSERT_TRUE(sink.open().ok());
  RowSet set(100);
  const evlog::SinkStatus first = sink.write(std::span(set.rows).first(40));
  ASSERT_TRUE(first.ok()) << first.message;
  EXPECT_EQ(count_rows(db), 40);

  // All 100 again (the first 40 are known), with row 70 carrying row 66's id inside one group
  // (64..95) and a different user_id: the copy is skipped.
  std::vector<evlog::Row> again = set.rows;
  again[70].event_id = set.ids[66];
  again[70].user_id = 7000;
  const evlog::SinkStatus second = sink.write(again);
  ASSERT_TRUE(second.ok()) << second.message;
  EXPECT_EQ(count_rows(db), 99);  // 100 ids, less the one that row 70 lost to its copy
  const auto rows = read_rows(db, "SELECT event_id, user_id FROM analytics_events ORDER BY id");
  ASSERT_EQ(rows.size(), 99u);
  std::size_t r = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    if (i == 70) continue;
    EXPECT_EQ(rows[r][0], set.ids[i]) << "row " << r;
    EXPECT_EQ(rows[r][1], std::to_string(i)) << "row " << r;
    ++r;
  }
}

// A constraint refuses one row inside a group, at the start of a group, or among the rows after
// the last group: the sink names that row's index in the batch and commits nothing of the batch,
// and the connection goes on writing.
TEST(SqliteSink, ARefusedRowIsNamedWhereverItIsInTheBatch) {
  TempDir dir;
  const std::string db = dir.file("refused.db");
  SqliteFile(db, true).exec(
      "CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
      "event_type TEXT NOT NULL CHECK (event_type <> 'poison'), user_id INTEGER, user_type TEXT, "
      "metadata TEXT, created_at TEXT NOT NULL)");
  evlog::detail::SqliteSink sink(db, "analytics_events", evlog::Durability::normal, kBusyTimeout);
  ASSERT_TRUE(sink.open().ok());
  for (std::size_t poison : {std::size_t{0}, std::size_t{40}, std::size_t{63}, std::size_t{64},
                             std::size_t{97}, std::size_t{99}}) {
    RowSet set(100, {poison, poison + 1 < 100 ? poison + 1 : poison});
    const evlog::SinkStatus status = sink.write(set.rows);
    EXPECT_EQ(status.code, evlog::SinkStatus::Code::refused) << "poison at " << poison;
    EXPECT_EQ(status.row, poison) << status.message;
    EXPECT_NE(status.message.find("CHECK constraint failed"), std::string::npos) << status.message;
    EXPECT_EQ(count_rows(db), 0) << "a refused batch left rows, poison at " << poison;
  }
  RowSet clean(70);
  const evlog::SinkStatus status = sink.write(clean.rows);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(count_rows(db), 70);
}

// A trigger whose RAISE(ROLLBACK) ends the whole transaction from inside a group: the sink cannot
// name the row, says the batch is refused, and the writer splits the batch until the refused
// event stands alone. Exactly that one is dead-lettered; the rest are written.
TEST(SqliteSink, ATriggerRollingBackTheTransactionStillDeadLettersOnlyTheRefusedEvent) {
  TempDir dir;
  const std::string db = dir.file("rollback.db");
  {
    evlog::detail::SqliteSink sink(db, "analytics_events", evlog::Durability::normal, kBusyTimeout);
    ASSERT_TRUE(sink.open().ok());
    SqliteFile(db).exec(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON analytics_events "
        "WHEN NEW.event_type = 'poison' BEGIN SELECT RAISE(ROLLBACK, 'poison rolls back'); END");
    RowSet set(100, {40});
    const evlog::SinkStatus status = sink.write(set.rows);
    EXPECT_EQ(status.code, evlog::SinkStatus::Code::refused);
    EXPECT_EQ(status.row, evlog::SinkStatus::kUnknownRow) << status.message;
    EXPECT_NE(status.message.find("poison rolls back"), std::string::npos) << status.message;
    EXPECT_EQ(count_rows(db), 0);
  }
  evlog::Options options = options_for(db);
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  // Logged while the writer waits (max_delay), so that they reach it as one batch.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(logger.log({i == 123 ? "poison" : "good", i, "", ""}).ok());
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.written, 199u) << evlog_test::describe(stats);
  EXPECT_EQ(stats.dead_lettered, 1u) << evlog_test::describe(stats);
  EXPECT_TRUE(accounted(stats, 200));
  EXPECT_EQ(count_rows(db), 199);
  EXPECT_TRUE(read_rows(db, "SELECT 1 FROM analytics_events WHERE user_id = 123").empty());
}

}  // namespace
