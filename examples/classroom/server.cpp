#include "server.hpp"

#include <stdexcept>

#include "routes.hpp"
#include "schema.hpp"

namespace classroom {

ClassroomServer::ClassroomServer(const ServerConfig& config) : config_(config) {
  {
    Connection connection(config.database);
    create_schema(connection);
  }
  app_ = std::make_unique<AppContext>(config.database, config.logging, config.token);
  {
    auto connection = app_->pool.acquire();
    create_analytics_table(*connection);
    create_analytics_index(*connection);
  }

  const int threads = config.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(kMaxBodyBytes);
  server_.set_keep_alive_max_count(100000);
  server_.set_read_timeout(5, 0);
  server_.set_write_timeout(5, 0);
  // httplib writes a response's headers and body in separate writes. With Nagle's algorithm the
  // body then waits for the client's ACK of the headers, which a client with nothing to send
  // delays (40 ms on Linux): every request on a keep-alive connection took 44 ms.
  server_.set_tcp_nodelay(true);
  add_page_routes(server_, *app_);
  add_action_routes(server_, *app_);
  add_admin_routes(server_, *app_);
  server_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Unrouted paths (404), and limits httplib enforces itself (413 for bodies over 64 KiB).
    if (!res.body.empty()) return;
    const std::string message = res.status == 413   ? "body: larger than 64 KiB"
                                : res.status == 404 ? "not found"
                                : res.status == 400
                                    ? "request: malformed (a POST needs a Content-Length)"
                                    : "request refused";
    answer_error(req, res, res.status, message);
    app_->metrics.record("other", req.method, res.status, {});
  });
}

ClassroomServer::~ClassroomServer() {
  stop();
  finish(std::chrono::seconds(5));
}

int ClassroomServer::bind() {
  if (config_.port == 0) {
    const int port = server_.bind_to_any_port(config_.host);
    if (port <= 0) throw std::runtime_error("cannot listen on " + config_.host);
    return port;
  }
  if (!server_.bind_to_port(config_.host, config_.port)) {
    throw std::runtime_error("cannot listen on " + config_.host + ":" +
                             std::to_string(config_.port));
  }
  return config_.port;
}

void ClassroomServer::run() {
  server_.listen_after_bind();
}

void ClassroomServer::stop() {
  server_.stop();
}

bool ClassroomServer::finish(std::chrono::milliseconds timeout) {
  return app_->analytics.shutdown(timeout);
}

}  // namespace classroom
