#include "server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "request_guard.hpp"
#include "routes.hpp"
#include "schema.hpp"

namespace classroom {
namespace {

constexpr int kListenBacklog = 1024;

}  // namespace

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
  // The listening socket, kept to widen its backlog in bind() (called for it alone; accepted
  // sockets get TCP_NODELAY above, not these options).
  server_.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd_ = sock;
  });
  // Runs once the request head is read and before any of its body is: what is refused here
  // costs the server no body bytes. The request is httplib's own non-const object, passed here
  // as const.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto& request = const_cast<httplib::Request&>(req);
    if (const auto refusal = framing_refusal(request)) {
      const std::string json = nlohmann::json{{"error", refusal->message}}.dump();
      answer_and_close(request, refusal->status, json);
      answer_json(res, refusal->status, json);
      app_->metrics.record("other", request.method, refusal->status, {});
      return httplib::Server::HandlerResponse::Handled;
    }
    answer_ranges_whole(request);
    // A request with neither Content-Length nor Transfer-Encoding has an empty body (RFC 9112,
    // section 6.3), and clients send such POSTs (curl -X POST). httplib would instead read until
    // the connection closes, and answer 400 once its read timed out: give it the length the
    // message has.
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
         req.method == "DELETE") &&
        !req.has_header("Content-Length")) {
      request.headers.emplace("Content-Length", "0");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  add_page_routes(server_, *app_);
  add_action_routes(server_, *app_);
  add_admin_routes(server_, *app_);
  server_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Unrouted paths (404), and limits httplib enforces itself (413 for bodies over 64 KiB).
    if (!res.body.empty()) return;
    const bool form =
        req.get_header_value("Content-Type").find("x-www-form-urlencoded") != std::string::npos;
    const std::string message =
        res.status == 413 && form
            ? "body: a form is limited to " + std::to_string(kMaxFormBytes / 1024) + " KiB"
        : res.status == 413 ? "body: larger than 64 KiB"
        : res.status == 404 ? "not found"
        : res.status == 400 ? "request: malformed"
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
  int port = config_.port;
  if (port == 0) {
    port = server_.bind_to_any_port(config_.host);
    if (port <= 0) throw std::runtime_error("cannot listen on " + config_.host);
  } else if (!server_.bind_to_port(config_.host, port)) {
    throw std::runtime_error("cannot listen on " + config_.host + ":" + std::to_string(port));
  }
  // httplib listens with a backlog of 5 (compiled into Debian's libcpp-httplib). A load
  // generator opening its 32 connections at once overflowed that accept queue
  // (TcpExtListenOverflows in nstat): the dropped handshakes were retried 0.2-1 s later, and the
  // first requests on those connections carried the delay. Linux lets listen() be called again
  // on a listening socket to change its backlog (capped by net.core.somaxconn).
  if (listen_fd_ >= 0 && ::listen(listen_fd_, kListenBacklog) != 0) {
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  }
  return port;
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
