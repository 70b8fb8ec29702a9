// tools/evlog/sqlite_baseline.hpp — plain SQLite, without evlog: the baselines that `evlog demo`
// and `evlog bench` measure evlog against (one synchronous insert per event, a raw insert loop),
// and the small helpers they share (RAII handles, exec, prepare, counting rows).
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <evlog/event.hpp>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace evlog::cli {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// SQLite's `synchronous` pragma, in WAL mode (as evlog::Durability sets it).
enum class Synchronous { normal, full };

// Runs `sql` (any number of statements); throws std::runtime_error naming the file on failure.
void exec(sqlite3* db, const std::string& sql);
// Prepares one statement; throws std::runtime_error naming the file on failure.
Statement prepare(sqlite3* db, const std::string& sql);

// Opens `path` as the classroom app of docs/background.md did: 5 s busy timeout and `synchronous`;
// the journal mode is whatever the file has (make_events_table sets WAL, which is persistent).
Connection open_database(const std::string& path, Synchronous synchronous = Synchronous::normal);

// SQLite creates files 0644; analytics data is private, so create a missing file 0600 first, as
// evlog does. Any other error shows when SQLite opens the file.
void create_private_file(const std::string& path);

// Creates `path` (0600) in WAL mode and `table` with evlog's schema (event_id UNIQUE) if missing.
void make_events_table(const std::string& path, const std::string& table);

// Drops `table` if it exists (benchmarks start each cell on an empty table).
void drop_table(const std::string& path, const std::string& table);

// Rows in `table`; 0 while the table does not exist yet.
std::int64_t count_rows(const std::string& path, const std::string& table);

// Stamps events as evlog does: a UUIDv7 `event_id` and `created_at` in UTC microseconds.
class EventStamper {
 public:
  using Text = std::array<char, 48>;
  EventStamper() : ids_(std::random_device{}()) {}
  void uuid_v7(Text& out);
  static void utc_now(Text& out);

 private:
  std::mt19937_64 ids_;
};

// Binds the six columns of evlog's INSERT (event_id, event_type, user_id, user_type, metadata,
// created_at) to parameters first + 1 ... first + 6 of `s` (a multi-row statement binds row k at
// first = 6 k); an empty view binds NULL, as in evlog::Event. Views must outlive the step.
void bind_event(sqlite3_stmt* s, std::string_view event_id, const evlog::Event& event,
                std::string_view created_at, int first = 0);

// How SyncInserter writes.
struct SyncInserterOptions {
  std::string table = "sync_events";  // must exist (make_events_table)
  Synchronous synchronous = Synchronous::normal;
  // false: the INSERT runs in autocommit mode (its own implicit transaction). true: BEGIN
  // IMMEDIATE; INSERT; COMMIT, as a request handler that takes the write lock up front does (the
  // strategy B of docs/background.md, one transaction per event).
  bool explicit_transaction = false;
};

// The synchronous strategy: one INSERT per event, committed before record() returns; one
// connection per request thread (construct it on that thread).
class SyncInserter {
 public:
  SyncInserter(const std::string& path, SyncInserterOptions options);

  // Stamps the event as evlog does (UUIDv7, UTC microseconds) and inserts and commits it.
  bool record(const evlog::Event& event);
  const std::string& failure() const { return failure_; }

 private:
  bool step(sqlite3_stmt* s);

  Connection db_;
  Statement insert_;
  Statement begin_;
  Statement commit_;
  EventStamper stamper_;
  std::string failure_;
};

}  // namespace evlog::cli
