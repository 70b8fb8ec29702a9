#include "request_guard.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>

namespace classroom {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return -1;
}

// The socket of the connection `request` came on: the one whose local and peer ports are the
// request's (no two open TCP connections of this process share both). -1 if none is found.
int socket_of(const httplib::Request& request) {
  DIR* fds = ::opendir("/proc/self/fd");
  if (fds == nullptr) return -1;
  int found = -1;
  while (const dirent* entry = ::readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd <= 2) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        ::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      continue;
    }
    if (port_of(peer) == request.remote_port && port_of(local) == request.local_port) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(fds);
  return found;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    default:
      return "Bad Request";
  }
}

}  // namespace

std::optional<Refusal> framing_refusal(const httplib::Request& request) {
  if (request.has_header("Content-Encoding") &&
      !equals_ignoring_case(request.get_header_value("Content-Encoding"), "identity")) {
    return Refusal{415, "body: compressed request bodies (Content-Encoding) are not accepted"};
  }
  if (request.has_header("Transfer-Encoding")) {
    return Refusal{411, "body: send a Content-Length (chunked request bodies are not accepted)"};
  }
  return std::nullopt;
}

void answer_and_close(const httplib::Request& request, int status, const std::string& json) {
  const int fd = socket_of(request);
  if (fd < 0) return;  // httplib still answers; the connection then ends at its next bad request
  const std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
      "\r\nConnection: close\r\n\r\n" + json;
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  // A close with unread bytes in the receive buffer sends a reset, which can destroy the answer
  // before the client reads it. So: end the sending side (the client sees the answer, then end
  // of stream), discard what the client still sends for a short while (at most 1 s, in 64 KiB
  // reads: memory stays flat), then close both sides.
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  std::array<char, 64 * 1024> sink;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT);
    if (n <= 0) break;
  }
  ::shutdown(fd, SHUT_RDWR);
}

void answer_ranges_whole(httplib::Request& request) {
  if (request.ranges.size() <= 1) return;
  request.ranges.clear();
  request.headers.erase("Range");
}

bool foreign_origin(const httplib::Request& request, bool served_over_tls) {
  if (!request.has_header("Origin")) return false;
  const std::string origin = request.get_header_value("Origin");
  const std::string own =
      std::string(served_over_tls ? "https://" : "http://") + request.get_header_value("Host");
  return !equals_ignoring_case(origin, own);
}

std::string_view method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view known : kMethods) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace classroom
