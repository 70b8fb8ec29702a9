// tools/evlog/report.hpp — what `evlog demo` and `evlog bench` print: percentiles of per-call
// latencies, durations and ratios in readable units, target verdicts, a progress bar on a
// terminal, and the --json file.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace evlog::cli {

// Nearest-rank percentile of sorted samples (0 when empty).
double percentile(const std::vector<std::int64_t>& sorted, double p);

// The percentiles every latency table shows, in nanoseconds.
struct LatencySummary {
  std::uint64_t calls = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};
// Summarises sorted per-call latencies in nanoseconds.
LatencySummary summarize(const std::vector<std::int64_t>& sorted);
nlohmann::json to_json(const LatencySummary& s);

// A duration in the unit that suits it, three significant digits: "182 ns", "41.2 µs", "5.01 ms",
// "1.35 s".
std::string format_ns(double ns);
// A count with thousands separators: "1,234,567".
std::string format_count(double n);
// `numerator / denominator` as "12.3×" (two significant digits below 10, none above 100).
std::string format_ratio(double numerator, double denominator);
// "met" or "MISSED", for a target line.
const char* verdict(bool met);

// A one-line progress bar on stderr, drawn only when stderr is a terminal (isatty), so that logs
// and pipes get clean output. Not thread-safe: update from one thread.
class ProgressBar {
 public:
  // `total` units of work (e.g. cells, or seconds × 10); `label` precedes the bar.
  ProgressBar(std::string label, std::uint64_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Adds `units` of completed work and redraws (at most every 100 ms), with `what` after the bar.
  void advance(std::uint64_t units, const std::string& what = "");
  // Clears the line (also done by the destructor).
  void finish();

 private:
  std::string label_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Writes `document` to `path` (pretty-printed); throws std::runtime_error when it cannot.
void write_json(const std::string& path, const nlohmann::json& document);

}  // namespace evlog::cli
