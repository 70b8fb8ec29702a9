// classroom/dashboard_data.hpp — what the /analytics dashboard shows, read from the
// analytics_events table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sqlite_db.hpp"

namespace classroom {

struct RecentEvent {
  std::string created_at;
  std::string type;
  std::string user;  // "student 3" or "" for none
  std::string metadata;
};

struct DashboardData {
  // The chart: events per type in `bucket_count` equal buckets ending now.
  double start_epoch = 0;     // seconds since 1970 (UTC) at the chart's left edge
  double bucket_seconds = 0;  // width of one bucket
  int bucket_count = 0;
  std::map<std::string, std::vector<std::int64_t>> per_type;  // type → count per bucket
  // Totals over the whole table.
  std::map<std::string, std::int64_t> totals;
  std::int64_t total_events = 0;
  std::int64_t active_users = 0;    // distinct users with an event in the last 15 minutes
  std::vector<RecentEvent> recent;  // newest first
};

// Reads the table (created if missing). The chart spans from the first event of the last hour
// (at least the last 2 minutes) to now, in 30 buckets.
DashboardData load_dashboard(Connection& connection);

}  // namespace classroom
