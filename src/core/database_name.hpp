// Which back end Options::database names, by its explicit form, never by a guess from its text.
#pragma once

#include <string>
#include <string_view>

namespace evlog::detail {

// The forms, in one table (docs/ says the same):
//   postgresql://…, postgres://…   a PostgreSQL URI, passed to libpq as written
//   postgresql:KEY=VALUE …         a libpq key=value string, after the prefix
//   sqlite:PATH                    a SQLite file
//   anything else without "://"    a SQLite file path, as written (even "dbname=x.db")
// A string with another scheme ("mysql://…") is refused.
struct DatabaseName {
  enum class Kind { sqlite, postgres };
  Kind kind = Kind::sqlite;
  std::string target;  // what the back end is given: the path, the URI or the key=value string
};

// Throws evlog::Error ("Options::database: …") for an unknown scheme or a form this build does
// not support (PostgreSQL without EVLOG_WITH_POSTGRES); the message never repeats the string,
// which may hold a password.
DatabaseName parse_database_name(std::string_view database);

// True when this build writes to PostgreSQL.
bool built_with_postgres() noexcept;

}  // namespace evlog::detail
