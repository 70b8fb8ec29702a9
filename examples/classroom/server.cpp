#include "server.hpp"

#include <optional>
#include <utility>

#include "request_guard.hpp"
#include "routes.hpp"
#include "schema.hpp"

namespace classroom {
ClassroomServer::ClassroomServer(const ServerConfig& config) : config_(config) {
  {
    Connection connection(config.database);
    create_schema(connection);
  }
  app_ =
      std::make_unique<AppContext>(config.database, config.logging, config.token, config.security);
  {
    auto connection = app_->pool.acquire();
    create_analytics_table(*connection);
    create_analytics_index(*connection);
  }

  add_page_routes(router_, *app_);
  add_action_routes(router_, *app_);
  add_admin_routes(router_, *app_);

  http::Limits limits;
  limits.event_threads = static_cast<unsigned>(config.event_threads);
  limits.workers = static_cast<unsigned>(config.threads);
  limits.max_body_bytes = kMaxBodyBytes;
  limits.max_connections = config.max_connections;
  limits.max_connections_per_address = config.connections_per_address;
  limits.head_timeout = std::chrono::seconds(config.head_timeout_seconds);

  http::Application application;
  // On the event thread, from the head alone: what is refused here costs no body bytes.
  application.screen =
      [](const http::Request& request) -> std::optional<std::pair<int, std::string>> {
    if (const auto refusal = framing_refusal(request)) {
      return std::pair{refusal->status, refusal->message};
    }
    return std::nullopt;
  };
  application.handle = [this](http::Request& request, http::Response& response) {
    // The router fills the request's matches.
    if (!router_.dispatch(request, response)) {
      answer_error(request, response, 404, "not found");
      app_->metrics.record("other", request.method, 404, {});
    }
  };
  // What may wait goes to a worker: writes (every POST: the app's transaction, a critical
  // event's commit, a password hash) and the dashboard's scans of the whole table; with
  // --logging sync, every page too, since its page_view is a transaction of its own. The other
  // pages read through the pool (which never waits: it opens a connection when none is free)
  // and run on the event thread.
  const bool pages_write = config.logging == LoggingMode::sync;
  application.may_block = [pages_write](const http::Request& request) {
    if (request.method != "GET" && request.method != "HEAD") return true;
    return pages_write || request.path == "/analytics";
  };
  application.refuse = [this](const http::Request& request, http::Response& response, int status,
                              const std::string& message) {
    const bool form =
        request.get_header_value("Content-Type").find("x-www-form-urlencoded") != std::string::npos;
    answer_error(request, response, status,
                 status == 413 && form ? "body: a form is limited to 64 KiB" : message);
    app_->metrics.record("other", request.method, status, {});
  };
  server_ = std::make_unique<http::Server>(limits, std::move(application));
}

ClassroomServer::~ClassroomServer() {
  stop();
  finish(std::chrono::seconds(5));
}

int ClassroomServer::bind() {
  return server_->bind(config_.host, config_.port);
}

void ClassroomServer::run() {
  server_->run();
}

void ClassroomServer::stop() {
  server_->stop();
}

bool ClassroomServer::finish(std::chrono::milliseconds timeout) {
  return app_->analytics.shutdown(timeout);
}

}  // namespace classroom
