// tools/evlog/sqlite_baseline.cpp — plain SQLite baselines and helpers; see sqlite_baseline.hpp.
#include "sqlite_baseline.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

namespace evlog::cli {

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw std::runtime_error(std::string(sqlite3_db_filename(db, "main")) + ": " + message);
  }
}

Statement prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string(sqlite3_db_filename(db, "main")) + ": " +
                             sqlite3_errmsg(db));
  }
  return Statement(raw);
}

Connection open_database(const std::string& path, Synchronous synchronous) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(path + ": " +
                             (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  exec(db.get(), std::string("PRAGMA busy_timeout=5000; PRAGMA synchronous=") +
                     (synchronous == Synchronous::full ? "FULL" : "NORMAL"));
  return db;
}

void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

void make_events_table(const std::string& path, const std::string& table) {
  create_private_file(path);
  const Connection db = open_database(path);
  exec(db.get(), "PRAGMA journal_mode=WAL");
  exec(db.get(), "CREATE TABLE IF NOT EXISTS \"" + table +
                     "\" (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
                     " event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT,"
                     " metadata TEXT, created_at TEXT NOT NULL)");
}

void drop_table(const std::string& path, const std::string& table) {
  create_private_file(path);
  const Connection db = open_database(path);
  exec(db.get(), "DROP TABLE IF EXISTS \"" + table + "\"");
}

std::int64_t count_rows(const std::string& path, const std::string& table) {
  const Connection db = open_database(path);
  Statement exists = prepare(db.get(), "SELECT count(*) FROM sqlite_master WHERE name = ?");
  sqlite3_bind_text(exists.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(exists.get()) != SQLITE_ROW || sqlite3_column_int64(exists.get(), 0) == 0) {
    return 0;
  }
  Statement count = prepare(db.get(), "SELECT count(*) FROM \"" + table + "\"");
  if (sqlite3_step(count.get()) != SQLITE_ROW) {
    throw std::runtime_error(path + ": " + sqlite3_errmsg(db.get()));
  }
  return sqlite3_column_int64(count.get(), 0);
}

void EventStamper::uuid_v7(Text& out) {
  const auto ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  // rand_a holds the fraction of the millisecond in 1/4096ths, as in evlog's ids (RFC 9562 §6.2,
  // method 3): ids made in order sort in order, so the event_id index grows at its right edge.
  const std::uint64_t ms = ns / 1'000'000;
  const std::uint64_t fraction = (ns % 1'000'000) * 4096 / 1'000'000;
  const std::uint64_t high = (ms << 16) | 0x7000 | fraction;
  const std::uint64_t low = (ids_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::snprintf(out.data(), out.size(),
                "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, high >> 32,
                (high >> 16) & 0xffff, high & 0xffff, low >> 48, low & 0xffffffffffff);
}

void EventStamper::utc_now(Text& out) {
  using namespace std::chrono;
  const auto now = floor<microseconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day date{day};
  const hh_mm_ss time{now - day};
  std::snprintf(out.data(), out.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
}

namespace {

void bind_text_or_null(sqlite3_stmt* s, int index, std::string_view text) {
  text.empty()
      ? sqlite3_bind_null(s, index)
      : sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

}  // namespace

void bind_event(sqlite3_stmt* s, std::string_view event_id, const evlog::Event& event,
                std::string_view created_at, int first) {
  bind_text_or_null(s, first + 1, event_id);
  bind_text_or_null(s, first + 2, event.type);
  event.user_id ? sqlite3_bind_int64(s, first + 3, *event.user_id)
                : sqlite3_bind_null(s, first + 3);
  bind_text_or_null(s, first + 4, event.user_type);
  bind_text_or_null(s, first + 5, event.metadata);
  bind_text_or_null(s, first + 6, created_at);
}

SyncInserter::SyncInserter(const std::string& path, SyncInserterOptions options)
    : db_(open_database(path, options.synchronous)),
      insert_(prepare(db_.get(), "INSERT INTO \"" + options.table +
                                     "\" (event_id, event_type, user_id, user_type, metadata,"
                                     " created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
  if (options.explicit_transaction) {
    begin_ = prepare(db_.get(), "BEGIN IMMEDIATE");
    commit_ = prepare(db_.get(), "COMMIT");
  }
}

bool SyncInserter::step(sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return true;
  failure_ = sqlite3_errmsg(db_.get());
  return false;
}

bool SyncInserter::record(const evlog::Event& event) {
  EventStamper::Text id{};
  EventStamper::Text at{};
  stamper_.uuid_v7(id);
  EventStamper::utc_now(at);
  bind_event(insert_.get(), id.data(), event, at.data());
  if (!begin_) return step(insert_.get());
  if (!step(begin_.get())) return false;
  if (step(insert_.get()) && step(commit_.get())) return true;
  if (!sqlite3_get_autocommit(db_.get()))
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  return false;
}

}  // namespace evlog::cli
