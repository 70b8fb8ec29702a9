// tools/evlog/demo.hpp — `evlog demo`: a short run of `bench strategies` (the classroom workload
// under the four strategies) against analytics.db, then a summary of what landed in the table.
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
