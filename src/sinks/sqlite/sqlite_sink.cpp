#include "sinks/sqlite/sqlite_sink.hpp"

#include "sinks/sink_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>

namespace evlog::detail {

namespace {

// Errors after which the connection itself is suspect (the file was replaced, the schema changed,
// the table was dropped): close it and open afresh on the next attempt.
bool needs_reopen(int primary) {
  switch (primary) {
    case SQLITE_ERROR:
    case SQLITE_SCHEMA:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_IOERR:
    case SQLITE_PERM:
      return true;
    default:
      return false;
  }
}

// The data of one row was refused: retrying the same row can never succeed.
bool refuses_row(int primary) {
  return primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_TOOBIG;
}

// The busy handler's sleeps: kBusyFirstSleep, doubling to at most kBusyLongestSleep.
constexpr std::chrono::microseconds kBusyFirstSleep{250};
constexpr std::chrono::microseconds kBusyLongestSleep{2000};

// Inserting a batch is one burst of CPU: a few hundred rows at a few microseconds each. On a
// server with few cores, a request thread that becomes runnable meanwhile waits for the burst to
// end, and that shows at the tail of its latency (the classroom app's paced page load). So the
// insert loop offers its core to any other runnable thread at least this often: sched_yield
// returns at once when no thread waits, and costs about a microsecond. The cost: the write lock
// stays held while another thread has the core. The clock is read before each INSERT statement.
constexpr std::chrono::microseconds kYieldEvery{100};

// Rows per INSERT statement: full groups of this many go through one multi-row statement, the rest
// of a batch through the one-row statement. One statement of 32 rows costs the writer less CPU per
// row than 32 statements of one row (fewer steps, resets and statement starts; `evlog bench
// throughput` measures both side by side), and that CPU is taken from request threads on a server
// with few cores. 32 rows bind 192 parameters, far below SQLite's limit of 32,766.
constexpr std::size_t kRowsPerStatement = 32;
constexpr int kColumns = 6;

// INSERT ... VALUES (?, ...), (?, ...) ... for `rows` rows; only the event_id conflict is ignored,
// and it is, row by row, within one statement too.
std::string insert_sql(const std::string& table, std::size_t rows) {
  std::string sql = "INSERT INTO " + quoted(table) +
                    " (event_id, event_type, user_id, user_type, metadata, created_at) VALUES ";
  for (std::size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    sql += "(?, ?, ?, ?, ?, ?)";
  }
  return sql + " ON CONFLICT(event_id) DO NOTHING";
}

// Binds `row` to parameters first + 1 ... first + kColumns of `stmt`. The text stays the caller's
// (SQLITE_STATIC): it outlives the statement's step. An empty text is NULL.
void bind_row(sqlite3_stmt* stmt, int first, const Row& row) {
  auto text = [&](int column, std::string_view value) {
    if (value.empty()) {
      sqlite3_bind_null(stmt, first + column);
    } else {
      sqlite3_bind_text(stmt, first + column, value.data(), static_cast<int>(value.size()),
                        SQLITE_STATIC);
    }
  };
  text(1, row.event_id);
  text(2, row.type);
  if (row.user_id) {
    sqlite3_bind_int64(stmt, first + 3, *row.user_id);
  } else {
    sqlite3_bind_null(stmt, first + 3);
  }
  text(4, row.user_type);
  text(5, row.metadata);
  text(6, row.created_at);
}

}  // namespace

int SqliteSink::on_busy(void* self, int attempt) noexcept {
  // SQLite's own handler (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25, ... 100 ms
  // between attempts. The writer shares the file with request threads that hold the write lock
  // for a few hundred microseconds each (their own commits, or --logging sync): it kept losing
  // the race and slept whole milliseconds while committed callers waited on it. In the classroom
  // app's task_complete load (wrk, 32 connections) that gave ≈ 1,100 requests/s at p50 20 ms;
  // with 0.25, 0.5, 1, 2, 2, ... ms it gave ≈ 1,600 at p50 6–10 ms (three runs each). The total
  // is still db_timeout, and a lock held for long costs one attempt per kBusyLongestSleep.
  auto& sink = *static_cast<SqliteSink*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (attempt == 0) sink.busy_since_ = now;  // SQLite counts attempts from 0 for each wait
  const auto waited = now - sink.busy_since_;
  if (waited >= sink.busy_timeout_) return 0;  // give up: the call returns SQLITE_BUSY
  auto sleep = kBusyFirstSleep * (std::int64_t{1} << std::min(attempt, 10));
  sleep = std::min<std::chrono::microseconds>(sleep, kBusyLongestSleep);
  const auto left =
      std::chrono::duration_cast<std::chrono::microseconds>(sink.busy_timeout_ - waited);
  std::this_thread::sleep_for(std::min(sleep, left) + std::chrono::microseconds(1));
  return 1;
}

SqliteSink::SqliteSink(std::string path, std::string table, Durability durability,
                       std::chrono::milliseconds busy_timeout)
    : path_(std::move(path)),
      table_(std::move(table)),
      durability_(durability),
      busy_timeout_(busy_timeout) {}

SqliteSink::~SqliteSink() {
  close();
}

void SqliteSink::abandon() noexcept {
  db_ = nullptr;
  begin_ = commit_ = insert_ = insert_many_ = nullptr;
  ready_ = false;
}

void SqliteSink::close() noexcept {
  sqlite3_finalize(begin_);
  sqlite3_finalize(commit_);
  sqlite3_finalize(insert_);
  sqlite3_finalize(insert_many_);
  begin_ = commit_ = insert_ = insert_many_ = nullptr;
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
  ready_ = false;
}

int SqliteSink::exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

int SqliteSink::set_synchronous(bool full) {
  if (full == syncing_) return SQLITE_OK;
  // Outside a transaction only (SQLite ignores it inside one): no I/O, a flag on the connection.
  const int rc = exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (rc == SQLITE_OK) syncing_ = full;
  return rc;
}

SinkStatus SqliteSink::failure(int rc, std::string_view doing) {
  std::string message = "sqlite: ";
  message.append(doing);
  message += " failed on '" + path_ + "': ";
  message += db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  message += " (code " + std::to_string(rc) + ")";
  // On BUSY, FULL or IOERR SQLite may already have rolled the transaction back; roll back what is
  // left before anything else is tried on this connection.
  if (db_ && !sqlite3_get_autocommit(db_)) exec("ROLLBACK");
  const int primary = rc & 0xff;
  if (needs_reopen(primary)) close();
  return SinkStatus::transient_error(std::move(message));
}

SinkStatus SqliteSink::open() {
  return guarded([&] { return open_unguarded(); }, [&] { return out_of_memory(); });
}

SinkStatus SqliteSink::write(std::span<const Row> rows) {
  return guarded([&] { return write_unguarded(rows); }, [&] { return out_of_memory(); });
}

SinkStatus SqliteSink::out_of_memory() noexcept {
  // A transaction this call began must not stay open: the next attempt begins its own.
  if (db_ && !sqlite3_get_autocommit(db_)) exec("ROLLBACK");
  ready_ = false;  // the next write() runs open() again, finishing what this one may have left
  return SinkStatus::transient_error("out of memory");  // short: no allocation
}

SinkStatus SqliteSink::open_unguarded() {
  if (ready_) return SinkStatus::success();
  if (!db_) {
    SinkStatus status = open_connection();
    if (!status.ok()) return status;
  }
  SinkStatus status = ensure_table();
  if (!status.ok()) return status;
  status = prepare_statements();
  if (!status.ok()) return status;
  ready_ = true;
  return SinkStatus::success();
}

SinkStatus SqliteSink::open_connection() {
  // Create the file ourselves when it is missing, private (0600) whatever the umask, and never
  // through a symlink; SQLite gives its -wal and -shm files the database file's mode. An existing
  // file is not opened here: closing any descriptor of a file drops every POSIX lock this process
  // holds on it, and the application's own SQLite connections to the same file keep theirs
  // there. Without them another process that closes its last connection would checkpoint and
  // delete the write-ahead log in use, and the commits made after that would be lost.
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) {
      fd = -1;  // removed meanwhile: errno says why below
    } else if (S_ISLNK(st.st_mode)) {
      errno = ELOOP;
    } else if (S_ISDIR(st.st_mode)) {
      errno = EISDIR;
    } else if (::access(path_.c_str(), R_OK | W_OK) == 0) {  // errno: EACCES, say
      errno = 0;
    }
  }
  if (fd < 0 && errno != 0) {
    const int err = errno;
    std::string message = "cannot open database file '" + path_ + "': " + std::strerror(err);
    if (err == ELOOP) message += " (a symbolic link is refused)";
    // Missing directories, permissions and symlinks are for a person to fix.
    if (err == ENOENT || err == ENOTDIR || err == ELOOP || err == EACCES || err == EISDIR) {
      return SinkStatus::invalid_config(std::move(message));
    }
    return SinkStatus::transient_error(std::move(message));
  }
  // Created by this call an instant ago. Only a connection of this process that opened and
  // locked the new file in that instant (a second Logger starting on the same new file) could
  // lose its lock here.
  if (fd >= 0) ::close(fd);

  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    SinkStatus status = failure(rc, "open");
    close();
    return status;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_handler(db_, &SqliteSink::on_busy, this);
  // journal_mode=WAL is persistent in the file; it needs a brief exclusive lock the first time.
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  std::string mode =
      rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) : "";
  sqlite3_finalize(stmt);
  // A connection whose pragmas failed is closed whatever the code (BUSY included): the next
  // open() must start again from a fresh connection and set them, never write in rollback-journal
  // mode or with the default synchronous level.
  if (rc != SQLITE_ROW) return failed_to_configure(rc, "setting journal_mode=WAL");
  if (mode != "wal") {
    close();
    return SinkStatus::invalid_config("sqlite: '" + path_ + "' cannot use WAL journal mode (got " +
                                      mode + ")");
  }
  // NORMAL to begin with, whatever the durability: under `full` each write() raises it to FULL for
  // a transaction that holds a durable row (write_unguarded()).
  syncing_ = true;  // forces the pragma: a new connection starts at SQLite's default, FULL
  rc = set_synchronous(false);
  if (rc != SQLITE_OK) return failed_to_configure(rc, "setting synchronous");
  return SinkStatus::success();
}

SinkStatus SqliteSink::failed_to_configure(int rc, std::string_view doing) {
  SinkStatus status = failure(rc, doing);
  close();
  return status;
}

SinkStatus SqliteSink::ensure_table() {
  int rc = exec("BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return failure(rc, "locking the schema");

  std::set<std::string> columns;
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db_, "SELECT name FROM pragma_table_info(?)", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, table_.data(), static_cast<int>(table_.size()), SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      columns.emplace(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_OK) return failure(rc, "reading the table's columns");

  const std::string t = quoted(table_);
  if (columns.empty()) {
    const std::string create = "CREATE TABLE IF NOT EXISTS " + t +
                               " (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
                               "event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT, "
                               "metadata TEXT, created_at TEXT NOT NULL)";
    rc = exec(create.c_str());
    if (rc != SQLITE_OK) return failure(rc, "creating the table");
  } else {
    for (const std::string_view required : kAdoptedColumns) {
      if (!columns.contains(std::string(required))) {
        exec("ROLLBACK");
        close();
        return SinkStatus::invalid_config("sqlite: table '" + table_ + "' in '" + path_ +
                                          "' cannot be adopted: it has no column '" +
                                          std::string(required) + "'");
      }
    }
    if (!columns.contains("event_id")) {
      // The older shape: add the column, then a separate unique index (SQLite cannot add a UNIQUE
      // column). Old rows keep a NULL event_id, which a unique index allows any number of.
      rc = exec(("ALTER TABLE " + t + " ADD COLUMN event_id TEXT").c_str());
      if (rc != SQLITE_OK) return failure(rc, "adding column event_id");
      rc = exec(("CREATE UNIQUE INDEX IF NOT EXISTS " + quoted(table_ + "_event_id") + " ON " + t +
                 "(event_id)")
                    .c_str());
      if (rc != SQLITE_OK) return failure(rc, "creating the unique index on event_id");
    }
  }
  rc = exec("COMMIT");
  if (rc != SQLITE_OK) return failure(rc, "committing the schema");
  return SinkStatus::success();
}

SinkStatus SqliteSink::prepare_statements() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(insert_many_);
  insert_ = insert_many_ = nullptr;
  int rc = sqlite3_prepare_v3(db_, insert_sql(table_, 1).c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                              &insert_, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v3(db_, insert_sql(table_, kRowsPerStatement).c_str(), -1,
                            SQLITE_PREPARE_PERSISTENT, &insert_many_, nullptr);
  }
  if (rc != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db_);
    if (message.find("ON CONFLICT clause does not match") != std::string::npos) {
      // event_id exists but is not unique: an adopted table needs the index.
      close();
      return SinkStatus::invalid_config("sqlite: table '" + table_ + "' in '" + path_ +
                                        "' cannot be adopted: its event_id column has no unique "
                                        "index (CREATE UNIQUE INDEX ... ON " +
                                        table_ + "(event_id))");
    }
    return failure(rc, "preparing the insert");
  }
  if (!begin_)
    rc =
        sqlite3_prepare_v3(db_, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &begin_, nullptr);
  if (rc == SQLITE_OK && !commit_) {
    rc = sqlite3_prepare_v3(db_, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &commit_, nullptr);
  }
  if (rc != SQLITE_OK) return failure(rc, "preparing transaction statements");
  return SinkStatus::success();
}

SinkStatus SqliteSink::write_unguarded(std::span<const Row> rows) {
  if (!ready_) {
    SinkStatus status = open();
    if (!status.ok()) return status;
  }
  // Under `full`, the WAL is synced at the commit of a transaction that holds a durable row (a
  // committed-delivery event, a replayed one): that fdatasync also makes every earlier frame of
  // the WAL durable, the unsynced commits of async-only batches included. Those need no sync of
  // their own: an async event carries no promise of surviving power loss.
  const bool sync = durability_ == Durability::full &&
                    std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.durable; });
  int rc = set_synchronous(sync);
  if (rc != SQLITE_OK) return failure(rc, "setting synchronous");
  rc = sqlite3_step(begin_);
  sqlite3_reset(begin_);
  if (rc != SQLITE_DONE) return failure(rc, "BEGIN IMMEDIATE");

  auto last_yield = std::chrono::steady_clock::now();
  // Rows before one_by_one_until go through the one-row statement: a group whose statement was
  // refused is inserted again row by row, to name the refused row.
  std::size_t one_by_one_until = 0;
  for (std::size_t i = 0; i < rows.size();) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_yield >= kYieldEvery) {
      std::this_thread::yield();
      last_yield = std::chrono::steady_clock::now();
    }
    const bool group = i >= one_by_one_until && rows.size() - i >= kRowsPerStatement;
    const std::size_t n = group ? kRowsPerStatement : 1;
    sqlite3_stmt* const stmt = group ? insert_many_ : insert_;
    for (std::size_t k = 0; k < n; ++k) bind_row(stmt, static_cast<int>(k) * kColumns, rows[i + k]);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) {
      i += n;
      continue;
    }
    const bool refused = refuses_row(rc & 0xff);
    if (refused && group && !sqlite3_get_autocommit(db_)) {
      // Only this statement was undone (a constraint's or a trigger's ABORT): the transaction and
      // the groups before it stand. Insert the group's rows one by one to find the refused one.
      one_by_one_until = i + n;
      continue;
    }
    if (refused) {
      std::string message = std::string("sqlite: ") + sqlite3_errmsg(db_);
      if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK");
      sqlite3_clear_bindings(stmt);
      // A trigger's RAISE(ROLLBACK) ended the whole transaction in a group: the row is unknown,
      // and the writer splits the batch until the refused row stands alone.
      if (group) return SinkStatus::refused_batch(std::move(message));
      return SinkStatus::refused_row(i, std::move(message));
    }
    sqlite3_clear_bindings(stmt);
    return failure(rc, "INSERT");
  }
  sqlite3_clear_bindings(insert_);
  sqlite3_clear_bindings(insert_many_);
  rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  if (rc != SQLITE_DONE) return failure(rc, "COMMIT");
  return SinkStatus::success();
}

}  // namespace evlog::detail
