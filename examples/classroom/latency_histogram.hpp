// classroom/latency_histogram.hpp — a lock-free latency histogram with Prometheus buckets.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace classroom {

class LatencyHistogram {
 public:
  // Upper bounds in seconds; the last bucket (+Inf) is implicit.
  static constexpr std::array<double, 15> kBounds{0.00001, 0.00005, 0.0001, 0.00025, 0.0005,
                                                  0.001,   0.0025,  0.005,  0.01,    0.025,
                                                  0.05,    0.1,     0.25,   0.5,     1.0};

  // Any thread. Relaxed: the counts are independent; a scrape may see one observation in
  // `count_` before its bucket, which Prometheus tolerates.
  void observe(std::chrono::nanoseconds elapsed);

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // An estimate of quantile q (0..1): the upper bound of the bucket holding it, in seconds.
  double quantile_upper_bound(double q) const;
  // Appends `name_bucket{labels,le=…}`, `name_sum{labels}` and `name_count{labels}` lines.
  // `labels` is empty or `key="value",…` without braces.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace classroom
