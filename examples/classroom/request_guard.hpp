// classroom/request_guard.hpp — what the app refuses before a route sees a request: compressed
// bodies, unknown transfer codings, foreign origins; and the fixed set of method names the
// metrics count.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http_server.hpp"

namespace classroom {

struct Refusal {
  int status = 0;
  std::string message;  // "<field>: <rule>", as the app's other 400s
};

// A request body the app will not read: a Content-Encoding other than identity (415: inflating
// would turn a small body into a large one), or a transfer coding other than chunked (501).
std::optional<Refusal> framing_refusal(const http::Request& request);

// True when a state-changing request comes from another site: its Origin header is present and
// names another scheme, host or port than the one the request was sent to (`Host`).
bool foreign_origin(const http::Request& request, bool served_over_tls);

// The method as a metrics label: one of the methods HTTP defines, or "other".
std::string_view method_label(std::string_view method);

}  // namespace classroom
