// ch_support.hpp — throwaway ClickHouse servers for the tests, and what the tests read them with.
//
//   - ChServer: one server, or a two-shard cluster with ZooKeeper, started by
//     scripts/clickhouse_server.sh in a private folder and stopped (also on failure) at the end.
//     stop()/restart() stop and start one server again on the same ports and data.
//   - ch_query(): a query over the HTTP interface, its answer as text (TabSeparatedRaw for one
//     value: the bytes as stored). Throws on any error.
//   - CuttingProxy: a TCP relay in front of a server that can cut a connection after a request
//     was relayed and before its answer reaches the client, and records the bodies of INSERTs.
//
// The servers come from Debian's clickhouse-server and zookeeper (the bootstrap installs them). A
// test that cannot start one FAILS: it never skips.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

#ifndef EVLOG_CLICKHOUSE_SCRIPT
#error "EVLOG_CLICKHOUSE_SCRIPT must name scripts/clickhouse_server.sh"
#endif

namespace evlog_test {

// Runs `command`; its standard output. Throws when it exits non-zero.
inline std::string run_command(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed (" + std::to_string(status) + ")");
  return out;
}

class ChServer {
 public:
  enum class Kind { single, cluster };

  explicit ChServer(Kind kind = Kind::single) : kind_(kind) {
    // Under /tmp and readable by others: the server may run as the clickhouse user.
    char pattern[] = "/tmp/evlog-ch-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
    ::chmod(root_.c_str(), 0755);
    const std::string out =
        run_command(std::string(EVLOG_CLICKHOUSE_SCRIPT) +
                    (kind == Kind::single ? " start " : " start-cluster ") + root_ + "/ch");
    // Lines of: export NAME='value'
    for (std::size_t at = 0; at < out.size();) {
      const std::size_t end = std::min(out.find('\n', at), out.size());
      const std::string line = out.substr(at, end - at);
      at = end + 1;
      const std::size_t eq = line.find('=');
      if (!line.starts_with("export ") || eq == std::string::npos) continue;
      std::string value = line.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
      env_[line.substr(7, eq - 7)] = value;
    }
  }
  ~ChServer() {
    // A failed test shows what the servers said: their error logs go away with the folder.
    // (An exception leaving the test body is recorded as a failure only after this runs.)
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
      try {
        std::fputs(run_command("tail -n 40 " + root_ + "/ch/log/*.err.log " + root_ +
                               "/ch/s*/log/*.err.log 2>/dev/null || true")
                       .c_str(),
                   stderr);
      } catch (...) {
      }
    }
    try {
      (void)run_command(std::string(EVLOG_CLICKHOUSE_SCRIPT) + " stop " + root_ + "/ch");
    } catch (...) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ChServer(const ChServer&) = delete;
  ChServer& operator=(const ChServer&) = delete;

  // The URI a Logger is given (the cluster's, through shard 1, for a cluster).
  std::string uri() const {
    return at(kind_ == Kind::single ? "EVLOG_TEST_CLICKHOUSE" : "EVLOG_TEST_CLICKHOUSE_CLUSTER");
  }
  // The HTTP base of a server: the only one, or shard 1 or 2 of a cluster.
  std::string http(int shard = 1) const {
    if (kind_ == Kind::single) return at("EVLOG_TEST_CLICKHOUSE_HTTP");
    return at(shard == 1 ? "EVLOG_TEST_CLICKHOUSE_S1_HTTP" : "EVLOG_TEST_CLICKHOUSE_S2_HTTP");
  }
  void stop(int shard = 1) { (void)run_command(script_on("stop-server", shard)); }
  void restart(int shard = 1) { (void)run_command(script_on("restart-server", shard)); }
  // SIGSTOP / SIGCONT of the server: it keeps its connections and answers nothing meanwhile.
  void freeze(int shard = 1) { signal_server(shard, SIGSTOP); }
  void thaw(int shard = 1) { signal_server(shard, SIGCONT); }

 private:
  std::string at(const std::string& name) const {
    const auto it = env_.find(name);
    if (it == env_.end()) throw std::runtime_error("the server script printed no " + name);
    return it->second;
  }
  std::string folder(int shard) const {
    return root_ + "/ch" + (kind_ == Kind::single ? "" : shard == 1 ? "/s1" : "/s2");
  }
  std::string script_on(const char* command, int shard) const {
    return std::string(EVLOG_CLICKHOUSE_SCRIPT) + " " + command + " " + folder(shard);
  }
  void signal_server(int shard, int signal) const {
    std::ifstream in(folder(shard) + "/server.pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0 || ::kill(pid, signal) != 0) {
      throw std::runtime_error("cannot signal the server in " + folder(shard));
    }
  }

  std::string root_;
  Kind kind_;
  std::map<std::string, std::string> env_;
};

// A query to the server at `http` (e.g. "http://127.0.0.1:8123"); the answer's text. With
// `settings` ("insert_distributed_sync=1&…") as URL parameters. Throws on any error.
inline std::string ch_query(const std::string& http, const std::string& sql,
                            const std::string& settings = "") {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  std::string answer;
  const std::string url = http + "/" + (settings.empty() ? "" : "?" + settings);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, sql.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(sql.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* user) {
        static_cast<std::string*>(user)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  const CURLcode result = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (result != CURLE_OK) {
    throw std::runtime_error(sql + ": " + curl_easy_strerror(result));
  }
  if (status != 200) throw std::runtime_error(sql + ": HTTP " + std::to_string(status) + answer);
  return answer;
}

// A statement that sets a test up, sent again (up to three times, a second apart) when it gets no
// answer or an error. Only for idempotent statements (IF NOT EXISTS). The cause seen so far, a
// server whose DDL worker started before ZooKeeper served and crashed on its first ON CLUSTER
// statement, is now kept out by scripts/clickhouse_server.sh; this is the second line.
inline void ch_setup(const std::string& http, const std::string& sql) {
  for (int attempt = 1;; ++attempt) {
    try {
      (void)ch_query(http, sql);
      return;
    } catch (const std::runtime_error& e) {
      if (attempt == 3) throw;
      std::fprintf(stderr, "set-up statement failed, sent again: %s\n", e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

// One number a query returns.
inline long long ch_scalar(const std::string& http, const std::string& sql) {
  return std::stoll(ch_query(http, sql));
}

// One value as stored: TabSeparatedRaw does not escape, and the row's newline is dropped.
inline std::string ch_value(const std::string& http, const std::string& sql) {
  std::string out = ch_query(http, sql + " FORMAT TabSeparatedRaw");
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A TCP relay from a port of its own to `port` on 127.0.0.1. cut_next_inserts(n) arms it: each of
// the next n INSERT requests is relayed whole to the server, and then the connection to the
// client is closed as soon as the server's answer starts, so the client never learns the outcome.
// It records the body of every INSERT it relays, in order.
class CuttingProxy {
 public:
  explicit CuttingProxy(int port) : upstream_(port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 16) != 0) {
      throw std::runtime_error("the proxy cannot listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  int port() const { return port_; }
  void cut_next_inserts(int n) { armed_ = n; }
  // Closes every connection now (whatever is in flight).
  void cut_all() { cut_all_ = true; }
  int cuts() const { return cuts_; }
  std::vector<std::string> inserts() const {
    std::lock_guard lock(mutex_);
    return inserts_;
  }

 private:
  struct Pair {
    int client = -1;
    int server = -1;
    std::string request;  // the current request's bytes, client to server
    bool cut_on_answer = false;
  };

  void serve() {
    std::vector<Pair> pairs;
    while (!stop_) {
      if (cut_all_.exchange(false)) {
        for (Pair& p : pairs) close_pair(p);
        std::erase_if(pairs, [](const Pair& p) { return p.client < 0; });
      }
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (const Pair& p : pairs) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      const std::size_t polled = pairs.size();  // a pair accepted below is polled next time
      if (fds[0].revents & POLLIN) {
        Pair p;
        p.client = ::accept(listener_, nullptr, nullptr);
        p.server = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(upstream_));
        if (p.client >= 0 && ::connect(p.server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          pairs.push_back(p);
        } else {
          close_pair(p);
        }
      }
      for (std::size_t i = 0; i < polled; ++i) {
        Pair& p = pairs[i];
        if (p.client < 0) continue;
        char buffer[65536];
        if (fds[1 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::read(p.client, buffer, sizeof buffer);
          if (n <= 0 || !send_all(p.server, buffer, static_cast<std::size_t>(n))) {
            close_pair(p);
            continue;
          }
          note_request(p, std::string_view(buffer, static_cast<std::size_t>(n)));
        }
        if (fds[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::read(p.server, buffer, sizeof buffer);
          if (n > 0 && p.cut_on_answer) {  // the server answered: the client never hears it
            ++cuts_;
            close_pair(p);
            continue;
          }
          if (n <= 0 || !send_all(p.client, buffer, static_cast<std::size_t>(n))) {
            close_pair(p);
            continue;
          }
        }
      }
      std::erase_if(pairs, [](const Pair& p) { return p.client < 0; });
    }
    for (Pair& p : pairs) close_pair(p);
  }

  // Collects a request; once its head and Content-Length bytes are in, an INSERT's body is kept
  // (and, when armed, the pair is marked to be cut at the answer).
  void note_request(Pair& p, std::string_view bytes) {
    p.request.append(bytes);
    const std::size_t head_end = p.request.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    const std::string head = p.request.substr(0, head_end);
    std::size_t length = 0;
    if (const std::size_t at = head.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(head.substr(at + 16));
    }
    if (p.request.size() < head_end + 4 + length) return;
    if (head.find("INSERT") != std::string::npos) {
      std::lock_guard lock(mutex_);
      inserts_.push_back(p.request.substr(head_end + 4, length));
      if (armed_ > 0) {
        --armed_;
        p.cut_on_answer = true;
      }
    }
    p.request.erase(0, head_end + 4 + length);
  }

  static bool send_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data += sent;
      n -= static_cast<std::size_t>(sent);
    }
    return true;
  }
  static void close_pair(Pair& p) {
    if (p.client >= 0) ::close(p.client);
    if (p.server >= 0) ::close(p.server);
    p.client = p.server = -1;
  }

  int upstream_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> armed_{0};
  std::atomic<bool> cut_all_{false};
  std::atomic<int> cuts_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> inserts_;
};

// The port of an http://host:port base.
inline int port_of(const std::string& http) {
  return std::stoi(http.substr(http.rfind(':') + 1));
}

}  // namespace evlog_test
