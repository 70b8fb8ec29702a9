#include "cdp_pipe.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace classroom::testing {

CdpBrowser::CdpBrowser(const std::string& chromium, const std::string& profile_dir) {
  int commands[2];  // we write [1]; Chromium reads fd 3
  int replies[2];   // Chromium writes fd 4; we read [0]
  if (pipe2(commands, O_CLOEXEC) != 0 || pipe2(replies, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, commands[0], 3);
  posix_spawn_file_actions_adddup2(&actions, replies[1], 4);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args{chromium,
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--disable-dev-shm-usage",
                                "--hide-scrollbars",
                                "--remote-debugging-pipe",
                                "--user-data-dir=" + profile_dir,
                                "about:blank"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, chromium.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(commands[0]);
  close(replies[1]);
  to_browser_ = commands[1];
  from_browser_ = replies[0];
  if (rc != 0) throw std::runtime_error("cannot start " + chromium);
}

CdpBrowser::~CdpBrowser() {
  if (pid_ > 0) {
    try {
      session_.clear();
      call("Browser.close");
    } catch (...) {
    }
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  close(to_browser_);
  close(from_browser_);
}

nlohmann::json CdpBrowser::call(const std::string& method, const nlohmann::json& params) {
  const int id = next_id_++;
  nlohmann::json message{{"id", id}, {"method", method}, {"params", params}};
  if (!session_.empty()) message["sessionId"] = session_;
  std::string text = message.dump();
  text.push_back('\0');
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = write(to_browser_, text.data() + done, text.size() - done);
    if (n <= 0) throw std::runtime_error("CDP write failed (Chromium exited?)");
    done += static_cast<std::size_t>(n);
  }
  return read_reply(id);
}

nlohmann::json CdpBrowser::read_reply(int id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    for (std::size_t end; (end = buffer_.find('\0')) != std::string::npos;) {
      const auto message = nlohmann::json::parse(buffer_.substr(0, end), nullptr, false);
      buffer_.erase(0, end + 1);
      if (!message.is_object() || !message.contains("id") || message["id"] != id) continue;
      if (message.contains("error")) {
        throw std::runtime_error("CDP error: " + message["error"].dump());
      }
      return message.value("result", nlohmann::json::object());
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("CDP: no reply within 30 s");
    pollfd fd{from_browser_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    const ssize_t n = read(from_browser_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("CDP: Chromium closed the pipe");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void CdpBrowser::open_page(int width, int height) {
  const auto target = call("Target.createTarget", {{"url", "about:blank"}});
  const auto attached =
      call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}});
  session_ = attached["sessionId"].get<std::string>();
  call("Page.enable");
  call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
}

nlohmann::json CdpBrowser::eval(const std::string& expression) {
  const auto result =
      call("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (result.contains("exceptionDetails")) {
    throw std::runtime_error("JS exception: " + result["exceptionDetails"].dump());
  }
  return result["result"].value("value", nlohmann::json());
}

bool CdpBrowser::wait_until(const std::string& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (eval("!!(" + condition + ")") == true) return true;
    } catch (const std::runtime_error&) {
      // The page is between documents; try again.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void CdpBrowser::navigate(const std::string& url) {
  call("Page.navigate", {{"url", url}});
  wait_until(
      "location.href === " + nlohmann::json(url).dump() + " && document.readyState === 'complete'",
      std::chrono::seconds(15));
}

std::string CdpBrowser::screenshot_png() {
  const auto result =
      call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
  const std::string base64 = result["data"].get<std::string>();
  std::string png(base64.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(png.data()),
                                reinterpret_cast<const unsigned char*>(base64.data()),
                                static_cast<int>(base64.size()));
  if (n < 0) throw std::runtime_error("screenshot: bad base64");
  std::size_t size = static_cast<std::size_t>(n);
  for (auto it = base64.rbegin(); it != base64.rend() && *it == '='; ++it) --size;
  png.resize(size);
  return png;
}

}  // namespace classroom::testing
