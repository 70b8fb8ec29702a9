// classroom/sqlite_db.hpp — a thin RAII layer over SQLite: connections, statements with bound
// parameters only, and a pool of connections shared by the request threads.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace classroom {

// Any SQLite failure in the app's own data path; the message names the operation.
class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One open connection: WAL journal, a busy handler that waits up to 5 s in short sleeps,
// synchronous=FULL (the app's data is the real data: a committed row survives power loss when
// the disk honours sync).
class Connection {
 public:
  // Creates the file 0600 if missing (never through a symlink), then opens it.
  explicit Connection(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }
  // Runs SQL without parameters (schema, BEGIN/COMMIT). Throws DbError.
  void exec(const char* sql);

 private:
  friend class Statement;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  static int on_busy(void* self, int attempt) noexcept;

  sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point busy_since_;
  // Statements prepared on this connection, by SQL text, kept for the connection's life: a
  // request runs the same few queries, and preparing them each time (parsing the SQL, under
  // SQLite's allocator mutex) took more than half of the server's CPU in a page-load run.
  std::unordered_map<std::string, Cached> cache_;
};

// A prepared statement. Values are always bound (R18), never spliced into SQL text. It comes
// from the connection's cache and goes back to it (reset, bindings cleared) when destroyed; a
// second Statement of the same SQL alive at once on one connection gets a statement of its own.
class Statement {
 public:
  Statement(Connection& connection, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, double value);
  Statement& bind_null(int index);

  // Advances; true while a row is available. Throws DbError on failure.
  bool step();
  // Steps to completion (for INSERT/UPDATE).
  void run();

  std::int64_t int_at(int column) const;
  double double_at(int column) const;
  std::string text_at(int column) const;
  bool null_at(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Connection::Cached* cached_ = nullptr;  // null for a statement of its own (finalized here)
};

// Connections opened on demand and reused: each request thread borrows one for its request.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    ~Lease() { pool_->release(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire();
  const std::string& path() const { return path_; }

 private:
  void release(std::unique_ptr<Connection> connection);

  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back if it throws.
template <typename Body>
void in_transaction(Connection& connection, Body&& body) {
  connection.exec("BEGIN IMMEDIATE");
  try {
    body();
    connection.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(connection.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace classroom
