// classroom/http_server.hpp — the app's HTTP layer: requests, responses, routes, and a server
// on GNU libmicrohttpd that bounds what one client can hold.
//
// A few event threads (epoll) read and write every connection: an idle or slow connection costs
// a socket and a small buffer, never a thread. A request is handled only once its head and body
// are complete: on the event thread when its handler cannot block, else on a worker thread, whose
// answer goes back to the event thread to be written.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct MHD_Daemon;
struct MHD_Connection;

namespace classroom::http {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;
  std::string path;  // percent-decoded, without the query
  Headers headers;
  std::multimap<std::string, std::string> params;  // the query's, decoded
  std::string body;
  std::string remote_addr;
  std::vector<std::string> matches;  // the route pattern's match: [0] the path, then its groups

  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
  // The first value of the header, or empty.
  std::string get_header_value(const std::string& name) const;
  bool has_param(const std::string& name) const { return params.count(name) != 0; }
  std::string get_param_value(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Adds a header; Set-Cookie may be added more than once.
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  void set_content(std::string content, std::string content_type) {
    body = std::move(content);
    set_header("Content-Type", std::move(content_type));
  }
};

using Handler = std::function<void(const Request&, Response&)>;

// Routes by method and path template: "/tasks/{id}/subtasks/{n}/complete" matches a path of the
// same segments, where a {name} segment is one or more decimal digits. HEAD is routed as GET (the
// server then sends the head of the answer alone).
class Router {
 public:
  // Throws std::invalid_argument for a template that is not "/" followed by segments.
  void add(const std::string& method, const std::string& path_template, Handler handler);
  // False when no route matches; `request.matches` is filled for the one that does: the path,
  // then each {name} segment's digits.
  bool dispatch(Request& request, Response& response) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{}" stands for a run of digits
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct Limits {
  // Threads that read and write connections (each its own epoll set and share of them) and
  // run the handlers that cannot block.
  unsigned event_threads = 8;
  unsigned workers = 64;                   // threads that run the handlers that may block
  std::size_t max_body_bytes = 64 * 1024;  // any framing: Content-Length or chunked
  std::size_t max_head_bytes = 16 * 1024;  // request line and headers together
  std::size_t max_headers = 100;           // header fields in one request
  unsigned max_connections = 4096;         // all clients (also bounded by the open-file limit)
  unsigned max_connections_per_address = 128;
  std::chrono::seconds head_timeout{10};   // a whole request head, and an idle keep-alive gap
  unsigned idle_timeout_seconds = 10;      // no byte moved while a body or an answer is under way
  std::chrono::seconds drain_timeout{30};  // at stop(): how long in-flight requests may take
};

// What the server asks of the app.
struct Application {
  // On the event thread, once a request head is complete and before any body byte is read: a
  // refusal (status and message) or nothing. Must not block.
  std::function<std::optional<std::pair<int, std::string>>(const Request&)> screen;
  // With the whole body: on a worker thread when may_block says so, else on the event thread.
  // The request is the exchange's own, so the handler may fill it in (the router's matches).
  std::function<void(Request&, Response&)> handle;
  // On the event thread, with the whole body: whether the handler may wait (on a lock, a
  // commit, a slow computation). Such requests run on a worker, so that they never hold up the
  // event thread's other connections. Unset: every request runs on a worker.
  std::function<bool(const Request&)> may_block;
  // Writes the answer to a refused request (by screen, or a limit of the server's own); on
  // the event thread, so it must not block.
  std::function<void(const Request&, Response&, int status, const std::string& message)> refuse;
};

class Server {
 public:
  Server(Limits limits, Application application);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; port 0 picks a free one. Returns the port; throws std::runtime_error.
  int bind(const std::string& host, int port);
  // Serves until stop(); then requests in flight are answered (for at most drain_timeout) before
  // it returns.
  void run();
  // Any thread, also before run().
  void stop();

 private:
  struct Exchange;
  struct Peer;
  friend struct Callbacks;  // libmicrohttpd's C callbacks, in the .cpp

  // Each returns false to make libmicrohttpd close the connection.
  bool request(MHD_Connection* connection, const char* url, const char* method,
               const char* upload_data, std::size_t* upload_size, void** context);
  bool answer(MHD_Connection* connection, const Request& request, const Response& response);
  bool refuse(MHD_Connection* connection, Exchange& exchange, int status,
              const std::string& message);
  void completed(void** context);
  void connection_started(MHD_Connection* connection, void** socket_context);
  void connection_closed(void** socket_context);
  void run_handler(Exchange& exchange);
  void work();
  void watch_heads();
  void stop_watcher();

  Limits limits_;
  Application app_;
  int listen_fd_ = -1;
  MHD_Daemon* daemon_ = nullptr;

  // Requests handed to the workers. The mutex orders a job's hand-over; the job's own result
  // goes back through MHD_resume_connection (which takes the daemon's mutex) and Exchange::done.
  std::mutex jobs_mutex_;
  std::condition_variable jobs_ready_;
  std::deque<Exchange*> jobs_;
  bool jobs_closed_ = false;
  std::vector<std::thread> workers_;

  // Open connections, for the head deadline: the watcher shuts down the socket of one whose head
  // is overdue. Entries leave in on_connection(CLOSED), which MHD calls before it closes the
  // socket, under the same mutex: the watcher never touches a closed (maybe reused) descriptor.
  std::mutex peers_mutex_;
  std::condition_variable peers_wake_;
  std::map<Peer*, std::unique_ptr<Peer>> peers_;
  bool watcher_stop_ = false;
  std::thread head_watcher_;

  std::mutex run_mutex_;
  std::condition_variable run_wake_;
  bool stop_requested_ = false;
  // Requests from a complete head to their last answer byte (or their connection's end).
  // seq_cst with draining_: a request counted before draining_ is set is waited for; one counted
  // after it reads draining_ == true and is answered 503 without reaching a worker.
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
};

}  // namespace classroom::http
