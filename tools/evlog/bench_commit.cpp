// tools/evlog/bench_commit.cpp — `evlog bench commit`: critical events from 1, 4 and 16 request
// threads, back to back (closed loop), through (a) one synchronous BEGIN IMMEDIATE; INSERT;
// COMMIT per event (strategy B of docs/background.md) and (b) evlog's group commit
// (critical_types, log() returns once committed), on one file, same pragmas, for durability
// normal and full.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <memory>
#include <string>
#include <vector>

#include "bench.hpp"
#include "paced_replay.hpp"
#include "report.hpp"
#include "sqlite_baseline.hpp"

namespace evlog::cli {
namespace {

constexpr const char* kSyncTable = "bench_commit_sync";
constexpr const char* kEvlogTable = "bench_commit_evlog";
constexpr const char* kCriticalType = "task_complete";

struct CommitOptions {
  std::string database = "bench.db";
  int seconds = 2;
  std::vector<int> threads{1, 4, 16};
  std::string json;
};

// Every call records the same critical event (the per-call cost does not depend on the text).
struct CriticalSource {
  evlog::Event next() const {
    return {kCriticalType, 7, "student", R"({"task_id":7,"course":"python-101","ok":true})"};
  }
};

struct Side {
  LatencySummary latency;
  double mean_ns = 0;  // the mean call; with every thread always in one, threads / events_per_s
  double events_per_s = 0;
  std::uint64_t failures = 0;
  // Calls made by the thread that made the fewest, and by the one that made the most: how evenly
  // the commits were shared out. A p50 says little when a few threads make most of the calls.
  std::uint64_t fewest_calls = 0;
  std::uint64_t most_calls = 0;
};

Side side_from(const Samples& run) {
  Side s;
  s.latency = summarize(run.latencies_ns);
  s.failures = run.failures;
  s.events_per_s = run.seconds > 0
                       ? static_cast<double>(run.latencies_ns.size() - run.failures) / run.seconds
                       : 0;
  double total = 0;
  for (const std::int64_t ns : run.latencies_ns) total += static_cast<double>(ns);
  s.mean_ns = run.latencies_ns.empty() ? 0 : total / static_cast<double>(run.latencies_ns.size());
  if (!run.calls_per_thread.empty()) {
    const auto [fewest, most] =
        std::minmax_element(run.calls_per_thread.begin(), run.calls_per_thread.end());
    s.fewest_calls = *fewest;
    s.most_calls = *most;
  }
  return s;
}

// "fewest–most" calls per thread.
std::string spread(const Side& s) {
  return format_count(static_cast<double>(s.fewest_calls)) + "–" +
         format_count(static_cast<double>(s.most_calls));
}

bool run_commit(const CommitOptions& opts) {
  std::printf(
      "evlog bench commit: critical events back to back (closed loop), %d s per cell, database "
      "%s (WAL)\n(a) = one BEGIN IMMEDIATE; INSERT; COMMIT per event, a connection per thread;"
      " (b) = evlog group commit (critical_types, log() returns `committed`)\n\n",
      opts.seconds, opts.database.c_str());
  std::printf("%-11s %7s | %10s %9s %9s %9s %15s | %10s %9s %9s %9s %15s | %8s %8s %8s\n",
              "synchronous", "threads", "(a) ev/s", "p50", "p99", "mean", "calls/thread",
              "(b) ev/s", "p50", "p99", "mean", "calls/thread", "ev/s b/a", "p50 a/b", "mean a/b");
  nlohmann::json cells = nlohmann::json::array();
  std::vector<std::string> verdicts;
  bool ok = true;
  ProgressBar progress("bench commit", 2 * opts.threads.size() * 2 * opts.seconds * 5);
  const auto tick = [&](double) { progress.advance(1); };
  for (const evlog::Durability durability : {evlog::Durability::normal, evlog::Durability::full}) {
    const bool full = durability == evlog::Durability::full;
    for (const int threads : opts.threads) {
      Pace pace{threads, 0, opts.seconds, nullptr};
      drop_table(opts.database, kSyncTable);
      make_events_table(opts.database, kSyncTable);
      const SyncInserterOptions sync_options{kSyncTable,
                                             full ? Synchronous::full : Synchronous::normal, true};
      const Samples a_run = run_paced_from(
          pace, [&](int) { return SyncInserter(opts.database, sync_options); },
          [](int) { return CriticalSource(); }, tick);
      const Side a = side_from(a_run);
      const std::int64_t a_rows = count_rows(opts.database, kSyncTable);

      drop_table(opts.database, kEvlogTable);
      evlog::Options options;
      options.database = opts.database;
      options.table = kEvlogTable;
      options.durability = durability;
      options.critical_types = {kCriticalType};
      evlog::Stats stats;
      Samples b_run;
      {
        evlog::Logger logger(options);
        b_run = run_paced_from(
            pace, [&](int) { return LogRecorder(logger); }, [](int) { return CriticalSource(); },
            tick);
        logger.shutdown(options.shutdown_timeout);
        stats = logger.stats();
      }
      const Side b = side_from(b_run);
      const std::int64_t b_rows = count_rows(opts.database, kEvlogTable);

      const char* sync_name = full ? "FULL" : "NORMAL";
      std::printf("%-11s %7d | %10s %9s %9s %9s %15s | %10s %9s %9s %9s %15s | %8s %8s %8s\n",
                  sync_name, threads, format_count(a.events_per_s).c_str(),
                  format_ns(a.latency.p50).c_str(), format_ns(a.latency.p99).c_str(),
                  format_ns(a.mean_ns).c_str(), spread(a).c_str(),
                  format_count(b.events_per_s).c_str(), format_ns(b.latency.p50).c_str(),
                  format_ns(b.latency.p99).c_str(), format_ns(b.mean_ns).c_str(), spread(b).c_str(),
                  format_ratio(b.events_per_s, a.events_per_s).c_str(),
                  format_ratio(a.latency.p50, b.latency.p50).c_str(),
                  format_ratio(a.mean_ns, b.mean_ns).c_str());
      std::fflush(stdout);
      // Checks: every successful call is a row; evlog committed exactly what it says it wrote.
      const auto a_ok = static_cast<std::int64_t>(a_run.latencies_ns.size() - a.failures);
      std::string problem;
      if (a.failures > 0)
        problem += " (a) failed " + std::to_string(a.failures) + ": " + a_run.first_failure + ";";
      if (b.failures > 0)
        problem += " (b) failed " + std::to_string(b.failures) + ": " + b_run.first_failure + ";";
      if (a_rows != a_ok) problem += " (a) rows " + std::to_string(a_rows) + " != calls;";
      if (b_rows != static_cast<std::int64_t>(stats.written)) {
        problem += " (b) rows " + std::to_string(b_rows) + " != written;";
      }
      if (!problem.empty()) {
        std::printf("  check failed:%s\n", problem.c_str());
        ok = false;
      }
      if (threads == 16) {
        // What group commit buys 16 request threads that each wait for their event's commit.
        verdicts.push_back(
            std::string("16 threads, ") + sync_name + ": group commit (b) " + "committed " +
            format_ratio(b.events_per_s, a.events_per_s) +
            " the events/s of a transaction per event (a), " + format_count(b.events_per_s) +
            " against " + format_count(a.events_per_s) + "; a caller waited " +
            format_ns(b.latency.p50) + " at p50 against " + format_ns(a.latency.p50));
      }
      cells.push_back(
          {{"synchronous", sync_name},
           {"threads", threads},
           {"sync_per_event",
            {{"events_per_s", a.events_per_s},
             {"latency", to_json(a.latency)},
             {"mean_ns", a.mean_ns},
             {"fewest_calls_per_thread", a.fewest_calls},
             {"most_calls_per_thread", a.most_calls},
             {"failures", a.failures},
             {"rows", a_rows}}},
           {"evlog_group_commit",
            {{"events_per_s", b.events_per_s},
             {"latency", to_json(b.latency)},
             {"mean_ns", b.mean_ns},
             {"fewest_calls_per_thread", b.fewest_calls},
             {"most_calls_per_thread", b.most_calls},
             {"failures", b.failures},
             {"rows", b_rows},
             {"batches", stats.batches},
             {"written", stats.written}}},
           {"events_per_s_ratio", a.events_per_s > 0 ? b.events_per_s / a.events_per_s : 0},
           {"p50_ratio_a_over_b", b.latency.p50 > 0 ? a.latency.p50 / b.latency.p50 : 0}});
    }
  }
  progress.finish();
  std::printf("\nwhat this run shows:\n");
  for (const std::string& v : verdicts) std::printf("  %s\n", v.c_str());
  if (!opts.json.empty()) {
    write_json(opts.json, {{"bench", "commit"},
                           {"seconds_per_cell", opts.seconds},
                           {"cells", cells},
                           {"summary", verdicts}});
  }
  return ok;
}

}  // namespace

void add_bench_commit(CLI::App& bench, std::function<bool()>& chosen) {
  auto opts = std::make_shared<CommitOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "commit", "Critical events: one synchronous transaction per event vs evlog's group commit");
  cmd->add_option("--database", opts->database, "SQLite file (tables bench_commit_*)")
      ->capture_default_str();
  cmd->add_option("--seconds", opts->seconds, "Seconds per cell")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  cmd->add_option("--threads", opts->threads, "Request thread counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--json", opts->json, "Write every figure to this file");
  cmd->callback([opts, &chosen] { chosen = [opts] { return run_commit(*opts); }; });
}

}  // namespace evlog::cli
