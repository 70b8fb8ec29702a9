// tools/evlog/bench_against_raw.hpp — what the database-server benchmarks (`evlog bench postgres`,
// `evlog bench clickhouse`) share: evlog's side of a round, and the rounds themselves, in
// alternating order against a raw load of the same rows, with their median.
#pragma once

#include <cstdint>
#include <evlog/evlog.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace evlog::cli {

// The options both commands take: --events (per side), --threads (producers), --rounds.
void add_round_options(CLI::App& cmd, int& events, int& threads, int& rounds);

// One side of a round: the rows it left in its table, and how long it took.
struct Side {
  long long rows = 0;
  double seconds = 0;
  std::uint64_t batches = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

// evlog's side: `threads` producers log `events` page views as fast as they can through a logger
// made with `options` (on_full = block, so nothing is dropped); the clock stops when flush() says
// everything is committed. `written` receives what the logger counted as written (0 if flush()
// timed out); the caller counts the rows.
Side log_page_views(evlog::Options options, int events, int threads, std::uint64_t& written);

// A comparison against a raw load: `raw` and `evlog` measure one side each for a round (counted
// from 1), in alternating order.
struct RawComparison {
  std::string bench;     // "postgres"
  std::string raw_name;  // "raw COPY": column heads, progress, messages
  std::string raw_key;   // "raw_copy": the side's key in each round of --json
  std::string raw_what;  // "a raw COPY of the same rows": the summary line
  int events = 0;
  int rounds = 0;
  std::function<Side(int round)> raw;
  std::function<Side(int round, std::uint64_t& written)> evlog;
};

struct RoundsResult {
  bool ok = true;  // every round wrote every event on both sides
  double median = 0;
  std::string summary;
  nlohmann::json rounds = nlohmann::json::array();
};

// Runs the rounds, printing a line for each and the summary; a side that did not write every
// event is reported on stderr and makes `ok` false.
RoundsResult run_rounds(const RawComparison& c);

}  // namespace evlog::cli
