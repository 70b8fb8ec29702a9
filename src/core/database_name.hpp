// Which back end Options::database names, by its explicit form, never by a guess from its text.
#pragma once

#include <string>
#include <string_view>

namespace evlog::detail {

// The forms, in one table (docs/ says the same):
//   postgresql://…, postgres://…   a PostgreSQL URI, passed to libpq as written
//   postgresql:KEY=VALUE …         a libpq key=value string, after the prefix
//   clickhouse://…                 a ClickHouse server or cluster (its HTTP interface)
//   sqlite:PATH                    a SQLite file
//   anything else without "://"    a SQLite file path, as written (even "dbname=x.db")
// A string with another scheme ("mysql://…") is refused.
struct DatabaseName {
  enum class Kind { sqlite, postgres, clickhouse };
  Kind kind = Kind::sqlite;
  std::string target;  // what the back end is given: the path, the URI or the key=value string
};

// Throws evlog::Error ("Options::database: …") for an unknown scheme or a form this build does
// not support (PostgreSQL without EVLOG_WITH_POSTGRES, ClickHouse without
// EVLOG_WITH_CLICKHOUSE); the message never repeats the string,
// which may hold a password.
DatabaseName parse_database_name(std::string_view database);

// True when this build writes to PostgreSQL.
bool built_with_postgres() noexcept;
// True when this build writes to ClickHouse.
bool built_with_clickhouse() noexcept;

}  // namespace evlog::detail
