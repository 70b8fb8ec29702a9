// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fd 3: commands in,
// fd 4: replies and events out, each a JSON text ended by NUL). Enough to drive one page.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace classroom::testing {

class CdpBrowser {
 public:
  // Starts headless Chromium with a fresh profile in `profile_dir`. Throws std::runtime_error.
  CdpBrowser(const std::string& chromium, const std::string& profile_dir);
  ~CdpBrowser();
  CdpBrowser(const CdpBrowser&) = delete;
  CdpBrowser& operator=(const CdpBrowser&) = delete;

  // Creates a page of the given viewport and attaches to it; later calls go to that page.
  void open_page(int width, int height);
  // Sends a command (to the page once one is open) and returns its result; throws on an error
  // reply or after 30 s.
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object());
  // Evaluates an expression in the page and returns its value (awaiting promises).
  nlohmann::json eval(const std::string& expression);
  // Polls `condition` (a JS expression) until it is true; false at the timeout.
  bool wait_until(const std::string& condition, std::chrono::milliseconds timeout);
  // Navigates and waits until the document has loaded.
  void navigate(const std::string& url);
  // A PNG of the whole page.
  std::string screenshot_png();

 private:
  nlohmann::json read_reply(int id);

  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  int next_id_ = 1;
  std::string session_;
  std::string buffer_;
};

}  // namespace classroom::testing
