// classroom/dashboard_page.hpp — the /analytics page: tiles, an SVG chart of events per type
// over time, totals and the latest events. Drawn on the server; no scripts.
#pragma once

#include <string>

#include "app_context.hpp"
#include "dashboard_data.hpp"

namespace classroom {

std::string dashboard_page(const DashboardData& data, const AppContext& app);

// The stacked bar chart alone (an <svg> element).
std::string events_chart_svg(const DashboardData& data);

}  // namespace classroom
