// classroom/app_context.hpp — what every route handler shares, and the helpers they use to
// authenticate, answer and record metrics.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <httplib.h>

#include "analytics.hpp"
#include "request_metrics.hpp"
#include "sqlite_db.hpp"
#include "store.hpp"

namespace classroom {

inline constexpr const char* kSessionCookie = "classroom_session";
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

struct AppContext {
  AppContext(const std::string& database, LoggingMode logging, std::string admin_token)
      : pool(database), store(pool), analytics(logging, database), token(std::move(admin_token)) {}

  ConnectionPool pool;
  Store store;
  Analytics analytics;
  RequestMetrics metrics;
  std::string token;  // for /metrics and /analytics; empty: both always answer 401
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Registers a route whose requests are timed and counted under `route`. BadRequest becomes a
// 400 naming the field; any other exception a 500 (logged to stderr).
void add_route(httplib::Server& server, AppContext& app, const std::string& method,
               const std::string& pattern, const std::string& route, Handler handler);

// True when the client asked for HTML (a browser); false for API clients (JSON answers).
bool wants_html(const httplib::Request& request);
// The session cookie's value, or empty.
std::string session_token(const httplib::Request& request);
// The logged-in user; when there is none, answers 401 (JSON) or a redirect to /login (HTML).
std::optional<User> require_user(AppContext& app, const httplib::Request& request,
                                 httplib::Response& response);
// True when the request carries the admin token (Bearer header or ?token=), compared in
// constant time; otherwise answers 401.
bool require_token(const AppContext& app, const httplib::Request& request,
                   httplib::Response& response);

void answer_json(httplib::Response& response, int status, const std::string& body);
void answer_error(const httplib::Request& request, httplib::Response& response, int status,
                  const std::string& message);
// After a successful action: 303 to `location` for a browser, else 200 with `json`.
void answer_done(const httplib::Request& request, httplib::Response& response,
                 const std::string& location, const std::string& json);
// {"path": "..."} for page_view and similar events.
std::string path_metadata(const httplib::Request& request);

}  // namespace classroom
