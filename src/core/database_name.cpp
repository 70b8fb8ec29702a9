#include "core/database_name.hpp"

#include "evlog/error.hpp"
#if EVLOG_WITH_CLICKHOUSE
#include "sinks/clickhouse/clickhouse_sink.hpp"
#endif

namespace evlog::detail {

namespace {

constexpr std::string_view kForms =
    "a SQLite path (or sqlite:PATH), a postgresql:// or postgres:// URI, "
    "postgresql:KEY=VALUE ..., or a clickhouse:// URI";

// The scheme of "scheme://…" (RFC 3986: a letter, then letters, digits, '+', '-', '.'), or empty.
std::string_view scheme_of(std::string_view text) {
  const std::size_t end = text.find("://");
  if (end == std::string_view::npos || end == 0) return {};
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(text[0])) return {};
  for (char c : text.substr(0, end)) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return {};
  }
  return text.substr(0, end);
}

DatabaseName postgres(std::string target) {
  if (!built_with_postgres()) {
    throw Error(
        "Options::database: names a PostgreSQL database, and this build of evlog has no "
        "PostgreSQL support (build it with -DEVLOG_WITH_POSTGRES=ON and libpq)");
  }
  return {DatabaseName::Kind::postgres, std::move(target)};
}

DatabaseName clickhouse(std::string target) {
  if (!built_with_clickhouse()) {
    throw Error(
        "Options::database: names a ClickHouse database, and this build of evlog has no "
        "ClickHouse support (build it with -DEVLOG_WITH_CLICKHOUSE=ON and libcurl)");
  }
#if EVLOG_WITH_CLICKHOUSE
  (void)parse_clickhouse_uri(target);  // a bad port, database or parameter: refused here
#endif
  return {DatabaseName::Kind::clickhouse, std::move(target)};
}

}  // namespace

DatabaseName parse_database_name(std::string_view database) {
  constexpr std::string_view kSqlitePrefix = "sqlite:";
  constexpr std::string_view kPostgresPrefix = "postgresql:";
  const std::string_view scheme = scheme_of(database);
  if (scheme == "postgresql" || scheme == "postgres") return postgres(std::string(database));
  if (scheme == "clickhouse") return clickhouse(std::string(database));
  if (!scheme.empty()) {
    throw Error("Options::database: the scheme '" + std::string(scheme) +
                "://' is not one evlog knows; give " + std::string(kForms));
  }
  if (database.starts_with(kPostgresPrefix)) {
    return postgres(std::string(database.substr(kPostgresPrefix.size())));
  }
  if (database.starts_with(kSqlitePrefix)) {
    return {DatabaseName::Kind::sqlite, std::string(database.substr(kSqlitePrefix.size()))};
  }
  return {DatabaseName::Kind::sqlite, std::string(database)};
}

bool built_with_postgres() noexcept {
#if EVLOG_WITH_POSTGRES
  return true;
#else
  return false;
#endif
}

bool built_with_clickhouse() noexcept {
#if EVLOG_WITH_CLICKHOUSE
  return true;
#else
  return false;
#endif
}

}  // namespace evlog::detail
