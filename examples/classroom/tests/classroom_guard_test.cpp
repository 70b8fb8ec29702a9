// The app's defences that need no server: the login throttle's counting (deterministic, the clock
// is passed in; and shared by many request threads at once), the text the dashboard shows of rows
// another program wrote, the metrics' method labels, and the routing of paths to handlers.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "html.hpp"
#include "http_server.hpp"
#include "login_throttle.hpp"
#include "request_guard.hpp"

namespace {

using classroom::display_text;
using classroom::LoginLimits;
using classroom::LoginThrottle;
using namespace std::chrono_literals;

LoginLimits limits(int per_user, int per_address, std::chrono::seconds window) {
  LoginLimits l;
  l.failures_per_user = per_user;
  l.failures_per_address = per_address;
  l.window = window;
  return l;
}

TEST(ClassroomLoginThrottle, AUserNameIsHeldOffAfterItsLimitUntilTheWindowEnds) {
  LoginThrottle throttle(limits(3, 100, 60s));
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttle.retry_after("ann", "10.0.0.1", t0 + 1s * i), 0) << "attempt " << i;
    throttle.failed("ann", "10.0.0.1", t0 + 1s * i);
  }
  // The window began at the first failure: 60 s from t0.
  EXPECT_EQ(throttle.retry_after("ann", "10.0.0.2", t0 + 10s), 50);
  EXPECT_EQ(throttle.retry_after("ann", "10.0.0.1", t0 + 59s + 500ms), 1);  // rounded up
  EXPECT_EQ(throttle.retry_after("bob", "10.0.0.1", t0 + 10s), 0) << "another user is held off";
  EXPECT_EQ(throttle.retry_after("ann", "10.0.0.1", t0 + 60s), 0);
  // A new window: three more failures are allowed again.
  throttle.failed("ann", "10.0.0.1", t0 + 61s);
  EXPECT_EQ(throttle.retry_after("ann", "10.0.0.1", t0 + 62s), 0);
}

TEST(ClassroomLoginThrottle, AnAddressIsHeldOffAfterItsLimitWhateverTheNames) {
  LoginThrottle throttle(limits(100, 4, 30s));
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) throttle.failed("user" + std::to_string(i), "10.0.0.9", t0);
  EXPECT_EQ(throttle.retry_after("someone-new", "10.0.0.9", t0 + 1s), 29);
  EXPECT_EQ(throttle.retry_after("someone-new", "10.0.0.8", t0 + 1s), 0);
}

TEST(ClassroomLoginThrottle, ARightPasswordResetsTheUserNameNotTheAddress) {
  LoginThrottle throttle(limits(2, 3, 60s));
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  throttle.failed("ann", "10.0.0.1", t0);
  throttle.failed("ann", "10.0.0.1", t0);
  EXPECT_GT(throttle.retry_after("ann", "10.0.0.2", t0), 0);
  throttle.succeeded("ann");
  EXPECT_EQ(throttle.retry_after("ann", "10.0.0.2", t0), 0);
  throttle.failed("eve", "10.0.0.1", t0);  // the address's third failure
  EXPECT_GT(throttle.retry_after("ann", "10.0.0.1", t0), 0);
}

TEST(ClassroomLoginThrottle, ItsMemoryIsBoundedByMaxTracked) {
  LoginLimits l = limits(2, 1'000'000, 60s);
  l.max_tracked = 100;
  LoginThrottle throttle(l);
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  throttle.failed("old", "a", t0);
  throttle.failed("old", "a", t0);
  // 150 more names after the window of "old" ended: the ended window is forgotten first.
  for (int i = 0; i < 150; ++i) {
    throttle.failed("name" + std::to_string(i), "a", t0 + 61s);
    ASSERT_LE(throttle.tracked(), 100u + 1u) << "after name " << i;  // names, and the address
  }
  EXPECT_EQ(throttle.retry_after("old", "b", t0 + 62s), 0);
  // Two failures of one of the live names still count.
  throttle.failed("name149", "a", t0 + 62s);
  EXPECT_GT(throttle.retry_after("name149", "b", t0 + 62s), 0);
}

// Many request threads count and ask at once (ThreadSanitizer checks the locking); every failure
// is counted: the limit is reached exactly.
TEST(ClassroomLoginThrottle, ManyThreadsCountEveryFailure) {
  constexpr int kThreads = 8, kEach = 500;
  LoginThrottle throttle(limits(kThreads * kEach, 1'000'000, 3600s));
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        (void)throttle.retry_after("ann", "10.0.0.1", t0);
        throttle.failed("ann", "10.0.0.1", t0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GT(throttle.retry_after("ann", "10.0.0.2", t0), 0);
}

TEST(ClassroomDisplayText, CutsAtACharacterBoundary) {
  EXPECT_EQ(display_text("abc", 3), "abc");
  EXPECT_EQ(display_text("abcd", 3), "abc\u2026");
  // "é" is two bytes, "€" three, "𝄞" four: cut after two characters, never inside one.
  EXPECT_EQ(display_text("é€𝄞x", 2), "é€\u2026");
  EXPECT_EQ(display_text("𝄞𝄞", 1), "𝄞\u2026");
}

TEST(ClassroomDisplayText, ReplacesBytesThatAreNotUtf8) {
  const std::string replacement = "\uFFFD";
  EXPECT_EQ(display_text("a\xff"
                         "b",
                         10),
            "a" + replacement + "b");
  EXPECT_EQ(display_text("\xc3", 10), replacement);  // a lead byte at the end
  EXPECT_EQ(display_text("\xc3("
                         "x",
                         10),
            replacement + "(x");  // a lead byte without its follower
  EXPECT_EQ(display_text("\xc0\xaf", 10), replacement + replacement);  // overlong "/"
  EXPECT_EQ(display_text("\xed\xa0\x80", 10),
            replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(display_text("\xf4\x90\x80\x80", 10),
            replacement + replacement + replacement + replacement);  // past U+10FFFF
  EXPECT_EQ(display_text(std::string("a\0b", 3), 10), std::string("a\0b", 3));
}

TEST(ClassroomMethodLabel, OnlyHttpMethodsKeepTheirName) {
  EXPECT_EQ(classroom::method_label("GET"), "GET");
  EXPECT_EQ(classroom::method_label("POST"), "POST");
  EXPECT_EQ(classroom::method_label("get"), "other");
  EXPECT_EQ(classroom::method_label("X\"}evil"), "other");
  EXPECT_EQ(classroom::method_label(std::string(4000, 'A')), "other");
}

// What a route saw: its name and the matches, or nothing when no route took the request.
std::string route_of(const classroom::http::Router& router, const std::string& method,
                     const std::string& path) {
  classroom::http::Request request;
  request.method = method;
  request.path = path;
  classroom::http::Response response;
  if (!router.dispatch(request, response)) return "none";
  std::string seen = response.body;
  for (const auto& match : request.matches) seen += " " + match;
  return seen;
}

classroom::http::Handler answering(const std::string& name) {
  return [name](const classroom::http::Request&, classroom::http::Response& response) {
    response.body = name;
  };
}

TEST(ClassroomRouter, PlaceholdersMatchDigitsAndLiteralsMatchThemselves) {
  classroom::http::Router router;
  router.add("GET", "/", answering("root"));
  router.add("GET", "/tasks", answering("tasks"));
  router.add("GET", "/tasks/{id}", answering("task"));
  router.add("POST", "/tasks/{id}/subtasks/{n}/complete", answering("subtask"));
  EXPECT_EQ(route_of(router, "GET", "/"), "root /");
  EXPECT_EQ(route_of(router, "GET", "/tasks"), "tasks /tasks");
  EXPECT_EQ(route_of(router, "GET", "/tasks/42"), "task /tasks/42 42");
  EXPECT_EQ(route_of(router, "POST", "/tasks/7/subtasks/3/complete"),
            "subtask /tasks/7/subtasks/3/complete 7 3");
  EXPECT_EQ(route_of(router, "HEAD", "/tasks/42"), "task /tasks/42 42");
  // Not a run of digits, an extra or missing segment, another method, not a path.
  for (const char* path : {"/tasks/x", "/tasks/-1", "/tasks/4 2", "/tasks/", "/tasks/42/",
                           "//tasks/42", "/tasks/42/x", "/task", "tasks", "", "*"}) {
    EXPECT_EQ(route_of(router, "GET", path), "none") << path;
  }
  EXPECT_EQ(route_of(router, "POST", "/tasks/42"), "none");
  EXPECT_EQ(route_of(router, "get", "/tasks"), "none");
  EXPECT_THROW(router.add("GET", "tasks", answering("bad")), std::invalid_argument);
}

}  // namespace
