#include "bench_against_raw.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "report.hpp"

namespace evlog::cli {

void add_round_options(CLI::App& cmd, int& events, int& threads, int& rounds) {
  cmd.add_option("--events", events, "Events per side")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--threads", threads, "Producer threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd.add_option("--rounds", rounds, "Rounds of both sides, in alternating order (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 99));
}

Side log_page_views(evlog::Options options, int events, int threads, std::uint64_t& written) {
  options.on_full = evlog::OnFull::block;
  options.block_timeout = std::chrono::milliseconds(10000);
  evlog::Logger logger(options);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = t; i < events; i += threads) {
        (void)logger.log({.type = "page_view",
                          .user_id = i % 20 + 1,
                          .user_type = "student",
                          .metadata = R"({"path":"/tasks/3"})"});
      }
    });
  }
  for (auto& p : producers) p.join();
  const bool flushed = logger.flush(std::chrono::minutes(5));
  Side side;
  side.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const evlog::Stats s = logger.stats();
  side.batches = s.batches;
  written = flushed ? s.written : 0;
  return side;
}

RoundsResult run_rounds(const RawComparison& c) {
  RoundsResult result;
  ProgressBar progress(c.bench, static_cast<std::uint64_t>(c.rounds) * 2);
  std::vector<double> ratios;
  const std::string raw_head = c.raw_name + " rows/s";
  const int raw_width = static_cast<int>(raw_head.size()) + 2;
  std::printf("\n%-6s %*s %16s %10s %9s\n", "round", raw_width, raw_head.c_str(), "evlog events/s",
              "evlog/raw", "batches");
  for (int round = 1; round <= c.rounds; ++round) {
    // The order alternates, so that what one side leaves the server (dirty pages, WAL to
    // checkpoint, parts to merge) weighs on each side equally often.
    std::uint64_t written = 0;
    Side raw, ev;
    if (round % 2 == 1) {
      raw = c.raw(round);
      progress.advance(1, c.raw_name);
      ev = c.evlog(round, written);
      progress.advance(1, "evlog");
    } else {
      ev = c.evlog(round, written);
      progress.advance(1, "evlog");
      raw = c.raw(round);
      progress.advance(1, c.raw_name);
    }
    const double ratio = raw.rate() > 0 ? ev.rate() / raw.rate() : 0;
    ratios.push_back(ratio);
    progress.finish();
    std::printf("%-6d %*s %16s %9.0f%% %9s\n", round, raw_width, format_count(raw.rate()).c_str(),
                format_count(ev.rate()).c_str(), 100 * ratio,
                format_count(static_cast<double>(ev.batches)).c_str());
    if (raw.rows != c.events || ev.rows != c.events ||
        written != static_cast<std::uint64_t>(c.events)) {
      std::fprintf(stderr,
                   "evlog: bench %s: round %d: rows (%s %lld, evlog %lld, counted %llu) do not "
                   "match the %d events\n",
                   c.bench.c_str(), round, c.raw_name.c_str(), raw.rows, ev.rows,
                   static_cast<unsigned long long>(written), c.events);
      result.ok = false;
    }
    result.rounds.push_back(
        {{"round", round},
         {c.raw_key, {{"rows", raw.rows}, {"seconds", raw.seconds}, {"batches", raw.batches}}},
         {"evlog",
          {{"rows", ev.rows},
           {"seconds", ev.seconds},
           {"batches", ev.batches},
           {"written", written}}},
         {"ratio", ratio}});
  }
  std::sort(ratios.begin(), ratios.end());
  result.median = ratios[ratios.size() / 2];
  result.summary = "evlog wrote the events at " +
                   std::to_string(static_cast<int>(100 * result.median + 0.5)) +
                   "% of the rate of " + c.raw_what + " (the median over the rounds)";
  std::printf("\n%s (rounds %.0f%%..%.0f%%)\n", result.summary.c_str(), 100 * ratios.front(),
              100 * ratios.back());
  return result;
}

}  // namespace evlog::cli
