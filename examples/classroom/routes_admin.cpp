#include <cstdio>

#include "dashboard_data.hpp"
#include "dashboard_page.hpp"
#include "routes.hpp"

namespace classroom {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", value);
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n").append(name).append(" ");
  out.append(number).append("\n");
}

std::string render_metrics(const AppContext& app) {
  std::string out;
  const Analytics& analytics = app.analytics;
  if (const auto stats = analytics.stats()) {
    for (const evlog::StatsField& field : evlog::kStatsFields) {
      const bool counter = field.kind == evlog::StatsField::Kind::counter;
      const std::string name = std::string("evlog_") + field.name + (counter ? "_total" : "");
      metric(out, name.c_str(), counter ? "counter" : "gauge", field.help,
             static_cast<double>((*stats).*field.member));
    }
    const auto g = [&](const char* name, const char* help, double value) {
      metric(out, name, "gauge", help, value);
    };
    g("evlog_oldest_queued_age_seconds", "Age of the oldest event not yet written.",
      static_cast<double>(stats->oldest_queued_age.count()) / 1e6);
    g("evlog_database_failing", "1 while the writer is failing to write.",
      stats->database_failing ? 1 : 0);
  }
  out +=
      "# HELP classroom_logging_mode The --logging mode this server runs with.\n"
      "# TYPE classroom_logging_mode gauge\nclassroom_logging_mode{mode=\"" +
      std::string(to_string(analytics.mode())) + "\"} 1\n";
  metric(out, "classroom_events_accepted_total", "counter",
         "Analytics events handed over (queued, committed or inserted).",
         static_cast<double>(analytics.accepted()));
  metric(out, "classroom_events_failed_total", "counter",
         "Analytics events that could not be handed over.",
         static_cast<double>(analytics.failed()));
  metric(out, "classroom_critical_events_committed_total", "counter",
         "Critical events durable before their response.",
         static_cast<double>(analytics.critical_committed()));
  out +=
      "# HELP classroom_log_call_duration_seconds Time a request thread spent logging one "
      "event.\n# TYPE classroom_log_call_duration_seconds histogram\n";
  analytics.log_latency().render(out, "classroom_log_call_duration_seconds", "");
  app.metrics.render(out);
  return out;
}

}  // namespace

void add_admin_routes(http::Router& router, AppContext& app) {
  add_route(router, app, "GET", "/metrics", [&app](const auto& req, auto& res) {
    if (!require_token(app, req, res)) return;
    res.status = 200;
    res.set_content(render_metrics(app), "text/plain; version=0.0.4; charset=utf-8");
  });

  add_route(router, app, "GET", "/analytics", [&app](const auto& req, auto& res) {
    if (!require_token(app, req, res)) return;
    auto connection = app.pool.acquire();
    const DashboardData data = load_dashboard(*connection);
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(dashboard_page(data, app), "text/html; charset=utf-8");
  });
}

}  // namespace classroom
