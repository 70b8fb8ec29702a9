#include "latency_histogram.hpp"

#include <cstdio>

namespace classroom {

void LatencyHistogram::observe(std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

double LatencyHistogram::quantile_upper_bound(double q) const {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return kBounds[i];
  }
  return kBounds.back() * 2;  // beyond the last bound
}

void LatencyHistogram::render(std::string& out, std::string_view name,
                              std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  // Appended, not "{" + labels + "}": GCC 12 at -O3 misreports that operator+ chain as an
  // overlapping memcpy (-Wrestrict, a false positive of its std::string inlining).
  std::string braces;
  if (!labels.empty()) braces.append("{").append(labels).append("}");
  std::uint64_t cumulative = 0;
  char number[64];
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBounds.size()) {
      std::snprintf(number, sizeof number, "%g", kBounds[i]);
    } else {
      std::snprintf(number, sizeof number, "+Inf");
    }
    out.append(name).append("_bucket{").append(prefix).append("le=\"").append(number);
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  std::snprintf(number, sizeof number, "%.9f",
                static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out.append(name).append("_sum").append(braces).append(" ").append(number).append("\n");
  out.append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(cumulative)).append("\n");
}

}  // namespace classroom
