// classroom/routes.hpp — the app's routes, registered on an httplib::Server.
#pragma once

#include <httplib.h>

#include "app_context.hpp"

namespace classroom {

// GET /, /login, /tasks, /tasks/{id}, /files/{id}, /quizzes/{id}: HTML pages (page_view,
// file_download).
void add_page_routes(httplib::Server& server, AppContext& app);
// POST /login, /logout and the actions that write real data, then log their event.
void add_action_routes(httplib::Server& server, AppContext& app);
// GET /metrics (Prometheus) and /analytics (the dashboard), both behind the admin token.
void add_admin_routes(httplib::Server& server, AppContext& app);

}  // namespace classroom
