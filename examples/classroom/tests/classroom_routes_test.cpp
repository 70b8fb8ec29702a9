// Route-level tests: a server on a free loopback port in this process, driven by httplib::Client,
// with the analytics table read back after each action.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "server.hpp"
#include "test_support.hpp"

namespace classroom {
namespace {

using testing::count_events;
using testing::wait_for_events;

constexpr const char* kToken = "test-token-0123456789abcdef-1234";

class RunningServer {
 public:
  explicit RunningServer(LoggingMode mode) : dir_(testing::make_temp_dir()) {
    database_ = testing::seeded_copy(dir_);
    ServerConfig config;
    config.database = database_;
    config.port = 0;
    config.token = kToken;
    config.logging = mode;
    config.threads = 8;
    server_ = std::make_unique<ClassroomServer>(config);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  httplib::Client client() const { return httplib::Client("127.0.0.1", port_); }
  // A client logged in as `user`, with its cookie sent on every request.
  httplib::Client client_as(const std::string& user) const {
    httplib::Client c = client();
    const std::string cookie = testing::login(c, user);
    EXPECT_FALSE(cookie.empty()) << "login failed for " << user;
    c.set_default_headers({{"Cookie", cookie}});
    return c;
  }
  const std::string& database() const { return database_; }
  int port() const { return port_; }
  ClassroomServer& server() { return *server_; }

 private:
  std::filesystem::path dir_;
  std::string database_;
  std::unique_ptr<ClassroomServer> server_;
  int port_ = 0;
  std::thread thread_;
};

class ClassroomRoutes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RunningServer(LoggingMode::evlog); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static RunningServer* server_;
};
RunningServer* ClassroomRoutes::server_ = nullptr;

TEST_F(ClassroomRoutes, LoginSetsCookieAndLogsLogin) {
  const auto before = count_events(server_->database(), "login");
  auto client = server_->client();
  auto response = client.Post("/login", R"({"username":"student2","password":"classroom"})",
                              "application/json");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->get_header_value("Set-Cookie").find("classroom_session="), std::string::npos);
  EXPECT_NE(response->get_header_value("Set-Cookie").find("HttpOnly"), std::string::npos);
  EXPECT_EQ(wait_for_events(server_->database(), "login", before + 1), before + 1);
}

TEST_F(ClassroomRoutes, WrongPasswordIs401AndLogsNothing) {
  const auto before = count_events(server_->database(), "login");
  auto client = server_->client();
  for (const char* body : {"username=student3&password=wrong", "username=nobody&password=x"}) {
    auto response = client.Post("/login", body, "application/x-www-form-urlencoded");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    EXPECT_TRUE(response->get_header_value("Set-Cookie").empty());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // > max_delay
  EXPECT_EQ(count_events(server_->database(), "login"), before);
}

TEST_F(ClassroomRoutes, MissingLoginFieldIs400NamingIt) {
  auto client = server_->client();
  auto response = client.Post("/login", "username=student1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("password: is required"), std::string::npos) << response->body;
}

TEST_F(ClassroomRoutes, PagesLogPageViewWithPath) {
  auto client = server_->client_as("student4");
  const auto before = count_events(server_->database(), "page_view");
  for (const char* path : {"/", "/tasks", "/tasks/2", "/quizzes/1"}) {
    auto response = client.Get(path);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_NE(response->get_header_value("Content-Type").find("text/html"), std::string::npos);
  }
  EXPECT_EQ(wait_for_events(server_->database(), "page_view", before + 4), before + 4);
  Connection connection(server_->database());
  Statement query(connection,
                  "SELECT COUNT(*) FROM analytics_events WHERE event_type = 'page_view' AND "
                  "json_extract(metadata, '$.path') = '/tasks/2' AND user_type = 'student'");
  query.step();
  EXPECT_GE(query.int_at(0), 1);
}

// Sends `request` as written on a new connection and returns the whole answer (the server closes
// the connection after it: the request says Connection: close).
std::string raw_exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, n);
  ::close(fd);
  return answer;
}

// A POST with neither Content-Length nor Transfer-Encoding (as `curl -X POST` sends one) has an
// empty body, as HTTP says: the actions that need no field answer 200 and log their event.
TEST_F(ClassroomRoutes, APostWithoutContentLengthHasAnEmptyBody) {
  auto client = server_->client();
  const std::string cookie = testing::login(client, "student7");
  ASSERT_FALSE(cookie.empty());
  const std::string db = server_->database();
  const std::int64_t before = count_events(db, "task_start");
  const std::string answer = raw_exchange(server_->port(),
                                          "POST /tasks/2/start HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Cookie: " +
                                              cookie + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find(R"("started":true)"), std::string::npos) << answer;
  EXPECT_EQ(wait_for_events(db, "task_start", before + 1), before + 1);
}

TEST_F(ClassroomRoutes, EachActionWritesDataThenLogsItsEvent) {
  auto client = server_->client_as("student5");
  const std::string db = server_->database();
  struct Step {
    std::string path, body, type;
  };
  const std::vector<Step> steps{
      {"/tasks/3/start", "", "task_start"},
      {"/tasks/3/subtasks/1/complete", "", "subtask_complete"},
      {"/tasks/3/complete", "", "task_complete"},
      {"/tasks/3/self-eval", "score=4", "self_eval"},
      // Repeated identical pairs are kept: quiz 1 is answered 1, 0, 0.
      {"/quizzes/1/attempts", "answers=1&answers=0&answers=0", "quiz_attempt"},
  };
  for (const auto& step : steps) {
    const auto before = count_events(db, step.type);
    auto response = client.Post(step.path, step.body, "application/x-www-form-urlencoded");
    ASSERT_TRUE(response) << step.path;
    EXPECT_EQ(response->status, 200) << step.path << ": " << response->body;
    EXPECT_EQ(wait_for_events(db, step.type, before + 1), before + 1) << step.type;
  }
  // Critical events are in the table when the response arrives (group commit).
  const auto before = count_events(db, "task_complete");
  ASSERT_TRUE(client.Post("/tasks/4/complete", "", "application/x-www-form-urlencoded"));
  EXPECT_EQ(count_events(db, "task_complete"), before + 1);

  const auto downloads = count_events(db, "file_download");
  auto file = client.Get("/files/1");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->status, 200);
  EXPECT_NE(file->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
  EXPECT_EQ(wait_for_events(db, "file_download", downloads + 1), downloads + 1);

  Connection connection(db);
  Statement data(connection,
                 "SELECT p.completed_at IS NOT NULL, p.self_eval, (SELECT score FROM quiz_results "
                 "q WHERE q.user_id = u.id) FROM progress p JOIN users u ON u.id = p.user_id "
                 "WHERE u.username = 'student5' AND p.task_id = 3");
  ASSERT_TRUE(data.step());
  EXPECT_EQ(data.int_at(0), 1);
  EXPECT_EQ(data.int_at(1), 4);
  EXPECT_EQ(data.int_at(2), 3);
}

TEST_F(ClassroomRoutes, NotLoggedInIs401ForApiAndRedirectForBrowser) {
  auto client = server_->client();
  auto api = client.Post("/tasks/1/complete", "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_NE(api->body.find("not logged in"), std::string::npos);
  auto json_get = client.Get("/tasks");
  ASSERT_TRUE(json_get);
  EXPECT_EQ(json_get->status, 401);
  auto page = client.Get("/tasks/1", {{"Accept", "text/html,application/xhtml+xml"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 303);
  EXPECT_EQ(page->get_header_value("Location"), "/login?next=/tasks/1");
}

TEST_F(ClassroomRoutes, UnknownIdsAre404) {
  auto client = server_->client_as("student6");
  for (const char* path : {"/tasks/999", "/files/999", "/quizzes/999", "/nowhere"}) {
    auto response = client.Get(path);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404) << path;
  }
  for (const char* path : {"/tasks/999/start", "/tasks/1/subtasks/9/complete",
                           "/tasks/999/complete", "/quizzes/999/attempts"}) {
    auto response = client.Post(path, "answers=0", "application/x-www-form-urlencoded");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404) << path;
  }
}

TEST_F(ClassroomRoutes, BadBodiesAre400NamingTheField) {
  auto client = server_->client_as("student7");
  struct Case {
    std::string path, body, type, expected;
  };
  const std::vector<Case> cases{
      {"/tasks/1/self-eval", "score=9", "application/x-www-form-urlencoded", "score: must be"},
      {"/tasks/1/self-eval", "", "application/x-www-form-urlencoded", "score: is required"},
      {"/tasks/1/self-eval", "[1]", "application/json", "body: must be a JSON object"},
      {"/quizzes/1/attempts", R"({"answers":[1]})", "application/json",
       "answers: expected 3 answers, got 1"},
      {"/quizzes/1/attempts", "answers=0,7,1", "application/x-www-form-urlencoded",
       "answers: answer 2 must be"},
  };
  for (const auto& c : cases) {
    auto response = client.Post(c.path, c.body, c.type);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << c.body;
    EXPECT_NE(response->body.find(c.expected), std::string::npos) << response->body;
  }
}

TEST_F(ClassroomRoutes, BodiesOver64KiBAre413) {
  auto client = server_->client_as("student8");
  auto response = client.Post("/tasks/1/self-eval", std::string(64 * 1024 + 1, 'a'),
                              "application/x-www-form-urlencoded");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST_F(ClassroomRoutes, MetricsNeedTheTokenAndExposeStats) {
  auto student = server_->client_as("student10");  // a login and a page to count
  ASSERT_TRUE(student.Get("/tasks"));
  auto client = server_->client();
  auto none = client.Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto wrong =
      client.Get("/metrics", {{"Authorization", "Bearer test-token-0123456789abcdef-1235"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto ok = client.Get("/metrics", {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  for (const char* needle :
       {"# TYPE evlog_written_total counter", "# TYPE evlog_queued gauge",
        "evlog_oldest_queued_age_seconds ", "evlog_dropped_queue_full_total ",
        "classroom_http_requests_total{route=\"/login\",method=\"POST\",status=\"200\"}",
        "# TYPE classroom_http_request_duration_seconds histogram",
        "classroom_http_request_duration_seconds_bucket{route=\"/tasks\",le=\"+Inf\"}",
        "classroom_log_call_duration_seconds_count"}) {
    EXPECT_NE(ok->body.find(needle), std::string::npos) << needle;
  }
  for (const evlog::StatsField& field : evlog::kStatsFields) {  // every field of Stats
    const std::string help = std::string("# HELP evlog_") + field.name;
    EXPECT_NE(ok->body.find(help), std::string::npos) << help;
  }
  EXPECT_EQ(ok->body.find(kToken), std::string::npos);
  auto dashboard_none = client.Get("/analytics?token=nope");
  ASSERT_TRUE(dashboard_none);
  EXPECT_EQ(dashboard_none->status, 401);
  auto dashboard = client.Get(std::string("/analytics?token=") + kToken);
  ASSERT_TRUE(dashboard);
  EXPECT_EQ(dashboard->status, 200);
  EXPECT_NE(dashboard->body.find("<svg id=\"events-chart\""), std::string::npos);
}

TEST(ClassroomLoggingModes, SyncWritesBeforeTheResponseAndOffWritesNothing) {
  {
    RunningServer server(LoggingMode::sync);
    auto client = server.client_as("student1");
    ASSERT_TRUE(client.Get("/tasks"));
    EXPECT_EQ(count_events(server.database(), "page_view"), 1);
    EXPECT_EQ(count_events(server.database(), "login"), 1);
  }
  {
    RunningServer server(LoggingMode::off);
    auto client = server.client_as("student1");
    ASSERT_TRUE(client.Post("/tasks/1/complete", "", "application/x-www-form-urlencoded"));
    EXPECT_EQ(count_events(server.database()), 0);
  }
}

}  // namespace
}  // namespace classroom
