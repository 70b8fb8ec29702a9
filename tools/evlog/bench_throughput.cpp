// tools/evlog/bench_throughput.cpp — `evlog bench throughput`: sustained events/s from producer
// threads through evlog's writer into a SQLite file, beside the raw limit measured in the same run
// (one thread, prepared INSERTs of one row in 1,000-row and max_batch-row transactions, and of 32
// rows per statement in max_batch-row transactions as evlog's sink does; same schema with the
// event_id UNIQUE index, same pragmas), and the batch sizes the writer chose.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "report.hpp"
#include "sqlite_baseline.hpp"

namespace evlog::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kRawTable = "bench_throughput_raw";
constexpr const char* kEvlogTable = "bench_throughput_evlog";
constexpr const char* kMetadata = R"({"path":"/tasks/3","course":"python-101"})";
// Rows per multi-row INSERT in evlog's SQLite sink (src/sinks/sqlite/sqlite_sink.cpp).
constexpr std::size_t kRowsPerStatement = 32;

struct ThroughputOptions {
  std::string database = "bench.db";
  std::uint64_t events = 1'000'000;  // per measurement
  std::vector<int> producers{1, 2};
  std::string json;
};

// The limit: `events` rows from one thread through one prepared INSERT of `per_statement` rows
// (evlog's statement), in transactions of `batch` rows (a multiple of per_statement). Returns rows
// a second.
double raw_insert_rate(const ThroughputOptions& opts, std::size_t batch,
                       std::size_t per_statement) {
  drop_table(opts.database, kRawTable);
  make_events_table(opts.database, kRawTable);
  const Connection db = open_database(opts.database, Synchronous::normal);
  std::string sql = std::string("INSERT INTO ") + kRawTable +
                    " (event_id, event_type, user_id, user_type, metadata, created_at) VALUES ";
  for (std::size_t r = 0; r < per_statement; ++r)
    sql += r == 0 ? "(?,?,?,?,?,?)" : ",(?,?,?,?,?,?)";
  Statement insert = prepare(db.get(), sql + " ON CONFLICT(event_id) DO NOTHING");
  Statement begin = prepare(db.get(), "BEGIN IMMEDIATE");
  Statement commit = prepare(db.get(), "COMMIT");
  // The stamps are made before the clock starts: the limit is SQLite's, not snprintf's.
  EventStamper stamper;
  std::vector<EventStamper::Text> ids(opts.events);
  std::vector<EventStamper::Text> times(opts.events);
  for (std::uint64_t i = 0; i < opts.events; ++i) {
    stamper.uuid_v7(ids[i]);
    EventStamper::utc_now(times[i]);
  }
  const evlog::Event event{"page_view", 42, "student", kMetadata};
  const auto step = [&](sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db.get()));
    sqlite3_reset(s);
  };
  const std::uint64_t events = opts.events / per_statement * per_statement;
  const auto start = Clock::now();
  for (std::uint64_t done = 0; done < events;) {
    step(begin.get());
    for (std::size_t i = 0; i < batch && done < events; i += per_statement) {
      for (std::size_t r = 0; r < per_statement; ++r, ++done) {
        bind_event(insert.get(), ids[done].data(), event, times[done].data(),
                   static_cast<int>(6 * r));
      }
      step(insert.get());
    }
    step(commit.get());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(events) / seconds;
}

struct EvlogRun {
  double events_per_s = 0;
  evlog::Stats stats;
  std::int64_t rows = 0;
  std::vector<std::int64_t> interval_batch_sizes;  // written/batches per 10 ms interval, sorted
};

// `producers` threads log `events` events in all (OnFull::block, so none is dropped) into a fresh
// table; the clock stops when flush() has seen every one committed.
EvlogRun evlog_rate(const ThroughputOptions& opts, int producers) {
  drop_table(opts.database, kEvlogTable);
  evlog::Options options;
  options.database = opts.database;
  options.table = kEvlogTable;
  options.on_full = evlog::OnFull::block;
  options.block_timeout = std::chrono::seconds(10);
  EvlogRun run;
  evlog::Logger logger(options);
  std::atomic<bool> sampling{true};
  // Samples the batch counters every 10 ms: the average batch of each interval (Stats has no
  // per-batch histogram).
  std::jthread sampler([&] {
    evlog::Stats last = logger.stats();
    while (sampling.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      const evlog::Stats now = logger.stats();
      if (now.batches > last.batches) {
        run.interval_batch_sizes.push_back(
            static_cast<std::int64_t>((now.written - last.written) / (now.batches - last.batches)));
      }
      last = now;
    }
  });
  const auto start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < producers; ++t) {
      threads.emplace_back([&] {
        const evlog::Event event{"page_view", 42, "student", kMetadata};
        for (std::uint64_t i = 0; i < opts.events / static_cast<std::uint64_t>(producers); ++i) {
          (void)logger.log(event);  // outcomes are in the stats
        }
      });
    }
  }
  logger.flush(std::chrono::minutes(5));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sampling.store(false, std::memory_order_relaxed);
  sampler.join();
  logger.shutdown(std::chrono::minutes(1));
  run.stats = logger.stats();
  run.events_per_s = static_cast<double>(run.stats.written) / seconds;
  run.rows = count_rows(opts.database, kEvlogTable);
  std::sort(run.interval_batch_sizes.begin(), run.interval_batch_sizes.end());
  return run;
}

bool run_throughput(const ThroughputOptions& opts) {
  std::printf(
      "evlog bench throughput: %s events per measurement, 44-byte metadata, database %s (WAL,"
      " NORMAL, table with event_id UNIQUE)\n\n",
      format_count(static_cast<double>(opts.events)).c_str(), opts.database.c_str());
  const std::size_t max_batch = evlog::Options{}.max_batch;
  ProgressBar progress("bench throughput", 3 + opts.producers.size());
  const double raw_1000 = raw_insert_rate(opts, 1000, 1);
  progress.advance(1);
  const double raw_max = raw_insert_rate(opts, max_batch, 1);
  progress.advance(1);
  const double raw_grouped = raw_insert_rate(opts, max_batch, kRowsPerStatement);
  progress.advance(1);
  const double limit = std::max({raw_1000, raw_max, raw_grouped});
  progress.finish();
  const std::string big = format_count(static_cast<double>(max_batch));
  std::printf(
      "raw prepared INSERT, 1 thread, 1 row a statement, 1,000-row transactions  %12s rows/s\n",
      format_count(raw_1000).c_str());
  std::printf(
      "raw prepared INSERT, 1 thread, 1 row a statement, %s-row transactions  %12s rows/s\n",
      big.c_str(), format_count(raw_max).c_str());
  std::printf(
      "raw prepared INSERT, 1 thread, %zu rows a statement, %s-row transactions %12s rows/s\n",
      kRowsPerStatement, big.c_str(), format_count(raw_grouped).c_str());
  std::printf(
      "the limit (the best of the three)                                         %12s rows/s\n\n",
      format_count(limit).c_str());
  std::printf("%9s | %12s %9s %9s | %10s %26s | %s\n", "producers", "evlog ev/s", "of limit",
              "of 1,000", "avg batch", "10 ms-interval batch p10/p50/p90", "checks");
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::string> verdicts;
  bool ok = true;
  for (const int p : opts.producers) {
    const EvlogRun r = evlog_rate(opts, p);
    progress.advance(1);
    progress.finish();
    const double avg = r.stats.batches > 0 ? static_cast<double>(r.stats.written) /
                                                 static_cast<double>(r.stats.batches)
                                           : 0;
    const auto& b = r.interval_batch_sizes;
    const bool checks = r.rows == static_cast<std::int64_t>(r.stats.written) &&
                        r.stats.written == opts.events / static_cast<std::uint64_t>(p) * p;
    ok = ok && checks;
    std::printf(
        "%9d | %12s %8.0f%% %8.0f%% | %10.0f %8.0f / %6.0f / %6.0f | rows %s, dropped %s%s\n", p,
        format_count(r.events_per_s).c_str(), 100 * r.events_per_s / limit,
        100 * r.events_per_s / raw_1000, avg, percentile(b, 0.1), percentile(b, 0.5),
        percentile(b, 0.9), format_count(static_cast<double>(r.rows)).c_str(),
        format_count(static_cast<double>(r.stats.dropped)).c_str(),
        checks ? "" : "  CHECK FAILED (rows != written or events missing)");
    verdicts.push_back(std::to_string(p) + " producer(s): evlog wrote " +
                       format_count(r.events_per_s) + " events/s, " +
                       std::to_string(std::lround(100 * r.events_per_s / limit)) +
                       "% of what one thread inserting prepared rows reached in this run (" +
                       format_count(limit) + " rows/s)");
    rows.push_back({{"producers", p},
                    {"events_per_s", r.events_per_s},
                    {"fraction_of_limit", r.events_per_s / limit},
                    {"fraction_of_raw_1000", r.events_per_s / raw_1000},
                    {"written", r.stats.written},
                    {"batches", r.stats.batches},
                    {"average_batch", avg},
                    {"rows", r.rows},
                    {"dropped", r.stats.dropped},
                    {"interval_batch_p10", percentile(b, 0.1)},
                    {"interval_batch_p50", percentile(b, 0.5)},
                    {"interval_batch_p90", percentile(b, 0.9)}});
  }
  std::printf("\nwhat this run shows:\n");
  for (const std::string& v : verdicts) std::printf("  %s\n", v.c_str());
  if (!opts.json.empty()) {
    write_json(opts.json, {{"bench", "throughput"},
                           {"events", opts.events},
                           {"raw_1000_rows_per_s", raw_1000},
                           {"raw_max_batch_rows_per_s", raw_max},
                           {"raw_grouped_rows_per_s", raw_grouped},
                           {"raw_rows_per_statement", kRowsPerStatement},
                           {"limit_rows_per_s", limit},
                           {"max_batch", max_batch},
                           {"evlog", rows},
                           {"summary", verdicts}});
  }
  return ok;
}

}  // namespace

void add_bench_throughput(CLI::App& bench, std::function<bool()>& chosen) {
  auto opts = std::make_shared<ThroughputOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "throughput", "Sustained events/s into SQLite vs a raw prepared INSERT loop (the limit)");
  cmd->add_option("--database", opts->database, "SQLite file (tables bench_throughput_*)")
      ->capture_default_str();
  cmd->add_option("--events", opts->events, "Events per measurement")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{10'000}, std::uint64_t{100'000'000}));
  cmd->add_option("--producers", opts->producers, "Producer thread counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--json", opts->json, "Write every figure to this file");
  cmd->callback([opts, &chosen] { chosen = [opts] { return run_throughput(*opts); }; });
}

}  // namespace evlog::cli
