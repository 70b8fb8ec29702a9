// tools/evlog/spill_commands.hpp — `evlog inspect FILE` and `evlog replay --spill-dir DIR
// --database DB`: what an operator uses after an outage.
#pragma once

#include <functional>

namespace CLI {
class App;
}  // namespace CLI

namespace evlog::cli {

// `inspect`: lists a spill file's records and its corrupt spans; fails (exit 1) on corruption.
void add_inspect_command(CLI::App& app, std::function<bool()>& chosen);
// `replay`: replays every spill file no live process holds into the database; fails (exit 1)
// when files are left.
void add_replay_command(CLI::App& app, std::function<bool()>& chosen);

}  // namespace evlog::cli
