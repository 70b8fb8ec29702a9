#include "request_metrics.hpp"

#include "request_guard.hpp"

namespace classroom {
namespace {

// A label value as the Prometheus text format requires: backslash, double quote and newline
// escaped. Every value here comes from a fixed set; this keeps the format whole regardless.
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void RequestMetrics::add_route(const std::string& route) {
  latency_.try_emplace(route, std::make_unique<LatencyHistogram>());
}

void RequestMetrics::record(const std::string& route, const std::string& method, int status,
                            std::chrono::nanoseconds elapsed) {
  overall_.observe(elapsed);
  if (const auto it = latency_.find(route); it != latency_.end()) it->second->observe(elapsed);
  // The method comes from the client: counted under a fixed set of names, so that junk methods
  // neither break the text format nor add a series each.
  const std::string label(method_label(method));
  std::lock_guard lock(mutex_);
  ++counts_[{route, label, status}];
}

void RequestMetrics::render(std::string& out) const {
  out +=
      "# HELP classroom_http_requests_total HTTP requests answered, by route, method and "
      "status.\n# TYPE classroom_http_requests_total counter\n";
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : counts_) {
      const auto& [route, method, status] = key;
      out += "classroom_http_requests_total{route=\"" + label_value(route) + "\",method=\"" +
             label_value(method) + "\",status=\"" + std::to_string(status) + "\"} " +
             std::to_string(count) + "\n";
    }
  }
  out +=
      "# HELP classroom_http_request_duration_seconds Time from routing to the response, by "
      "route.\n# TYPE classroom_http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : latency_) {
    histogram->render(out, "classroom_http_request_duration_seconds", "route=\"" + route + "\"");
  }
}

}  // namespace classroom
