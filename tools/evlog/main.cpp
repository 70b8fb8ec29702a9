// tools/evlog/main.cpp — the `evlog` command: parses the command line and runs one subcommand.
//
// Each subcommand lives in a file of its own (demo.cpp, …) that exposes one
// `add_<name>_command(CLI::App&, std::function<bool()>& chosen)`; adding a subcommand is one file
// and one line below. Exit codes: 0 success, 1 failure at run time (a check failed, or an error
// such as evlog::Error, printed as `evlog: <message>`), 2 usage error (bad command line).
#include <CLI/CLI.hpp>
#include <evlog/evlog.hpp>
#include <exception>
#include <functional>
#include <iostream>

#include "bench.hpp"
#include "demo.hpp"
#include "spill_commands.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"evlog: record analytics events without making the request wait", "evlog"};
  app.require_subcommand(1);

  std::function<bool()> chosen;
  evlog::cli::add_demo_command(app, chosen);
  evlog::cli::add_bench_command(app, chosen);
  evlog::cli::add_inspect_command(app, chosen);
  evlog::cli::add_replay_command(app, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help (exit code 0) or the error; its own codes for errors are 100 and up.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    return chosen() ? kExitOk : kExitFailure;
  } catch (const std::exception& e) {  // evlog::Error, or an error of the command itself
    std::cerr << "evlog: " << e.what() << '\n';
    return kExitFailure;
  }
}
