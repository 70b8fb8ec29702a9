#include "dashboard_data.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "schema.hpp"
#include "utc_time.hpp"

namespace classroom {
namespace {

// Seconds since 1970 of an evlog created_at text, in SQL.
constexpr const char* kEpochSql = "((julianday(created_at) - 2440587.5) * 86400.0)";

}  // namespace

DashboardData load_dashboard(Connection& connection) {
  create_analytics_table(connection);
  DashboardData data;
  const auto now = std::chrono::system_clock::now();
  const double now_epoch = std::chrono::duration<double>(now.time_since_epoch()).count();
  const std::string hour_ago = utc_text(now - std::chrono::hours(1));

  double first = now_epoch - 120;
  {
    Statement query(connection, std::string("SELECT MIN(") + kEpochSql +
                                    ") FROM analytics_events WHERE created_at >= ?1");
    query.bind(1, hour_ago);
    if (query.step() && !query.null_at(0)) first = std::min(first, query.double_at(0));
  }
  data.bucket_count = 30;
  data.bucket_seconds = std::max(4.0, std::ceil((now_epoch - first + 1) / data.bucket_count));
  data.start_epoch = now_epoch - data.bucket_seconds * data.bucket_count;

  {
    Statement query(connection,
                    std::string("SELECT event_type, CAST((") + kEpochSql +
                        " - ?1) / ?2 AS INTEGER) AS bucket, COUNT(*) FROM analytics_events "
                        // A created_at that is not a time (written by another program) has no
                        // bucket: NULL, which int_at() would read as bucket 0.
                        "WHERE created_at >= ?3 AND julianday(created_at) IS NOT NULL "
                        "GROUP BY 1, 2");
    query.bind(1, data.start_epoch)
        .bind(2, data.bucket_seconds)
        .bind(3, utc_text(std::chrono::system_clock::time_point(
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::duration<double>(data.start_epoch)))));
    while (query.step()) {
      const auto bucket = query.int_at(1);
      if (bucket < 0 || bucket >= data.bucket_count) continue;
      auto& counts = data.per_type[query.text_at(0)];
      counts.resize(static_cast<std::size_t>(data.bucket_count), 0);
      counts[static_cast<std::size_t>(bucket)] += query.int_at(2);
    }
  }
  {
    Statement query(connection,
                    "SELECT event_type, COUNT(*) FROM analytics_events GROUP BY 1 ORDER BY 2 DESC");
    while (query.step()) {
      data.totals[query.text_at(0)] = query.int_at(1);
      data.total_events += query.int_at(1);
    }
  }
  {
    Statement query(connection,
                    "SELECT COUNT(DISTINCT user_id) FROM analytics_events WHERE created_at >= ?1");
    query.bind(1, utc_text(now - std::chrono::minutes(15)));
    if (query.step()) data.active_users = query.int_at(0);
  }
  {
    Statement query(connection,
                    "SELECT created_at, event_type, user_type, user_id, metadata "
                    "FROM analytics_events ORDER BY id DESC LIMIT 12");
    while (query.step()) {
      std::string user;
      if (!query.null_at(3)) {
        user = (query.null_at(2) ? std::string("user") : query.text_at(2)) + " " +
               std::to_string(query.int_at(3));
      }
      data.recent.push_back({query.text_at(0), query.text_at(1), user, query.text_at(4)});
    }
  }
  return data;
}

}  // namespace classroom
