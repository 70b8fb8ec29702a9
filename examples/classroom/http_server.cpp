#include "http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace classroom::http {

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string Request::get_header_value(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::get_param_value(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {}. `path` starts with "/". Empty segments ("//", a trailing "/")
// are kept: they match only themselves.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path == "/") return segments;
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) return segments;
    start = slash + 1;
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void Router::add(const std::string& method, const std::string& path_template, Handler handler) {
  if (path_template.empty() || path_template.front() != '/') {
    throw std::invalid_argument("route " + path_template + ": must start with /");
  }
  Route route{method, {}, std::move(handler)};
  for (std::string_view segment : split_path(path_template)) {
    const bool placeholder = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    route.segments.emplace_back(placeholder ? std::string_view("{}") : segment);
  }
  routes_.push_back(std::move(route));
}

bool Router::dispatch(Request& request, Response& response) const {
  if (request.path.empty() || request.path.front() != '/') return false;
  const std::string_view method =
      request.method == "HEAD" ? std::string_view("GET") : std::string_view(request.method);
  const std::vector<std::string_view> segments = split_path(request.path);
  for (const auto& route : routes_) {
    if (route.method != method || route.segments.size() != segments.size()) continue;
    std::vector<std::string> matches{request.path};
    bool matched = true;
    for (std::size_t i = 0; matched && i < segments.size(); ++i) {
      if (route.segments[i] == "{}") {
        matched = all_digits(segments[i]);
        if (matched) matches.emplace_back(segments[i]);
      } else {
        matched = route.segments[i] == segments[i];
      }
    }
    if (!matched) continue;
    request.matches = std::move(matches);
    route.handler(request, response);
    return true;
  }
  return false;
}

// One request, from its complete head to the end of its answer. Created and freed on the event
// thread; a worker has it between taking the job and setting `done`.
struct Server::Exchange {
  MHD_Connection* connection = nullptr;
  Request request;
  Response response;
  bool answered = false;   // a response is queued (a refusal, or the handler's)
  bool suspended = false;  // handed to a worker
  // Release by the worker after writing `response`; acquire by the event thread before reading
  // it. (MHD_resume_connection also orders them, through the daemon's mutex.)
  std::atomic<bool> done{false};
};

// One open connection. Guarded by peers_mutex_.
struct Server::Peer {
  int fd = -1;
  bool awaiting_head = true;  // from its start or its last answer until its next complete head
  std::chrono::steady_clock::time_point deadline;
  bool cut = false;  // its socket was shut down for an overdue head
};

// libmicrohttpd's callbacks: C functions that forward to the server.
struct Callbacks {
  static MHD_Result request(void* self, MHD_Connection* connection, const char* url,
                            const char* method, const char* /*version*/, const char* upload_data,
                            std::size_t* upload_size, void** context) {
    return static_cast<Server*>(self)->request(connection, url, method, upload_data, upload_size,
                                               context)
               ? MHD_YES
               : MHD_NO;
  }
  static void completed(void* self, MHD_Connection* /*connection*/, void** context,
                        MHD_RequestTerminationCode /*why*/) {
    static_cast<Server*>(self)->completed(context);
  }
  static void connection(void* self, MHD_Connection* connection, void** socket_context,
                         MHD_ConnectionNotificationCode what) {
    auto* server = static_cast<Server*>(self);
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
      server->connection_started(connection, socket_context);
    } else {
      server->connection_closed(socket_context);
    }
  }
  static MHD_Result add_header(void* request, MHD_ValueKind /*kind*/, const char* key,
                               const char* value) {
    static_cast<Request*>(request)->headers.emplace(key, value == nullptr ? "" : value);
    return MHD_YES;
  }
  static MHD_Result add_param(void* request, MHD_ValueKind /*kind*/, const char* key,
                              const char* value) {
    static_cast<Request*>(request)->params.emplace(key, value == nullptr ? "" : value);
    return MHD_YES;
  }
};

namespace {

std::string address_of(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return {};
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* address = info->client_addr;
  if (address->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                sizeof text);
  } else if (address->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

// The bytes of a head as received, near enough: request line and each "name: value\r\n".
std::size_t head_bytes(const Request& request) {
  std::size_t bytes = request.method.size() + request.path.size() + 12;
  for (const auto& [key, value] : request.params) bytes += key.size() + value.size() + 2;
  for (const auto& [name, value] : request.headers) bytes += name.size() + value.size() + 4;
  return bytes;
}

}  // namespace

Server::Server(Limits limits, Application application)
    : limits_(limits), app_(std::move(application)) {
  if (limits_.workers == 0) throw std::invalid_argument("workers: must be at least 1");
}

Server::~Server() {
  stop();
  // run() joined everything it started; a server never run still owns its socket.
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

int Server::bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("cannot listen on " + host + ": " + ::gai_strerror(rc));
  }
  std::string error = "no address";
  for (const addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd =
        ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // A load generator opens its connections at once: a short accept queue drops handshakes,
    // which the client retries 0.2-1 s later.
    if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      listen_fd_ = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) {
    throw std::runtime_error("cannot listen on " + host + ":" + service + ": " + error);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  return bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void Server::run() {
  if (listen_fd_ < 0) throw std::logic_error("run: bind() first");
  // Every connection is a descriptor: raise the soft limit toward the hard one if the
  // connection limit needs it, and never promise more connections than descriptors.
  unsigned max_connections = limits_.max_connections;
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;
    if (files.rlim_cur < wanted && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = std::min(wanted, files.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur < wanted) {
      max_connections = static_cast<unsigned>(files.rlim_cur > 512 ? files.rlim_cur - 256 : 256);
    }
  }
  for (unsigned i = 0; i < limits_.workers; ++i) workers_.emplace_back([this] { work(); });
  head_watcher_ = std::thread([this] { watch_heads(); });

  daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, nullptr, nullptr,
      &Callbacks::request, this, MHD_OPTION_LISTEN_SOCKET, listen_fd_, MHD_OPTION_THREAD_POOL_SIZE,
      limits_.event_threads, MHD_OPTION_CONNECTION_LIMIT, max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits_.max_connections_per_address,
      // The head is read into this per-connection pool: twice the head limit leaves room for
      // the answer's own head once a head at the limit has been read.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<std::size_t>(2 * limits_.max_head_bytes),
      MHD_OPTION_CONNECTION_TIMEOUT, limits_.idle_timeout_seconds, MHD_OPTION_NOTIFY_COMPLETED,
      &Callbacks::completed, this, MHD_OPTION_NOTIFY_CONNECTION, &Callbacks::connection, this,
      // Whitespace between a header's name and its colon is refused (400), as RFC 9112 asks:
      // one of the ambiguities request smuggling relies on.
      MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
  if (daemon_ == nullptr) {
    stop();
    {
      std::lock_guard lock(jobs_mutex_);
      jobs_closed_ = true;
    }
    jobs_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
    stop_watcher();
    throw std::runtime_error("cannot start the HTTP server (libmicrohttpd)");
  }
  listen_fd_ = -1;  // libmicrohttpd's now: MHD_stop_daemon closes it unless quiesced

  {
    std::unique_lock lock(run_mutex_);
    run_wake_.wait(lock, [this] { return stop_requested_; });
  }
  draining_.store(true);
  // No new connection from here on; the listening socket is ours again, to close.
  if (const MHD_socket fd = MHD_quiesce_daemon(daemon_); fd != MHD_INVALID_SOCKET) ::close(fd);
  const auto give_up = std::chrono::steady_clock::now() + limits_.drain_timeout;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Every job resumes its connection, which MHD_stop_daemon requires of suspended ones.
  {
    std::lock_guard lock(jobs_mutex_);
    jobs_closed_ = true;
  }
  jobs_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  stop_watcher();
}

void Server::stop_watcher() {
  {
    std::lock_guard lock(peers_mutex_);
    watcher_stop_ = true;
  }
  peers_wake_.notify_all();
  head_watcher_.join();
}

void Server::stop() {
  {
    std::lock_guard lock(run_mutex_);
    stop_requested_ = true;
  }
  run_wake_.notify_all();
}

bool Server::request(MHD_Connection* connection, const char* url, const char* method,
                     const char* upload_data, std::size_t* upload_size, void** context) {
  auto* exchange = static_cast<Exchange*>(*context);
  if (exchange == nullptr) {
    // The head is complete: the first call for this request.
    in_flight_.fetch_add(1);
    exchange = new Exchange();  // freed in completed(), which MHD calls once for each request
    *context = exchange;
    exchange->connection = connection;
    Request& request = exchange->request;
    request.method = method;
    request.path = url;
    request.remote_addr = address_of(connection);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &Callbacks::add_header, &request);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &Callbacks::add_param, &request);
    if (const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        info != nullptr && info->socket_context != nullptr) {
      std::lock_guard lock(peers_mutex_);
      static_cast<Peer*>(info->socket_context)->awaiting_head = false;
    }

    if (draining_.load()) return refuse(connection, *exchange, 503, "server: shutting down");
    if (request.headers.size() > limits_.max_headers) {
      return refuse(connection, *exchange, 431,
                    "headers: more than " + std::to_string(limits_.max_headers));
    }
    if (head_bytes(request) > limits_.max_head_bytes) {
      return refuse(connection, *exchange, 431,
                    "headers: the request head is larger than " +
                        std::to_string(limits_.max_head_bytes / 1024) + " KiB");
    }
    // Two lengths, or a length beside a transfer coding, are two readings of where the body
    // ends: the ambiguity request smuggling uses (RFC 9112, section 6.3).
    if (request.headers.count("Content-Length") > 1) {
      return refuse(connection, *exchange, 400, "Content-Length: given more than once");
    }
    if (request.has_header("Content-Length") && request.has_header("Transfer-Encoding")) {
      return refuse(connection, *exchange, 400,
                    "Content-Length: not allowed beside Transfer-Encoding");
    }
    const std::string length = request.get_header_value("Content-Length");
    std::size_t declared = 0;
    if (!length.empty() &&
        (std::from_chars(length.data(), length.data() + length.size(), declared).ec !=
             std::errc() ||
         declared > limits_.max_body_bytes)) {
      return refuse(connection, *exchange, 413,
                    "body: larger than " + std::to_string(limits_.max_body_bytes / 1024) + " KiB");
    }
    if (app_.screen) {
      if (auto refusal = app_.screen(request)) {
        return refuse(connection, *exchange, refusal->first, refusal->second);
      }
    }
    return true;
  }

  if (*upload_size != 0) {
    // A body chunk, de-chunked by libmicrohttpd when the framing is chunked: the limit counts
    // what arrives, so it holds for every framing, and nothing past it is kept.
    if (!exchange->answered) {
      if (exchange->request.body.size() + *upload_size > limits_.max_body_bytes) {
        exchange->request.body.clear();
        exchange->request.body.shrink_to_fit();
        *upload_size = 0;
        return refuse(
            connection, *exchange, 413,
            "body: larger than " + std::to_string(limits_.max_body_bytes / 1024) + " KiB");
      }
      exchange->request.body.append(upload_data, *upload_size);
    }
    *upload_size = 0;
    return true;
  }

  if (exchange->answered) return true;
  if (exchange->done.load(std::memory_order_acquire)) {
    exchange->answered = true;
    return answer(connection, exchange->request, exchange->response);
  }
  if (app_.may_block && !app_.may_block(exchange->request)) {
    // A request that cannot wait on anything (a page read) runs here, on the event thread
    // that read it: handing it to a worker and back costs two thread wake-ups, more than the
    // handler itself (measured in docs/classroom.md).
    exchange->answered = true;
    run_handler(*exchange);
    return answer(connection, exchange->request, exchange->response);
  }
  if (!exchange->suspended) {
    // The whole request is here, and its handler may wait (a write, a commit, a password
    // hash): a worker runs it while the connection is left out of the event loop, so that the
    // event thread's other connections go on; the worker resumes it with the answer.
    exchange->suspended = true;
    MHD_suspend_connection(connection);
    {
      std::lock_guard lock(jobs_mutex_);
      jobs_.push_back(exchange);
    }
    jobs_ready_.notify_one();
  }
  return true;
}

bool Server::refuse(MHD_Connection* connection, Exchange& exchange, int status,
                    const std::string& message) {
  exchange.answered = true;
  Response response;
  response.status = status;
  if (app_.refuse) {
    app_.refuse(exchange.request, response, status, message);
  } else {
    response.set_content(message, "text/plain; charset=utf-8");
  }
  // A refusal before the body was read ends the connection: what follows is not a request.
  response.set_header("Connection", "close");
  return answer(connection, exchange.request, response);
}

bool Server::answer(MHD_Connection* connection, const Request& request, const Response& response) {
  auto* body = new std::string(response.body);
  MHD_Response* reply = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* text) { delete static_cast<std::string*>(text); }, body);
  if (reply == nullptr) {
    delete body;
    return false;
  }
  for (const auto& [name, value] : response.headers) {
    // libmicrohttpd refuses a name or value with a line break (a split response): answer 500
    // rather than half the headers.
    if (MHD_add_response_header(reply, name.c_str(), value.c_str()) != MHD_YES) {
      std::fprintf(stderr, "evlog-classroom: %s %s: header %s refused\n", request.method.c_str(),
                   request.path.c_str(), name.c_str());
      MHD_destroy_response(reply);
      static const char kError[] = "internal error";
      reply = MHD_create_response_from_buffer(sizeof kError - 1, const_cast<char*>(kError),
                                              MHD_RESPMEM_PERSISTENT);
      const MHD_Result queued = MHD_queue_response(connection, 500, reply);
      MHD_destroy_response(reply);
      return queued == MHD_YES;
    }
  }
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(response.status), reply);
  MHD_destroy_response(reply);
  return queued == MHD_YES;
}

void Server::completed(void** context) {
  auto* exchange = static_cast<Exchange*>(*context);
  if (exchange == nullptr) return;
  *context = nullptr;
  if (const auto* info =
          MHD_get_connection_info(exchange->connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
      info != nullptr && info->socket_context != nullptr) {
    std::lock_guard lock(peers_mutex_);
    auto* peer = static_cast<Peer*>(info->socket_context);
    peer->awaiting_head = true;
    peer->deadline = std::chrono::steady_clock::now() + limits_.head_timeout;
  }
  delete exchange;
  in_flight_.fetch_sub(1);
}

void Server::connection_started(MHD_Connection* connection, void** socket_context) {
  auto peer = std::make_unique<Peer>();
  if (const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD)) {
    peer->fd = info->connect_fd;
  }
  peer->deadline = std::chrono::steady_clock::now() + limits_.head_timeout;
  *socket_context = peer.get();
  std::lock_guard lock(peers_mutex_);
  peers_.emplace(peer.get(), std::move(peer));
}

void Server::connection_closed(void** socket_context) {
  std::lock_guard lock(peers_mutex_);
  peers_.erase(static_cast<Peer*>(*socket_context));
  *socket_context = nullptr;
}

void Server::run_handler(Exchange& exchange) {
  try {
    app_.handle(exchange.request, exchange.response);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "evlog-classroom: %s %s: %s\n", exchange.request.method.c_str(),
                 exchange.request.path.c_str(), error.what());
    exchange.response = Response{};
    exchange.response.status = 500;
    exchange.response.set_content("internal error", "text/plain; charset=utf-8");
  }
}

void Server::work() {
  for (;;) {
    Exchange* job = nullptr;
    {
      std::unique_lock lock(jobs_mutex_);
      jobs_ready_.wait(lock, [this] { return jobs_closed_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    run_handler(*job);
    MHD_Connection* connection = job->connection;
    job->done.store(true, std::memory_order_release);
    // From here the event thread may answer and free the exchange: `job` is not touched again.
    MHD_resume_connection(connection);
  }
}

void Server::watch_heads() {
  std::unique_lock lock(peers_mutex_);
  for (;;) {
    peers_wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (watcher_stop_) return;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [key, peer] : peers_) {
      if (peer->awaiting_head && !peer->cut && peer->fd >= 0 && now >= peer->deadline) {
        // The event loop then reads end-of-stream and closes the connection itself.
        ::shutdown(peer->fd, SHUT_RDWR);
        peer->cut = true;
      }
    }
  }
}

}  // namespace classroom::http
