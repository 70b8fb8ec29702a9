#include "request_guard.hpp"

#include <array>

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

}  // namespace

std::optional<Refusal> framing_refusal(const http::Request& request) {
  if (request.has_header("Content-Encoding") &&
      !equals_ignoring_case(request.get_header_value("Content-Encoding"), "identity")) {
    return Refusal{415, "body: compressed request bodies (Content-Encoding) are not accepted"};
  }
  // libmicrohttpd reads a chunked body, and the server counts it against the same limit as
  // it arrives; any other transfer coding is one the app cannot read.
  if (request.has_header("Transfer-Encoding") &&
      !equals_ignoring_case(request.get_header_value("Transfer-Encoding"), "chunked")) {
    return Refusal{501, "body: only the chunked transfer coding is accepted"};
  }
  return std::nullopt;
}

bool foreign_origin(const http::Request& request, bool served_over_tls) {
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
