// classroom/request_guard.hpp — what the server refuses or rewrites before a route sees a
// request: body framings whose size is not known up front, compressed bodies, many-range
// requests, foreign origins; and the fixed set of method names the metrics count.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

namespace classroom {

struct Refusal {
  int status = 0;
  std::string message;  // "<field>: <rule>", as the app's other 400s
};

// A request body the app will not read: a Content-Encoding other than identity (415: inflating
// would turn a small body into a large one), or a Transfer-Encoding (411: the 64 KiB limit is
// checked against Content-Length before the body is read, and a chunked body has none).
std::optional<Refusal> framing_refusal(const httplib::Request& request);

// Answers `status` with `json` on the request's own connection, then closes it: the body the
// client is still sending is never read (nor parsed as a next request). Runs on the thread that
// serves the connection, and finds its socket by the connection's two addresses. The caller
// returns Handled; httplib's own write of the response then fails on the closed socket.
void answer_and_close(const httplib::Request& request, int status, const std::string& json);

// A request for more than one range is answered whole (200), never as a multipart response
// that repeats the resource once per range.
void answer_ranges_whole(httplib::Request& request);

// True when a state-changing request comes from another site: its Origin header is present and
// names another scheme, host or port than the one the request was sent to (`Host`).
bool foreign_origin(const httplib::Request& request, bool served_over_tls);

// The method as a metrics label: one of the methods HTTP defines, or "other".
std::string_view method_label(std::string_view method);

}  // namespace classroom
