// tools/evlog/demo.hpp — `evlog demo`: the classroom workload through a synchronous insert per
// event, then through evlog, with per-call latency, throughput, row counts and the accounting.
#pragma once

#include <functional>

namespace CLI {
class App;
}  // namespace CLI

namespace evlog::cli {

// Adds the `demo` subcommand and its options to `app`. When parsing chooses it, `chosen` is set to
// the function that runs the demo: it returns true when every check passed (the accounting
// balances and the tables hold exactly the rows written), false otherwise, and throws
// evlog::Error or std::runtime_error when it cannot run (e.g. the database cannot be opened).
// `chosen` must outlive `app`'s parsing.
void add_demo_command(CLI::App& app, std::function<bool()>& chosen);

}  // namespace evlog::cli
