// SqliteSink — writes batches into a table of a SQLite file.
//
// WAL mode, `synchronous` from Options::durability (under `full`, FULL only for a transaction that
// holds a durable row, NORMAL for the rest: see set_synchronous()), a busy wait of up to
// Options::db_timeout in short sleeps (on_busy()), every batch in one BEGIN IMMEDIATE transaction
// through two prepared statements, one for groups of 32 rows and one for the rest:
//   INSERT INTO t(event_id, ...) VALUES (?, ...), (?, ...), ... ON CONFLICT(event_id) DO NOTHING
// Only the event_id conflict is ignored: a CHECK or NOT NULL failure is reported as a refusal of
// that row (never swallowed, as INSERT OR IGNORE would).
#pragma once

#include <chrono>
#include <string>

#include "evlog/options.hpp"
#include "evlog/sink.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace evlog::detail {

class SqliteSink final : public Sink {
 public:
  SqliteSink(std::string path, std::string table, Durability durability,
             std::chrono::milliseconds busy_timeout);
  ~SqliteSink() override;

  SqliteSink(const SqliteSink&) = delete;
  SqliteSink& operator=(const SqliteSink&) = delete;

  SinkStatus open() override;
  SinkStatus write(std::span<const Row> rows) override;
  std::string describe() const override { return "sqlite:" + path_; }

  // Forgets the connection without closing it: in a child process after fork(), a connection
  // opened by the parent must be neither used nor closed (closing would drop the parent's locks).
  void abandon() noexcept override;
  // Before fork(), in the parent: closes the connection (open() reopens it), so that no SQLite
  // connection of this process is open across fork().
  void prepare_fork() noexcept override { close(); }

 private:
  // open() and write() catch what these throw (std::bad_alloc): the writer gets a transient
  // failure, and no transaction is left open.
  SinkStatus open_unguarded();
  SinkStatus write_unguarded(std::span<const Row> rows);
  SinkStatus out_of_memory() noexcept;
  SinkStatus open_connection();
  SinkStatus ensure_table();
  SinkStatus prepare_statements();
  SinkStatus failure(int rc, std::string_view doing);  // classifies, rolls back, maybe closes
  SinkStatus failed_to_configure(int rc, std::string_view doing);  // failure(), then close()
  void close() noexcept;
  int exec(const char* sql);
  // Sets the connection's synchronous level (FULL when `full`, else NORMAL) unless it is set.
  int set_synchronous(bool full);
  // The busy handler: retries with short sleeps until busy_timeout_ has passed in all.
  static int on_busy(void* self, int attempt) noexcept;

  const std::string path_;
  const std::string table_;
  const Durability durability_;
  const std::chrono::milliseconds busy_timeout_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;       // one row
  sqlite3_stmt* insert_many_ = nullptr;  // kRowsPerStatement rows (sqlite_sink.cpp)
  bool ready_ = false;
  bool syncing_ = false;  // the connection's synchronous level is FULL (else NORMAL)
  std::chrono::steady_clock::time_point busy_since_{};  // the current busy wait's start
};

}  // namespace evlog::detail
