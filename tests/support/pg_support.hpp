// pg_support.hpp — the throwaway PostgreSQL server the tests use (started by scripts/test.sh
// through scripts/pg_server.sh), read back with libpq.
//
//   EVLOG_TEST_PG        the app role's URI (with its password), what a Logger is given
//   EVLOG_TEST_PG_ADMIN  superuser conninfo over the server's socket (to terminate backends)
//   EVLOG_TEST_PG_DATA   the data directory, EVLOG_TEST_PG_BIN the server's binaries (restart)
//
// A test that needs the server and does not find it FAILS: it never skips silently.
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace evlog_test {

inline std::string pg_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The server's URI, or a failed assertion saying how to get one.
#define EVLOG_REQUIRE_PG()                                                                  \
  do {                                                                                      \
    if (::evlog_test::pg_env("EVLOG_TEST_PG").empty()) {                                    \
      FAIL() << "EVLOG_TEST_PG is not set: run the tests through `make test` (it starts a " \
                "throwaway PostgreSQL server), or start one with scripts/pg_server.sh";     \
    }                                                                                       \
  } while (false)

// One libpq connection for reading back and steering the server.
class PgConnection {
 public:
  explicit PgConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      throw std::runtime_error(std::string("cannot connect to the test server: ") +
                               PQerrorMessage(conn_));
    }
  }
  ~PgConnection() { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql`; the rows as text (NULL as "<null>"). Throws on error.
  std::vector<std::vector<std::string>> query(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
      std::string message = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("'" + sql + "' failed: " + message);
    }
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) {
        row.emplace_back(PQgetisnull(r, i, j) ? "<null>" : PQgetvalue(r, i, j));
      }
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }
  long long scalar(const std::string& sql) { return std::stoll(query(sql).at(0).at(0)); }
  void exec(const std::string& sql) { (void)query(sql); }

 private:
  PGconn* conn_;
};

// A table name of its own for each test, so tests sharing the server never see each other.
inline std::string unique_table(const std::string& stem) {
  static int counter = 0;
  return stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// The server's URI with an application_name of the test's own, so that a test terminating or
// stopping backends touches only its own logger's (tests share the server and run in parallel).
inline std::string pg_uri(const std::string& application_name) {
  return pg_env("EVLOG_TEST_PG") + "?application_name=" + application_name;
}

// Terminates the backends of the loggers connected with `application_name`.
inline int terminate_backends(const std::string& application_name) {
  PgConnection admin(pg_env("EVLOG_TEST_PG_ADMIN"));
  return static_cast<int>(
      admin.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE application_name = '" +
                   application_name + "' AND pid <> pg_backend_pid()"));
}

// The pids of those backends.
inline std::vector<pid_t> backend_pids(const std::string& application_name) {
  PgConnection admin(pg_env("EVLOG_TEST_PG_ADMIN"));
  std::vector<pid_t> pids;
  for (const auto& row : admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                                     application_name + "'")) {
    pids.push_back(static_cast<pid_t>(std::stol(row.at(0))));
  }
  return pids;
}

}  // namespace evlog_test
