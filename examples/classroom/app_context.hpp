// classroom/app_context.hpp — what every route handler shares, and the helpers they use to
// authenticate, answer and record metrics.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "http_server.hpp"

#include "analytics.hpp"
#include "login_throttle.hpp"
#include "request_metrics.hpp"
#include "sqlite_db.hpp"
#include "store.hpp"

namespace classroom {

inline constexpr const char* kSessionCookie = "classroom_session";
// The cookie's name when the app is served over TLS: the __Host- prefix makes browsers accept it
// only with Secure, Path=/ and no Domain, so no other host or plain-HTTP page can set it.
inline constexpr const char* kSecureSessionCookie = "__Host-classroom_session";
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
// The least length of the admin token: 32 characters (128 bits as hex).
inline constexpr std::size_t kMinTokenChars = 32;

struct WebSecurity {
  bool served_over_tls = false;  // Secure, __Host- cookie; Origin compared with https://
  LoginLimits login;
};

struct AppContext {
  AppContext(const std::string& database, LoggingMode logging, std::string admin_token,
             WebSecurity security = {})
      : pool(database),
        store(pool),
        analytics(logging, database),
        token(std::move(admin_token)),
        served_over_tls(security.served_over_tls),
        logins(security.login) {}

  ConnectionPool pool;
  Store store;
  Analytics analytics;
  RequestMetrics metrics;
  std::string token;  // for /metrics and /analytics; empty: both always answer 401
  bool served_over_tls;
  LoginThrottle logins;

  const char* session_cookie() const {
    return served_over_tls ? kSecureSessionCookie : kSessionCookie;
  }
};

using Handler = std::function<void(const http::Request&, http::Response&)>;

// Registers a route whose requests are timed and counted under `route`, a path template (see
// http::Router). BadRequest becomes a
// 400 naming the field; any other exception a 500 (logged to stderr). A POST whose Origin names
// another site is refused (403) before its handler runs.
void add_route(http::Router& router, AppContext& app, const std::string& method,
               const std::string& route, Handler handler);

// True when the client asked for HTML (a browser); false for API clients (JSON answers).
bool wants_html(const http::Request& request);
// The session cookie's value, or empty.
std::string session_token(const AppContext& app, const http::Request& request);
// The logged-in user; when there is none, answers 401 (JSON) or a redirect to /login (HTML).
std::optional<User> require_user(AppContext& app, const http::Request& request,
                                 http::Response& response);
// True when the request carries the admin token (Bearer header or ?token=), compared in
// constant time; otherwise answers 401.
bool require_token(const AppContext& app, const http::Request& request, http::Response& response);

void answer_json(http::Response& response, int status, const std::string& body);
void answer_error(const http::Request& request, http::Response& response, int status,
                  const std::string& message);
// After a successful action: 303 to `location` for a browser, else 200 with `json`.
void answer_done(const http::Request& request, http::Response& response,
                 const std::string& location, const std::string& json);
// {"path": "..."} for page_view and similar events.
std::string path_metadata(const http::Request& request);

}  // namespace classroom
