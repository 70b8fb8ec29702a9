#include "dashboard_page.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "html.hpp"

namespace classroom {
namespace {

constexpr int kWidth = 1000;
constexpr int kHeight = 320;
constexpr int kLeft = 56;
constexpr int kRight = 16;
constexpr int kTop = 16;
constexpr int kBottom = 40;

std::string color_of(const std::string& type) {
  static const std::map<std::string, std::string> kColors{
      {"page_view", "#60a5fa"},        {"login", "#a78bfa"},
      {"file_download", "#94a3b8"},    {"task_start", "#f59e0b"},
      {"subtask_complete", "#10b981"}, {"task_complete", "#059669"},
      {"self_eval", "#f472b6"},        {"quiz_attempt", "#ef4444"}};
  if (const auto it = kColors.find(type); it != kColors.end()) return it->second;
  return "#64748b";
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string clock_label(double epoch) {
  const auto seconds = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%H:%M:%S", &tm);
  return buffer;
}

// A latency in seconds, for people.
std::string duration_text(double seconds) {
  if (seconds <= 0) return "–";
  if (seconds < 1e-3) return format("≤ %.0f µs", seconds * 1e6);
  return format("≤ %.1f ms", seconds * 1e3);
}

std::string tile(const std::string& label, const std::string& value, const std::string& note,
                 const std::string& id) {
  return "<div class=\"tile\" id=\"" + id + "\"><div class=\"label\">" + escape_html(label) +
         "</div><div class=\"value\">" + escape_html(value) + "</div><div class=\"muted\">" +
         escape_html(note) + "</div></div>";
}

constexpr const char* kDashboardStyle =
    "<style>.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:16px;margin-bottom:20px}"
    ".tile{background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002;padding:14px 16px}"
    ".tile .label{color:#475569;font-size:13px;font-weight:600;text-transform:uppercase;"
    "letter-spacing:.03em}.tile .value{font-size:28px;font-weight:700;color:#0f172a}"
    ".legend{display:flex;gap:16px;flex-wrap:wrap;margin-top:8px;font-size:14px}"
    ".swatch{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px}"
    ".grid2{display:grid;grid-template-columns:1fr 2fr;gap:20px}td.num{text-align:right}"
    "code{font-size:12px;color:#475569}</style>";

}  // namespace

std::string events_chart_svg(const DashboardData& data) {
  std::int64_t peak = 1;
  for (int b = 0; b < data.bucket_count; ++b) {
    std::int64_t sum = 0;
    for (const auto& [type, counts] : data.per_type) sum += counts[static_cast<std::size_t>(b)];
    peak = std::max(peak, sum);
  }
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const double bar_w = plot_w / data.bucket_count;
  std::string svg = "<svg id=\"events-chart\" viewBox=\"0 0 " + std::to_string(kWidth) + " " +
                    std::to_string(kHeight) +
                    "\" width=\"100%\" role=\"img\" aria-label=\"Events per type over time\" "
                    "style=\"font:12px system-ui,sans-serif\">";
  for (int i = 0; i <= 4; ++i) {  // horizontal grid lines with counts
    const double y = kTop + plot_h - plot_h * i / 4;
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(kWidth - kRight) +
           "\" y1=\"" + format("%.1f", y) + "\" y2=\"" + format("%.1f", y) +
           "\" stroke=\"#e2e8f0\"/><text x=\"" + std::to_string(kLeft - 8) + "\" y=\"" +
           format("%.1f", y + 4) + "\" text-anchor=\"end\" fill=\"#64748b\">" +
           format("%.0f", static_cast<double>(peak) * i / 4) + "</text>";
  }
  for (int b = 0; b < data.bucket_count; ++b) {
    double y = kTop + plot_h;
    const double x = kLeft + b * bar_w + 1.5;
    for (const auto& [type, counts] : data.per_type) {
      const auto count = counts[static_cast<std::size_t>(b)];
      if (count == 0) continue;
      const double h = plot_h * static_cast<double>(count) / static_cast<double>(peak);
      y -= h;
      svg += "<rect x=\"" + format("%.1f", x) + "\" y=\"" + format("%.1f", y) + "\" width=\"" +
             format("%.1f", bar_w - 3) + "\" height=\"" + format("%.1f", h) + "\" fill=\"" +
             color_of(type) + "\"><title>" + escape_html(display_text(type, 64)) + ": " +
             std::to_string(count) + "</title></rect>";
    }
    if (b % 6 == 0 || b == data.bucket_count - 1) {
      svg += "<text x=\"" + format("%.1f", x + bar_w / 2) + "\" y=\"" +
             std::to_string(kHeight - kBottom + 18) +
             "\" text-anchor=\"middle\" fill=\"#64748b\">" +
             clock_label(data.start_epoch + (b + 1) * data.bucket_seconds) + "</text>";
    }
  }
  svg += "<text x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kHeight - 4) +
         "\" fill=\"#94a3b8\">UTC, " + format("%.0f", data.bucket_seconds) +
         " s per bar</text></svg>";
  return svg;
}

std::string dashboard_page(const DashboardData& data, const AppContext& app) {
  const Analytics& analytics = app.analytics;
  const auto stats = analytics.stats();
  const std::string mode(to_string(analytics.mode()));
  std::string body = kDashboardStyle;
  body += "<h1>Analytics <span class=\"muted\" style=\"font-size:16px\">logging: " + mode +
          "</span></h1><div class=\"tiles\">";
  body += tile("Events", std::to_string(data.total_events), "in the table", "tile-events");
  body += tile("Active users", std::to_string(data.active_users), "last 15 minutes", "tile-active");
  body += tile("Critical committed", std::to_string(analytics.critical_committed()),
               "durable before the response", "tile-critical");
  body += tile("Dropped", stats ? std::to_string(stats->dropped) : "0",
               stats ? "queue full: " + std::to_string(stats->dropped_queue_full)
                     : "failed: " + std::to_string(analytics.failed()),
               "tile-dropped");
  body += tile("Retries", stats ? std::to_string(stats->retries) : "0",
               stats && stats->database_failing ? "database failing now" : "database healthy",
               "tile-retries");
  const auto& latency = analytics.log_latency();
  body +=
      tile("Logging latency", duration_text(latency.quantile_upper_bound(0.99)),
           "p99 of log(); p50 " + duration_text(latency.quantile_upper_bound(0.5)), "tile-latency");
  body += "</div><div class=\"card\"><h2>Events per type over time</h2>";
  body += events_chart_svg(data);
  body += "<div class=\"legend\">";
  for (const auto& [type, count] : data.totals) {
    body += "<span><span class=\"swatch\" style=\"background:" + color_of(type) + "\"></span>" +
            escape_html(display_text(type, 64)) + "</span>";
  }
  body +=
      "</div></div><div class=\"grid2\"><div class=\"card\"><h2>Totals</h2><table "
      "id=\"totals\"><tr><th>Event type</th><th class=\"num\">Count</th></tr>";
  for (const auto& [type, count] : data.totals) {
    body += "<tr><td>" + escape_html(display_text(type, 64)) +
            "</td><td class=\"num\" data-type=\"" + escape_html(display_text(type, 64)) + "\">" +
            std::to_string(count) + "</td></tr>";
  }
  body +=
      "</table></div><div class=\"card\"><h2>Latest events</h2><table id=\"recent\">"
      "<tr><th>Time (UTC)</th><th>Type</th><th>User</th><th>Metadata</th></tr>";
  for (const auto& event : data.recent) {
    // The time of day of evlog's created_at ("2026-12-05T16:30:48.123456Z"); a row written by
    // another program may hold any text there, shown as it is (cut).
    const bool evlog_time = event.created_at.size() >= 19 && event.created_at[10] == 'T';
    const std::string time =
        evlog_time ? event.created_at.substr(11, 8) : display_text(event.created_at, 19);
    body += "<tr><td>" + escape_html(time) + "</td><td>" +
            escape_html(display_text(event.type, 64)) + "</td><td>" +
            escape_html(display_text(event.user, 64)) + "</td><td><code>" +
            escape_html(display_text(event.metadata, 60)) + "</code></td></tr>";
  }
  body += "</table></div></div>";
  if (stats) {
    body += "<p class=\"muted\">evlog: " + std::to_string(stats->written) + " written in " +
            std::to_string(stats->batches) + " transactions, " + std::to_string(stats->queued) +
            " queued, oldest queued " +
            format("%.1f ms", static_cast<double>(stats->oldest_queued_age.count()) / 1e3) + ", " +
            std::to_string(stats->lost) +
            " lost. Requests served: " + std::to_string(app.metrics.requests()) + ".</p>";
  }
  return page("Analytics", nullptr, body);
}

}  // namespace classroom
