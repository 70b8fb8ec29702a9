// tools/evlog/bench_latency.cpp — `evlog bench latency`: the per-call cost of Logger::log() with
// the writer draining into SQLite, beside spdlog's async logger with a null sink, for 1, 2 and 4
// producer threads and metadata of 0, 44, 100 and 1,000 bytes; in a tight loop, paced at 10,000
// calls/s per thread by busy-waiting on steady_clock, and paced by sleeping (one cell).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench.hpp"
#include "report.hpp"
#include "spdlog_baseline.hpp"
#include "sqlite_baseline.hpp"

namespace evlog::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kTable = "bench_latency";

// tight: back to back. paced: each thread makes `rate` calls a second, busy-waiting on
// steady_clock until each is due (sleeping would measure the scheduler's wake-up and cold
// caches). sleep: the same pace by sleeping until due, reported separately for honesty.
struct LatencyOptions {
  std::string database = "bench_latency.db";  // scratch: removed after each cell
  std::uint64_t calls = 1'000'000;            // per tight cell, all threads together
  std::uint64_t paced_calls = 40'000;         // per paced or sleep cell, all threads together
  int rate = 10'000;                          // calls a second per thread, when paced
  std::vector<int> producers{1, 2, 4};
  std::vector<std::size_t> metadata{0, 44, 100, 1000};
  std::vector<std::string> modes{"tight", "paced", "sleep"};
  bool spdlog = true;
  std::string json;
};

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// A JSON object of exactly `bytes` bytes ({"k":"xxx…"}); empty for 0.
std::string make_metadata(std::size_t bytes) {
  if (bytes == 0) return {};
  if (bytes < 8) bytes = 8;
  return R"({"k":")" + std::string(bytes - 8, 'x') + R"("})";
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

struct CellRun {
  std::vector<std::int64_t> latencies_ns;  // sorted
  std::uint64_t failures = 0;
};

// `producers` threads make `calls` calls of log_one(event) in all, timing each.
template <typename LogOne>
CellRun run_cell(const std::string& mode, int producers, std::uint64_t calls, int rate,
                 const evlog::Event& event, LogOne&& log_one) {
  std::vector<std::vector<std::int64_t>> per_thread(static_cast<std::size_t>(producers));
  std::vector<std::uint64_t> failures(static_cast<std::size_t>(producers), 0);
  const std::uint64_t each = calls / static_cast<std::uint64_t>(producers);
  const auto period = std::chrono::nanoseconds(1'000'000'000 / rate);
  std::latch ready(producers + 1);
  Clock::time_point start;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < producers; ++t) {
      threads.emplace_back([&, t] {
        auto& out = per_thread[static_cast<std::size_t>(t)];
        out.reserve(each);
        ready.arrive_and_wait();
        // Threads interleave evenly within each period.
        const auto first = start + period * t / producers;
        for (std::uint64_t k = 0; k < each; ++k) {
          if (mode != "tight") {
            const auto due = first + period * static_cast<std::int64_t>(k);
            if (mode == "sleep") {
              std::this_thread::sleep_until(due);
            } else {
              while (Clock::now() < due) cpu_relax();
            }
          }
          const auto before = Clock::now();
          const bool ok = log_one(event);
          const auto after = Clock::now();
          out.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
          if (!ok) ++failures[static_cast<std::size_t>(t)];
        }
      });
    }
    start = Clock::now() + std::chrono::milliseconds(5);
    ready.arrive_and_wait();
  }
  CellRun run;
  run.latencies_ns.reserve(each * static_cast<std::uint64_t>(producers));
  for (std::size_t t = 0; t < per_thread.size(); ++t) {
    run.latencies_ns.insert(run.latencies_ns.end(), per_thread[t].begin(), per_thread[t].end());
    run.failures += failures[t];
  }
  std::sort(run.latencies_ns.begin(), run.latencies_ns.end());
  return run;
}

struct Cell {
  std::string mode;
  int producers;
  std::size_t metadata;
  LatencySummary evlog, spdlog;
  std::uint64_t evlog_failures = 0;
  std::string check;  // empty when the accounting balanced and rows == written
};

Cell measure(const LatencyOptions& opts, const std::string& mode, int producers,
             std::size_t metadata_bytes) {
  Cell cell{mode, producers, metadata_bytes, {}, {}, 0, {}};
  const std::string metadata = make_metadata(metadata_bytes);
  const evlog::Event event{"page_view", 42, "student", metadata};
  const std::uint64_t calls = mode == "tight" ? opts.calls : opts.paced_calls;

  // A fresh scratch file per cell, removed afterwards: dropping a table of a million rows would
  // cost more than the cell.
  remove_database(opts.database);
  evlog::Options options;
  options.database = opts.database;
  options.table = kTable;
  if (mode == "tight") {
    // A queue that holds the whole cell: the tight loop outruns any database, and a call that
    // finds the queue full returns `dropped` at once, which would flatter the figures.
    options.queue_capacity = std::size_t{1} << 20;
    options.max_queue_bytes = std::size_t{2} << 30;
  }
  options.shutdown_timeout = std::chrono::minutes(5);
  {
    evlog::Logger logger(options);
    const CellRun run = run_cell(mode, producers, calls, opts.rate, event,
                                 [&](const evlog::Event& e) { return logger.log(e).ok(); });
    cell.evlog = summarize(run.latencies_ns);
    cell.evlog_failures = run.failures;
    const bool drained = logger.shutdown(options.shutdown_timeout);
    const evlog::Stats s = logger.stats();
    const std::uint64_t sum = s.accounted();
    const auto rows = static_cast<std::uint64_t>(count_rows(opts.database, kTable));
    if (!drained || sum != run.latencies_ns.size() || rows != s.written) {
      cell.check = "calls " + std::to_string(run.latencies_ns.size()) + ", accounted " +
                   std::to_string(sum) + ", written " + std::to_string(s.written) + ", rows " +
                   std::to_string(rows) + (drained ? "" : ", shutdown missed its deadline");
    }
    if (s.dropped > 0) cell.check += " dropped " + std::to_string(s.dropped);
  }
  remove_database(opts.database);
  if (opts.spdlog) {
    SpdlogAsyncBaseline baseline;
    const CellRun run =
        run_cell(mode, producers, calls, opts.rate, event, [&](const evlog::Event& e) {
          baseline.log(e);
          return true;
        });
    cell.spdlog = summarize(run.latencies_ns);
  }
  return cell;
}

void print_row(const Cell& c) {
  const auto& e = c.evlog;
  const auto& s = c.spdlog;
  std::printf("%-6s %4d %5zu %10s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s %8s | %7s%s%s\n",
              c.mode.c_str(), c.producers, c.metadata,
              format_count(static_cast<double>(e.calls)).c_str(), format_ns(e.p50).c_str(),
              format_ns(e.p90).c_str(), format_ns(e.p99).c_str(), format_ns(e.p999).c_str(),
              format_ns(e.max).c_str(), format_ns(s.p50).c_str(), format_ns(s.p90).c_str(),
              format_ns(s.p99).c_str(), format_ns(s.p999).c_str(), format_ns(s.max).c_str(),
              format_ratio(s.p50, e.p50).c_str(),
              c.check.empty() ? "" : "  CHECK: ", c.check.c_str());
  std::fflush(stdout);
}

// What a request thread pays for one event, in the cells with a typical event (44 B of
// metadata): evlog's p50 and p99, and how it compares with the async logger a C++ user would
// reach for.
std::vector<std::string> summary(const std::vector<Cell>& cells) {
  std::vector<std::string> out;
  for (const Cell& c : cells) {
    if (c.metadata != 44 || (c.mode == "tight" && c.producers != 1)) continue;
    std::string line = c.mode + ", " + std::to_string(c.producers) + " thread(s), 44 B: a call " +
                       "costs " + format_ns(c.evlog.p50) + " at p50, " + format_ns(c.evlog.p99) +
                       " at p99";
    if (c.spdlog.calls > 0) {
      line += "; " + format_ratio(c.spdlog.p50, c.evlog.p50) + " less than spdlog's async " +
              "logger at p50 (" + format_ns(c.spdlog.p50) + ")";
    }
    out.push_back(line);
  }
  return out;
}

bool run_latency(const LatencyOptions& opts) {
  std::printf(
      "evlog bench latency: time of one log() call (steady_clock around each call, ≈ 20-30 ns of"
      " it is the clock itself), writer draining into SQLite %s (WAL, NORMAL)\n"
      "modes: tight = back to back, %s calls per cell; paced = %d calls/s per thread by "
      "busy-waiting on steady_clock (sleeping would measure the scheduler's wake-up and cold"
      " caches), %s calls per cell; sleep = the same pace by sleeping until each call is due\n"
      "baseline: spdlog async logger (queue 8,192, block when full) with a null sink, same "
      "calls; ratio = spdlog p50 / evlog p50\n\n",
      opts.database.c_str(), format_count(static_cast<double>(opts.calls)).c_str(), opts.rate,
      format_count(static_cast<double>(opts.paced_calls)).c_str());
  std::vector<std::tuple<std::string, int, std::size_t>> plan;
  for (const std::string& mode : opts.modes) {
    for (const int p : opts.producers) {
      for (const std::size_t m : opts.metadata) {
        // The sleep-paced cell is there for honesty, not as a grid: 1 thread, 44 bytes.
        if (mode == "sleep" && !(p == 1 && (m == 44 || opts.metadata.size() == 1))) continue;
        plan.emplace_back(mode, p, m);
      }
    }
  }
  const bool sleep_asked = std::ranges::find(opts.modes, "sleep") != opts.modes.end();
  const bool sleep_planned =
      std::ranges::any_of(plan, [](const auto& cell) { return std::get<0>(cell) == "sleep"; });
  if (sleep_asked && !sleep_planned) {
    std::printf(
        "sleep: no cell: it runs with 1 producer and 44 B of metadata (or the only --metadata "
        "size given)\n\n");
  }
  std::printf("%-6s %4s %5s %10s | %-44s | %-44s | %7s\n", "mode", "thr", "meta", "calls",
              "evlog p50 / p90 / p99 / p99.9 / max", "spdlog p50 / p90 / p99 / p99.9 / max",
              "ratio");
  std::vector<Cell> cells;
  ProgressBar progress("bench latency", plan.size());
  bool ok = true;
  for (const auto& [mode, p, m] : plan) {
    progress.advance(0, mode + " " + std::to_string(p) + " thr " + std::to_string(m) + " B");
    cells.push_back(measure(opts, mode, p, m));
    progress.finish();
    print_row(cells.back());
    progress.advance(1);
    if (!cells.back().check.empty() || cells.back().evlog_failures > 0) ok = false;
  }
  progress.finish();
  const std::vector<std::string> verdicts = summary(cells);
  std::printf("\nwhat this run shows:\n");
  for (const std::string& v : verdicts) std::printf("  %s\n", v.c_str());
  if (!opts.json.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Cell& c : cells) {
      rows.push_back(
          {{"mode", c.mode},
           {"producers", c.producers},
           {"metadata_bytes", c.metadata},
           {"evlog", to_json(c.evlog)},
           {"evlog_failures", c.evlog_failures},
           {"spdlog", to_json(c.spdlog)},
           {"p50_ratio_spdlog_over_evlog", c.evlog.p50 > 0 ? c.spdlog.p50 / c.evlog.p50 : 0},
           {"check", c.check}});
    }
    write_json(opts.json, {{"bench", "latency"},
                           {"rate_per_thread", opts.rate},
                           {"cells", rows},
                           {"summary", verdicts}});
  }
  return ok;
}

}  // namespace

void add_bench_latency(CLI::App& bench, std::function<bool()>& chosen) {
  auto opts = std::make_shared<LatencyOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "latency", "Per-call cost of log() (p50 … max) vs spdlog's async logger, tight and paced");
  cmd->add_option("--database", opts->database,
                  "Scratch SQLite file, created and removed for each cell")
      ->capture_default_str();
  cmd->add_option("--calls", opts->calls, "Calls per tight-loop cell, all threads together")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1000}, std::uint64_t{100'000'000}));
  cmd->add_option("--paced-calls", opts->paced_calls,
                  "Calls per paced (and sleep) cell, all threads together")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1000}, std::uint64_t{100'000'000}));
  cmd->add_option("--rate", opts->rate, "Calls a second per thread in paced cells")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--producers", opts->producers, "Producer thread counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--metadata", opts->metadata, "Metadata sizes in bytes (JSON objects)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{60'000}));
  cmd->add_option("--modes", opts->modes,
                  "tight, paced (busy-wait), sleep (one cell: 1 producer, 44 B of metadata or "
                  "the only size given)")
      ->capture_default_str()
      ->check(CLI::IsMember({"tight", "paced", "sleep"}));
  cmd->add_flag("!--no-spdlog", opts->spdlog, "Skip the spdlog baseline");
  cmd->add_option("--json", opts->json, "Write every figure to this file");
  cmd->callback([opts, &chosen] { chosen = [opts] { return run_latency(*opts); }; });
}

}  // namespace evlog::cli
