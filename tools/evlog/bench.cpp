// tools/evlog/bench.cpp — the `bench` subcommand: a group of measured comparisons.
#include "bench.hpp"

#include <CLI/CLI.hpp>

namespace evlog::cli {

void add_bench_command(CLI::App& app, std::function<bool()>& chosen) {
  CLI::App* bench = app.add_subcommand(
      "bench", "Measure evlog against the baselines it replaces (see README, Performance)");
  bench->require_subcommand(1);
  add_bench_commit(*bench, chosen);
  add_bench_latency(*bench, chosen);
  add_bench_throughput(*bench, chosen);
  add_bench_strategies(*bench, chosen);
#if EVLOG_WITH_POSTGRES
  add_bench_postgres(*bench, chosen);
#endif
#if EVLOG_WITH_CLICKHOUSE
  add_bench_clickhouse(*bench, chosen);
#endif
}

}  // namespace evlog::cli
