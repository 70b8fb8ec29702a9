// classroom/schema.hpp — the app's own tables (the real data), in the same SQLite file as the
// analytics events.
#pragma once

#include "sqlite_db.hpp"

namespace classroom {

// Creates every app table if missing. Idempotent.
void create_schema(Connection& connection);

// Creates analytics_events in evlog's shape if missing (for --logging sync, which writes it
// without evlog), and an index on created_at for the dashboard.
void create_analytics_table(Connection& connection);
void create_analytics_index(Connection& connection);

}  // namespace classroom
