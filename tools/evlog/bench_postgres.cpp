// tools/evlog/bench_postgres.cpp — `evlog bench postgres`: events/s into PostgreSQL through evlog
// beside the limit, a raw COPY of the same rows into a table of the same shape (same indexes),
// measured in the same run on the same server, in rounds of alternating order.
#include <libpq-fe.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "bench_against_raw.hpp"
#include "report.hpp"

namespace evlog::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct PostgresBenchOptions {
  std::string database;
  int events = 200000;
  int threads = 2;
  int rounds = 3;
  std::string json;
};

class Pg {
 public:
  explicit Pg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("cannot connect: " + message);
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~Pg() { PQfinish(conn_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType s = PQresultStatus(r);
    const std::string message = PQresultErrorMessage(r);
    PQclear(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) throw std::runtime_error(message);
  }
  long long scalar(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const long long v = PQresultStatus(r) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
  }
  // COPY `data` (text format) into `table`'s event columns, in one transaction.
  void copy(const std::string& table, const std::string& data) {
    exec("BEGIN");
    PGresult* r = PQexec(conn_, ("COPY " + table +
                                 " (event_id, event_type, user_id, user_type, metadata, created_at)"
                                 " FROM STDIN")
                                    .c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) throw std::runtime_error(PQresultErrorMessage(r));
    PQclear(r);
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
        PQputCopyEnd(conn_, nullptr) != 1) {
      throw std::runtime_error(PQerrorMessage(conn_));
    }
    r = PQgetResult(conn_);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string message = PQresultErrorMessage(r);
    PQclear(r);
    while ((r = PQgetResult(conn_)) != nullptr) PQclear(r);
    if (!ok) throw std::runtime_error(message);
    exec("COMMIT");
  }

 private:
  PGconn* conn_;
};

std::string create_table(const std::string& table) {
  return "DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
         " (id bigserial PRIMARY KEY, event_id uuid UNIQUE NOT NULL, event_type text NOT NULL, "
         "user_id bigint, user_type text, metadata jsonb, created_at timestamptz NOT NULL); "
         "CREATE INDEX ON " +
         table + " (event_type, created_at)";
}

// The rows both sides write: time-ordered ids, the classroom's most common event.
std::string copy_text(int events) {
  std::mt19937_64 rng(42);
  std::string out;
  out.reserve(static_cast<std::size_t>(events) * 120);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  char line[256];
  for (int i = 0; i < events; ++i) {
    const unsigned long long ms =
        static_cast<unsigned long long>(now) + static_cast<unsigned>(i / 100);
    const unsigned long long r1 = rng(), r2 = rng();
    std::snprintf(line, sizeof line,
                  "%08llx-%04llx-7%03llx-%04llx-%012llx\tpage_view\t%d\tstudent\t"
                  "{\"path\": \"/tasks/3\"}\t2026-01-01T00:00:00.%06dZ\n",
                  ms >> 16, ms & 0xffff, r1 & 0xfff, 0x8000 | ((r1 >> 12) & 0x3fff),
                  r2 & 0xffffffffffffULL, i % 20 + 1, i % 1000000);
    out += line;
  }
  return out;
}

// The limit: one COPY of all rows into a fresh table of the same shape, in one transaction.
Side measure_copy(Pg& admin, const std::string& data) {
  admin.exec(create_table("bench_pg_copy"));
  const auto start = Clock::now();
  admin.copy("bench_pg_copy", data);
  Side side;
  side.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  side.rows = admin.scalar("SELECT count(*) FROM bench_pg_copy");
  admin.exec("DROP TABLE bench_pg_copy");
  return side;
}

// evlog's side, into a fresh table of the same shape.
Side measure_evlog(Pg& admin, const PostgresBenchOptions& o, std::uint64_t& written) {
  admin.exec(create_table("bench_pg_evlog"));
  evlog::Options options;
  options.database = o.database;
  options.table = "bench_pg_evlog";
  Side side = log_page_views(options, o.events, o.threads, written);
  side.rows = admin.scalar("SELECT count(*) FROM bench_pg_evlog");
  admin.exec("DROP TABLE bench_pg_evlog");
  return side;
}

bool run_bench_postgres(const PostgresBenchOptions& o) {
  Pg admin(o.database);
  std::printf("evlog bench postgres: %d events per side, %d producer threads, %d rounds\n",
              o.events, o.threads, o.rounds);
  const std::string data = copy_text(o.events);
  const RoundsResult result = run_rounds({
      .bench = "postgres",
      .raw_name = "raw COPY",
      .raw_key = "raw_copy",
      .raw_what = "a raw COPY of the same rows",
      .events = o.events,
      .rounds = o.rounds,
      .raw = [&](int) { return measure_copy(admin, data); },
      .evlog = [&](int, std::uint64_t& written) { return measure_evlog(admin, o, written); },
  });
  if (!o.json.empty()) {
    write_json(o.json, {{"bench", "postgres"},
                        {"events", o.events},
                        {"threads", o.threads},
                        {"rounds", result.rounds},
                        {"median_ratio", result.median},
                        {"summary", {result.summary}}});
  }
  return result.ok;
}

}  // namespace

void add_bench_postgres(CLI::App& bench, std::function<bool()>& chosen) {
  auto o = std::make_shared<PostgresBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "postgres", "events/s into PostgreSQL through evlog vs a raw COPY of the same rows");
  cmd->add_option("--database", o->database, "A PostgreSQL URI or conninfo")->required();
  add_round_options(*cmd, o->events, o->threads, o->rounds);
  cmd->add_option("--json", o->json, "Write every figure to this file");
  cmd->callback([o, &chosen] { chosen = [o] { return run_bench_postgres(*o); }; });
}

}  // namespace evlog::cli
