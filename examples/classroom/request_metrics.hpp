// classroom/request_metrics.hpp — the app's request counts and latency per route, for /metrics
// and the dashboard.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "latency_histogram.hpp"

namespace classroom {

class RequestMetrics {
 public:
  // Before the server starts (the set of routes is fixed afterwards).
  void add_route(const std::string& route);
  // Any thread.
  void record(const std::string& route, const std::string& method, int status,
              std::chrono::nanoseconds elapsed);
  // All routes together.
  const LatencyHistogram& overall() const { return overall_; }
  std::uint64_t requests() const { return overall_.count(); }
  // Prometheus text for classroom_http_requests_total and the latency histogram.
  void render(std::string& out) const;

 private:
  std::map<std::string, std::unique_ptr<LatencyHistogram>> latency_;  // read-only once serving
  LatencyHistogram overall_;
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;  // guarded
};

}  // namespace classroom
