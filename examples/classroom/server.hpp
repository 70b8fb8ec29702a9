// classroom/server.hpp — the classroom HTTP server: its routes, limits and lifecycle.
#pragma once

#include <memory>
#include <string>

#include "app_context.hpp"
#include "http_server.hpp"

namespace classroom {

struct ServerConfig {
  std::string database;
  std::string host = "127.0.0.1";
  int port = 8080;    // 0: any free port (see ClassroomServer::bind)
  std::string token;  // admin token for /metrics and /analytics; empty: both always 401
  LoggingMode logging = LoggingMode::evlog;
  int event_threads = 8;  // read and write connections, and run the handlers that never wait
  int threads = 64;       // run the handlers that may wait (open connections hold neither)
  unsigned connections_per_address = 128;
  unsigned max_connections = 4096;
  int head_timeout_seconds = 10;  // a whole request head; also how long a keep-alive may idle
  WebSecurity security;
};

class ClassroomServer {
 public:
  // Opens the database (creating the app's tables if missing) and the analytics logging.
  explicit ClassroomServer(const ServerConfig& config);
  ~ClassroomServer();

  // Binds the listening socket; returns the port. Throws std::runtime_error on failure.
  int bind();
  // Serves until stop(); then in-flight requests finish before it returns.
  void run();
  // Any thread, also before run() has started serving.
  void stop();
  // After run() returned: drains the analytics logger. True when nothing was lost.
  bool finish(std::chrono::milliseconds timeout);

  AppContext& app() { return *app_; }

 private:
  ServerConfig config_;
  std::unique_ptr<AppContext> app_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace classroom
