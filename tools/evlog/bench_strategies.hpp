// tools/evlog/bench_strategies.hpp — the classroom workload under four ways of logging its
// events, on one file: (1) one synchronous insert per event, (2) all async
// (evlog, no critical types), (3) critical types synchronous per event (BEGIN IMMEDIATE; INSERT;
// COMMIT), the rest async through evlog (strategy B of docs/background.md), (4) evlog with the
// critical types by group commit. Shared by `evlog bench strategies` and `evlog demo`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report.hpp"

namespace evlog::cli {

struct StrategiesOptions {
  std::string database = "bench.db";
  int threads = 16;    // request threads
  int rate = 100'000;  // events a second offered, all threads together (sleep-paced)
  int seconds = 3;     // per strategy
  bool full = false;   // durability full (synchronous=FULL) instead of normal, for every strategy
  // Strategy 4's table; the others use strategy_<n>_… tables, dropped before each run.
  std::string evlog_table = "strategy_4_group_commit";
  bool fresh_tables = true;  // drop strategy 4's table first too (the demo keeps it)
  std::string json;
};

struct StrategyResult {
  int number = 0;
  std::string name;
  std::string table;
  LatencySummary page_view, critical;  // the call, per kind of event
  double events_per_s = 0;             // successful calls a second, every type
  double critical_per_s = 0;           // successful critical calls a second
  double lost_mean = 0, lost_max = 0;  // queued, not committed, at sampled instants
  std::uint64_t samples = 0;           // how many instants were sampled
  std::int64_t rows_added = 0;
  std::int64_t rows_expected = 0;
  std::uint64_t failures = 0;
  std::string accounting;             // evlog's Stats after the run (strategies 2-4), one line
  std::vector<std::string> problems;  // failed checks; empty when all passed
};

// Runs the four strategies one after the other, printing a table (and a progress bar on a
// terminal); throws when the database cannot be used.
std::vector<StrategyResult> run_strategies(const StrategiesOptions& opts);
// Prints what these results show, in a few lines a user can check; returns them.
std::vector<std::string> strategy_summary(const std::vector<StrategyResult>& results);
nlohmann::json to_json(const StrategyResult& r);

}  // namespace evlog::cli
