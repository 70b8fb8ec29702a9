#include "app_context.hpp"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "html.hpp"
#include "request_fields.hpp"
#include "request_guard.hpp"
#include "secrets.hpp"

namespace classroom {

void add_route(http::Router& router, AppContext& app, const std::string& method,
               const std::string& route, Handler handler) {
  app.metrics.add_route(route);
  auto wrapped = [&app, route, method, handler = std::move(handler)](const http::Request& req,
                                                                     http::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    try {
      // A browser names the page's site in Origin on every POST; one from another site is a
      // cross-site request forgery (SameSite=Lax keeps the cookie out of most, not all).
      if (method == "POST" && foreign_origin(req, app.served_over_tls)) {
        answer_error(req, res, 403, "Origin: requests from another site are refused");
      } else {
        handler(req, res);
      }
    } catch (const BadRequest& error) {
      answer_error(req, res, 400, error.what());
    } catch (const UnsupportedMediaType& error) {
      answer_error(req, res, 415, error.what());
    } catch (const std::exception& error) {
      std::fprintf(stderr, "evlog-classroom: %s %s: %s\n", method.c_str(), req.path.c_str(),
                   error.what());
      answer_error(req, res, 500, "internal error");
    }
    app.metrics.record(route, method, res.status, std::chrono::steady_clock::now() - start);
  };
  router.add(method, route, std::move(wrapped));
}

bool wants_html(const http::Request& request) {
  return request.get_header_value("Accept").find("text/html") != std::string::npos;
}

std::string session_token(const AppContext& app, const http::Request& request) {
  const std::string cookies = request.get_header_value("Cookie");
  const std::string key = std::string(app.session_cookie()) + "=";
  std::size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    std::size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    if (cookies.compare(pos, key.size(), key) == 0) {
      return cookies.substr(pos + key.size(), end - pos - key.size());
    }
    pos = end;
  }
  return {};
}

std::optional<User> require_user(AppContext& app, const http::Request& request,
                                 http::Response& response) {
  if (auto user = app.store.user_for_session(session_token(app, request))) return user;
  if (wants_html(request) && request.method == "GET") {
    response.status = 303;
    // Only matched routes get here: their paths are [a-z0-9/-], safe in a query string.
    response.set_header("Location", "/login?next=" + request.path);
  } else {
    answer_json(response, 401, R"({"error":"not logged in"})");
  }
  return std::nullopt;
}

bool require_token(const AppContext& app, const http::Request& request, http::Response& response) {
  std::string given;
  const std::string header = request.get_header_value("Authorization");
  if (header.rfind("Bearer ", 0) == 0) {
    given = header.substr(7);
  } else if (request.has_param("token")) {
    given = request.get_param_value("token");
  }
  if (!app.token.empty() && !given.empty() && constant_time_equal(given, app.token)) return true;
  response.set_header("WWW-Authenticate", "Bearer");
  answer_json(response, 401, R"({"error":"a valid token is required"})");
  return false;
}

void answer_json(http::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "application/json");
}

void answer_error(const http::Request& request, http::Response& response, int status,
                  const std::string& message) {
  if (wants_html(request)) {
    response.status = status;
    response.set_content(error_page(status, message), "text/html; charset=utf-8");
  } else {
    answer_json(response, status, nlohmann::json{{"error", message}}.dump());
  }
}

void answer_done(const http::Request& request, http::Response& response,
                 const std::string& location, const std::string& json) {
  if (wants_html(request)) {
    response.status = 303;
    response.set_header("Location", location);
  } else {
    answer_json(response, 200, json);
  }
}

std::string path_metadata(const http::Request& request) {
  return nlohmann::json{{"path", request.path}}.dump();
}

}  // namespace classroom
