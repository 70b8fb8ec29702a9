// End to end: headless Chromium logs in, starts a task, completes a subtask, takes a quiz and
// opens the dashboard, which must show those events. The dashboard's screenshot is written to
// CLASSROOM_ARTIFACTS/dashboard.png.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cdp_pipe.hpp"
#include "server.hpp"
#include "test_support.hpp"

namespace classroom {
namespace {

std::string find_chromium() {
  if (const char* env = std::getenv("CHROMIUM"); env && *env) return env;
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return {};
}

TEST(ClassroomBrowser, LoginTaskSubtaskQuizThenDashboardShowsThem) {
  const std::string chromium = find_chromium();
  // Never skipped: `make test` installs Chromium (scripts/bootstrap.sh); without it this fails.
  if (chromium.empty()) FAIL() << "chromium is required: apt-get install chromium";
  const auto dir = testing::make_temp_dir();
  ServerConfig config;
  config.database = testing::seeded_copy(dir);
  config.port = 0;
  config.token = "browser-token-0123456789abcdef-00";
  config.threads = 8;
  ClassroomServer server(config);
  const int port = server.bind();
  struct Serving {
    ClassroomServer& server;
    std::thread thread;
    ~Serving() {
      server.stop();
      thread.join();
    }
  } serving{server, std::thread([&] { server.run(); })};
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  {
    testing::CdpBrowser browser(chromium, (dir / "profile").string());
    browser.open_page(1280, 900);
    const auto wait = [&](const std::string& condition) {
      // Thrown: gtest reports it as a failure, and the guards below still clean up.
      if (!browser.wait_until(condition, std::chrono::seconds(15))) {
        throw std::runtime_error("timed out waiting for " + condition + " at " +
                                 browser.eval("location.href").dump() + ": " +
                                 browser.eval("document.body.innerText").dump());
      }
    };

    browser.navigate(base + "/login");
    browser.eval(
        "document.querySelector('#username').value = 'student9';"
        "document.querySelector('#password').value = 'classroom';"
        "document.querySelector('#login').click(); true");
    wait("location.pathname === '/' && document.body.innerText.includes('Welcome, student9')");

    browser.eval("document.querySelector('#tasks-link').click(); true");
    wait("location.pathname === '/tasks' && document.querySelector('#task-1')");
    browser.eval("document.querySelector('#task-1').click(); true");
    wait("location.pathname === '/tasks/1' && document.querySelector('#start-task')");

    browser.eval("document.querySelector('#start-task').click(); true");
    wait("document.querySelector('.badge.todo') && document.readyState === 'complete'");
    browser.eval("document.querySelector('#complete-subtask-1').click(); true");
    wait(
        "!document.querySelector('#complete-subtask-1') && "
        "document.querySelector('#complete-subtask-2')");

    browser.navigate(base + "/");
    browser.eval("document.querySelector('#quiz-1').click(); true");
    wait("location.pathname === '/quizzes/1' && document.querySelector('#submit-quiz')");
    browser.eval(
        "document.querySelector('#answer-1').value = '1';"
        "document.querySelector('#answer-2').value = '0';"
        "document.querySelector('#answer-3').value = '0';"
        "document.querySelector('#submit-quiz').click(); true");
    wait("document.querySelector('#quiz-result')");
    EXPECT_EQ(browser.eval("document.querySelector('#quiz-result').innerText"),
              "You scored 3 of 3.");

    browser.navigate(base + "/analytics?token=browser-token-0123456789abcdef-00");
    wait("document.querySelector('#events-chart')");
    for (const char* type :
         {"login", "page_view", "task_start", "subtask_complete", "quiz_attempt"}) {
      const auto count = browser.eval(std::string("(() => { const c = document.querySelector(") +
                                      "'td[data-type=\"" + type +
                                      "\"]'); return c ? Number(c.innerText) : 0; })()");
      EXPECT_GE(count.get<int>(), 1) << type << " missing from the dashboard";
    }
    EXPECT_EQ(browser.eval("document.querySelector('#tile-critical .value').innerText"), "3");

    std::filesystem::create_directories(CLASSROOM_ARTIFACTS);
    const std::string png = browser.screenshot_png();
    EXPECT_GT(png.size(), 10'000u);
    std::ofstream(std::string(CLASSROOM_ARTIFACTS) + "/dashboard.png", std::ios::binary) << png;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace classroom
