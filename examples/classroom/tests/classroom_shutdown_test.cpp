// SIGTERM while requests are in flight: in-flight requests finish, the logger is flushed, and
// every request that got a successful answer has its event in the table.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace classroom {
namespace {

struct Child {
  pid_t pid = -1;
  int port = 0;
};

// Starts `evlog-classroom serve` on a free port and reads the port from its first line.
Child start_server(const std::string& database, const std::string& logging) {
  int out[2];
  if (pipe(out) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<std::string> args{CLASSROOM_BINARY, "serve", "--database", database,
                                "--port",         "0",     "--logging",  logging};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  Child child;
  posix_spawn(&child.pid, CLASSROOM_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  const auto colon = line.rfind(':');
  if (colon != std::string::npos) child.port = std::atoi(line.c_str() + colon + 1);
  return child;
}

void sigterm_loses_nothing(const std::string& logging) {
  const auto dir = testing::make_temp_dir();
  const std::string database = testing::seeded_copy(dir);
  const Child child = start_server(database, logging);
  ASSERT_GT(child.pid, 0);
  ASSERT_GT(child.port, 0);

  std::atomic<int> ok{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", child.port);
      const std::string cookie = testing::login(client, "student" + std::to_string(t + 1));
      if (cookie.empty()) return;
      ok.fetch_add(1);  // the login event
      client.set_default_headers({{"Cookie", cookie}});
      for (int i = 0; !stop.load(); ++i) {
        auto response = (i % 2 == 0)
                            ? client.Get("/tasks")
                            : client.Post("/tasks/" + std::to_string(1 + i % 5) + "/complete", "",
                                          "application/x-www-form-urlencoded");
        if (!response) break;  // the server has stopped accepting
        if (response->status == 200) ok.fetch_add(1);
      }
    });
  }
  // SIGTERM lands while requests are in flight: once more than 20 have been answered (a fixed
  // delay would measure the build's speed: logins hash a password, slow under sanitizers).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ok.load() <= 20 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
  stop.store(true);
  for (auto& thread : clients) thread.join();

  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(testing::count_events(database), ok.load());
  std::filesystem::remove_all(dir);
}

TEST(ClassroomShutdown, SigtermWithEvlogLosesNothing) {
  sigterm_loses_nothing("evlog");
}
TEST(ClassroomShutdown, SigtermWithAsyncLosesNothing) {
  sigterm_loses_nothing("async");
}

}  // namespace
}  // namespace classroom
