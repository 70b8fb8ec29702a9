// tools/evlog/bench.hpp — `evlog bench`: measured comparisons, each a subcommand in a file of its
// own (bench_commit.cpp, bench_latency.cpp, bench_throughput.cpp, bench_strategies.cpp).
#pragma once

#include <functional>

namespace CLI {
class App;
}  // namespace CLI

namespace evlog::cli {

// Adds `bench` and its subcommands to `app`; as add_demo_command, `chosen` is set to the function
// that runs the chosen one (true when it ran and its checks passed; a missed performance target
// is reported, not a failure).
void add_bench_command(CLI::App& app, std::function<bool()>& chosen);

// One per subcommand, each adding itself to `bench`.
void add_bench_commit(CLI::App& bench, std::function<bool()>& chosen);
void add_bench_latency(CLI::App& bench, std::function<bool()>& chosen);
void add_bench_throughput(CLI::App& bench, std::function<bool()>& chosen);
void add_bench_strategies(CLI::App& bench, std::function<bool()>& chosen);
void add_bench_postgres(CLI::App& bench, std::function<bool()>& chosen);
void add_bench_clickhouse(CLI::App& bench, std::function<bool()>& chosen);

}  // namespace evlog::cli
