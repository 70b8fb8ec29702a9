// classroom/routes.hpp — the app's routes, registered on the HTTP layer's router.
#pragma once

#include "http_server.hpp"

#include "app_context.hpp"

namespace classroom {

// GET /, /login, /tasks, /tasks/{id}, /files/{id}, /quizzes/{id}: HTML pages (page_view,
// file_download).
void add_page_routes(http::Router& router, AppContext& app);
// POST /login, /logout and the actions that write real data, then log their event.
void add_action_routes(http::Router& router, AppContext& app);
// GET /metrics (Prometheus) and /analytics (the dashboard), both behind the admin token.
void add_admin_routes(http::Router& router, AppContext& app);

}  // namespace classroom
