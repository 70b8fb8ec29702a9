#include "sqlite_db.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace classroom {
namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw DbError(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// How long a statement waits for another connection's lock before it fails with SQLITE_BUSY,
// and the sleeps between attempts: kBusyFirstSleep, doubling to at most kBusyLongestSleep.
constexpr std::chrono::milliseconds kBusyTimeout{5000};
constexpr std::chrono::microseconds kBusyFirstSleep{50};
constexpr std::chrono::microseconds kBusyLongestSleep{1000};

}  // namespace

int Connection::on_busy(void* self, int attempt) noexcept {
  // Request threads commit their own rows (synchronous=FULL, a few hundred microseconds each)
  // on one file, so each write usually finds another one's lock. SQLite's own handler
  // (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, ... 100 ms between attempts: a request that lost
  // the race a few times slept tens of milliseconds while the lock was free again after a
  // fraction of one, and the task_complete load's p99 went to hundreds of milliseconds.
  auto& connection = *static_cast<Connection*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (attempt == 0) connection.busy_since_ = now;  // SQLite counts from 0 for each wait
  const auto waited = now - connection.busy_since_;
  if (waited >= kBusyTimeout) return 0;  // give up: the statement fails with SQLITE_BUSY
  const auto sleep = std::min<std::chrono::microseconds>(
      kBusyFirstSleep * (std::int64_t{1} << std::min(attempt, 10)), kBusyLongestSleep);
  std::this_thread::sleep_for(sleep);
  return 1;
}

Connection::Connection(const std::string& path) {
  // Created 0600 when missing. An existing file is left to SQLite: closing a descriptor of our
  // own on it would drop the POSIX locks the pool's other connections (and evlog's) hold on it,
  // and another process closing its last connection would then delete the write-ahead log in
  // use. A symlink is refused by SQLITE_OPEN_NOFOLLOW below.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw DbError("cannot open database file '" + path + "': " + std::strerror(errno));
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw DbError("cannot open database '" + path + "': " + message);
  }
  sqlite3_busy_handler(db_, &Connection::on_busy, this);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

void Connection::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = std::string(sql).substr(0, 60) + ": " + (error ? error : "?");
    sqlite3_free(error);
    throw DbError(message);
  }
}

Statement::Statement(Connection& connection, std::string_view sql) : db_(connection.get()) {
  auto found = connection.cache_.find(std::string(sql));
  if (found != connection.cache_.end() && !found->second.in_use) {
    cached_ = &found->second;
    cached_->in_use = true;
    stmt_ = cached_->stmt;
    return;
  }
  const unsigned flags = found == connection.cache_.end() ? SQLITE_PREPARE_PERSISTENT : 0;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt_, nullptr) !=
      SQLITE_OK) {
    fail(db_, "prepare");
  }
  if (found != connection.cache_.end()) return;  // the cached one is busy: this one is our own
  try {
    cached_ =
        &connection.cache_.emplace(std::string(sql), Connection::Cached{stmt_, true}).first->second;
  } catch (...) {
    sqlite3_finalize(stmt_);
    throw;
  }
}

Statement::~Statement() {
  if (cached_ != nullptr) {
    // Ends the statement's read (a query left mid-rows) and drops its values, so the next
    // request finds it clean and holds no snapshot meanwhile.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->in_use = false;
    return;
  }
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                          SQLITE_UTF8) != SQLITE_OK) {
    fail(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, "step");
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::int_at(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::double_at(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text_at(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Statement::null_at(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  return Lease(*this, std::make_unique<Connection>(path_));
}

void ConnectionPool::release(std::unique_ptr<Connection> connection) {
  if (!connection) return;
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
}

}  // namespace classroom
