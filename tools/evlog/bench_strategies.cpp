// tools/evlog/bench_strategies.cpp — `evlog bench strategies`; see bench_strategies.hpp.
#include "bench_strategies.hpp"

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "bench.hpp"
#include "paced_replay.hpp"
#include "sqlite_baseline.hpp"

namespace evlog::cli {
namespace {

// The classroom app's critical types (docs/background.md).
const std::set<std::string, std::less<>> kCritical{"task_complete", "subtask_complete",
                                                   "quiz_attempt", "task_start"};

// Strategy 3: critical types through a synchronous transaction of their own, the rest async.
class MixedRecorder {
 public:
  MixedRecorder(evlog::Logger& logger, const std::string& path, SyncInserterOptions sync)
      : async_(logger), sync_(path, std::move(sync)) {}
  bool record(const evlog::Event& event) {
    failing_ = kCritical.contains(event.type);
    return failing_ ? sync_.record(event) : async_.record(event);
  }
  const std::string& failure() const { return failing_ ? sync_.failure() : async_.failure(); }

 private:
  LogRecorder async_;
  SyncInserter sync_;
  bool failing_ = false;
};

// Samples Stats::queued at random instants (1–20 ms apart) while alive: what a crash at that
// instant could lose (admitted, not yet committed).
class LossSampler {
 public:
  explicit LossSampler(evlog::Logger& logger)
      : thread_([this, &logger](std::stop_token stop) {
          std::mt19937 rng(12345);
          std::uniform_int_distribution<int> gap_us(1000, 20000);
          while (!stop.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::microseconds(gap_us(rng)));
            samples_.push_back(static_cast<std::int64_t>(logger.stats().queued));
          }
        }) {}
  // Stops sampling; returns the samples, sorted.
  std::vector<std::int64_t> stop() {
    thread_.request_stop();
    thread_.join();
    std::sort(samples_.begin(), samples_.end());
    return samples_;
  }

 private:
  std::vector<std::int64_t> samples_;
  std::jthread thread_;
};

std::string table_for(const StrategiesOptions& opts, int number) {
  switch (number) {
    case 1:
      return "strategy_1_sync_per_event";
    case 2:
      return "strategy_2_all_async";
    case 3:
      return "strategy_3_sync_critical";
    default:
      return opts.evlog_table;
  }
}

void fill_from(StrategyResult& r, const Samples& run) {
  r.page_view = summarize(run.other_ns);
  r.critical = summarize(run.critical_ns);
  r.failures = run.failures;
  if (run.failures > 0) {
    r.problems.push_back(std::to_string(run.failures) +
                         " calls failed (first: " + run.first_failure + ")");
  }
  const double ok_calls = static_cast<double>(run.latencies_ns.size() - run.failures);
  r.events_per_s = run.seconds > 0 ? ok_calls / run.seconds : 0;
  // Failures are counted against the critical rate too, to stay conservative.
  const double critical_ok =
      static_cast<double>(run.critical_ns.size()) - static_cast<double>(run.failures);
  r.critical_per_s = run.seconds > 0 ? std::max(0.0, critical_ok) / run.seconds : 0;
}

StrategyResult run_one(const StrategiesOptions& opts, int number, ProgressBar& progress) {
  StrategyResult r;
  r.number = number;
  r.table = table_for(opts, number);
  const char* names[] = {"", "sync insert per event", "all async (evlog)",
                         "critical sync, rest async", "evlog group commit"};
  r.name = names[number];
  if (opts.fresh_tables || number != 4) drop_table(opts.database, r.table);
  const Synchronous sync = opts.full ? Synchronous::full : Synchronous::normal;
  Pace pace{opts.threads, opts.rate, opts.seconds, &kCritical};
  const auto tick = [&](double) { progress.advance(1); };

  if (number == 1) {
    make_events_table(opts.database, r.table);
    const std::int64_t before = count_rows(opts.database, r.table);
    const Samples run = run_paced(
        pace,
        [&](int) {
          return SyncInserter(opts.database, {r.table, sync, false});
        },
        tick);
    fill_from(r, run);
    r.rows_added = count_rows(opts.database, r.table) - before;
    r.rows_expected = static_cast<std::int64_t>(run.latencies_ns.size() - run.failures);
    r.samples = 1;  // nothing is ever queued: a call returns after its commit
  } else {
    evlog::Options options;
    options.database = opts.database;
    options.table = r.table;
    options.durability = opts.full ? evlog::Durability::full : evlog::Durability::normal;
    if (number == 4) options.critical_types.insert(kCritical.begin(), kCritical.end());
    const std::int64_t before = count_rows(opts.database, r.table);
    evlog::Logger logger(options);  // creates the table: strategy 3's inserts need it
    std::optional<LossSampler> sampler(std::in_place, logger);
    Samples run;
    if (number == 3) {
      run = run_paced(
          pace,
          [&](int) {
            return MixedRecorder(logger, opts.database, {r.table, sync, true});
          },
          tick);
    } else {
      run = run_paced(
          pace, [&](int) { return LogRecorder(logger); }, tick);
    }
    const std::vector<std::int64_t> lost = sampler->stop();
    const bool drained = logger.shutdown(std::chrono::seconds(60));
    const evlog::Stats s = logger.stats();
    fill_from(r, run);
    double sum = 0;
    for (const std::int64_t v : lost) sum += static_cast<double>(v);
    r.samples = lost.size();
    r.lost_mean = lost.empty() ? 0 : sum / static_cast<double>(lost.size());
    r.lost_max = percentile(lost, 1.0);
    r.rows_added = count_rows(opts.database, r.table) - before;
    // Strategy 3's synchronous inserts: critical calls less the failed ones. Every failed call
    // of the async part is counted in Stats (dropped or rejected), the rest of the failures are
    // the synchronous inserts'.
    std::uint64_t sync_ok = 0;
    if (number == 3) {
      const std::uint64_t async_failures =
          std::min<std::uint64_t>(run.failures, s.dropped + s.rejected);
      const std::uint64_t sync_failures = run.failures - async_failures;
      sync_ok =
          run.critical_ns.size() - std::min<std::uint64_t>(sync_failures, run.critical_ns.size());
    }
    r.rows_expected = static_cast<std::int64_t>(s.written + s.replayed + sync_ok);
    const std::uint64_t logged =
        run.latencies_ns.size() - (number == 3 ? run.critical_ns.size() : 0);
    const std::uint64_t accounted = s.accounted();
    r.accounting =
        "accounting: " + std::to_string(logged) + " calls = " + std::to_string(s.written) +
        " written + " + std::to_string(s.queued) + " queued + " + std::to_string(s.spilled) +
        " spilled + " + std::to_string(s.dropped) + " dropped + " + std::to_string(s.rejected) +
        " rejected + " + std::to_string(s.dead_lettered) + " dead-lettered + " +
        std::to_string(s.lost) + " lost" + (accounted == logged ? " (balanced)" : " (UNBALANCED)");
    if (accounted != logged) {
      r.problems.push_back("accounting unbalanced: " + std::to_string(accounted) + " of " +
                           std::to_string(logged) + " calls");
    }
    if (!drained) r.problems.push_back(std::to_string(s.lost) + " events lost at shutdown");
    if (s.dropped > 0) r.problems.push_back(std::to_string(s.dropped) + " events dropped");
  }
  if (r.rows_added != r.rows_expected) {
    r.problems.push_back("table gained " + std::to_string(r.rows_added) + " rows, expected " +
                         std::to_string(r.rows_expected));
  }
  return r;
}

void print_result(const StrategyResult& r) {
  std::printf("(%d) %-26s | %8s %8s %8s | %8s %8s %8s | %9s %9s | %7.1f %7.0f | %9s%s\n", r.number,
              r.name.c_str(), format_ns(r.page_view.p50).c_str(),
              format_ns(r.page_view.p99).c_str(), format_ns(r.page_view.p999).c_str(),
              format_ns(r.critical.p50).c_str(), format_ns(r.critical.p99).c_str(),
              format_ns(r.critical.p999).c_str(), format_count(r.events_per_s).c_str(),
              format_count(r.critical_per_s).c_str(), r.lost_mean, r.lost_max,
              format_count(static_cast<double>(r.rows_added)).c_str(),
              r.problems.empty() ? "" : "  CHECK FAILED");
  if (!r.accounting.empty()) std::printf("      %s\n", r.accounting.c_str());
  for (const std::string& p : r.problems) std::printf("      %s\n", p.c_str());
  std::fflush(stdout);
}

}  // namespace

std::vector<StrategyResult> run_strategies(const StrategiesOptions& opts) {
  std::printf(
      "strategies: classroom workload (page_view ≈ 95 %%; critical = task_start,"
      " subtask_complete, task_complete, quiz_attempt ≈ 3 %%), %d request threads sleep-paced to"
      " %s events/s in all (a thread that falls behind runs back to back), %d s each, database %s"
      " (WAL, %s)\n\n",
      opts.threads, format_count(opts.rate).c_str(), opts.seconds, opts.database.c_str(),
      opts.full ? "FULL" : "NORMAL");
  std::printf("%-30s | %-26s | %-26s | %-19s | %-15s | %9s\n", "strategy",
              "page_view p50 p99 p99.9", "critical p50 p99 p99.9", "events/s  critical/s",
              "lost: mean max", "rows");
  ProgressBar progress("bench strategies", 4 * static_cast<std::uint64_t>(opts.seconds) * 5);
  std::vector<StrategyResult> results;
  for (int n = 1; n <= 4; ++n) {
    results.push_back(run_one(opts, n, progress));
    progress.finish();
    print_result(results.back());
  }
  return results;
}

std::vector<std::string> strategy_summary(const std::vector<StrategyResult>& r) {
  std::vector<std::string> out;
  if (r.size() != 4) return out;
  // What a page view costs a request (every strategy but (1) queues it the same way).
  out.push_back("a page view costs a request " + format_ns(r[3].page_view.p50) +
                " at p50 with evlog (4), " + format_ratio(r[0].page_view.p50, r[3].page_view.p50) +
                " less than one synchronous insert per event (1, " + format_ns(r[0].page_view.p50) +
                ")");
  // What a critical event costs, and what it risks.
  out.push_back("a critical event waits for its commit: " + format_ns(r[3].critical.p50) +
                " at p50 and " + format_ns(r[3].critical.p99) + " at p99 with group commit (4), " +
                format_ns(r[2].critical.p50) + " and " + format_ns(r[2].critical.p99) +
                " with a transaction of its own (3)");
  out.push_back("events a crash would have lost, on average at a random instant: " +
                format_count(r[1].lost_mean) + " all async (2), " + format_count(r[2].lost_mean) +
                " critical sync (3), " + format_count(r[3].lost_mean) +
                " evlog (4), none of them critical in (3) and (4)");
  // The critical events/s are what was offered unless a strategy fell behind; the most SQLite
  // can commit is what `evlog bench commit` measures.
  out.push_back(
      "critical events/s: " + format_count(r[2].critical_per_s) + " (3), " +
      format_count(r[3].critical_per_s) + " (4), of the load offered; " +
      (r[1].failures == 0 && r[2].critical_per_s >= 0.95 * r[1].critical_per_s
           ? "both kept up with it (evlog bench commit measures how many each can sustain)"
           : "(3) fell behind it"));
  std::printf("\nwhat this run shows:\n");
  for (const std::string& v : out) std::printf("  %s\n", v.c_str());
  return out;
}

nlohmann::json to_json(const StrategyResult& r) {
  return {{"strategy", r.number},
          {"name", r.name},
          {"table", r.table},
          {"page_view", to_json(r.page_view)},
          {"critical", to_json(r.critical)},
          {"events_per_s", r.events_per_s},
          {"critical_per_s", r.critical_per_s},
          {"lost_on_crash_mean", r.lost_mean},
          {"lost_on_crash_max", r.lost_max},
          {"lost_samples", r.samples},
          {"rows_added", r.rows_added},
          {"rows_expected", r.rows_expected},
          {"failures", r.failures},
          {"accounting", r.accounting},
          {"problems", r.problems}};
}

void add_bench_strategies(CLI::App& bench, std::function<bool()>& chosen) {
  auto opts = std::make_shared<StrategiesOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "strategies", "The classroom workload under the four strategies, on one file");
  cmd->add_option("--database", opts->database, "SQLite file (tables strategy_*)")
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Request threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--rate", opts->rate, "Events a second offered, all threads together")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--seconds", opts->seconds, "Seconds per strategy")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--full", opts->full, "durability full / synchronous=FULL (default NORMAL)");
  cmd->add_option("--json", opts->json, "Write every figure to this file");
  cmd->callback([opts, &chosen] {
    chosen = [opts] {
      const std::vector<StrategyResult> results = run_strategies(*opts);
      const std::vector<std::string> findings = strategy_summary(results);
      bool ok = true;
      nlohmann::json rows = nlohmann::json::array();
      for (const StrategyResult& r : results) {
        rows.push_back(to_json(r));
        ok = ok && r.problems.empty();
      }
      if (!opts->json.empty()) {
        write_json(opts->json, {{"bench", "strategies"},
                                {"threads", opts->threads},
                                {"rate", opts->rate},
                                {"seconds", opts->seconds},
                                {"synchronous", opts->full ? "FULL" : "NORMAL"},
                                {"strategies", rows},
                                {"summary", findings}});
      }
      return ok;
    };
  });
}

}  // namespace evlog::cli
