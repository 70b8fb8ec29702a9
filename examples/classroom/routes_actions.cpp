#include <nlohmann/json.hpp>

#include "html.hpp"
#include "request_fields.hpp"
#include "routes.hpp"

namespace classroom {
namespace {

using Json = nlohmann::json;

// True when `text` starts with `prefix` followed by 1-18 digits; `rest` is what follows them.
bool digits_after(std::string_view text, std::string_view prefix, std::string_view& rest) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  std::size_t n = 0;
  while (n < text.size() && n < 19 && text[n] >= '0' && text[n] <= '9') ++n;
  if (n == 0 || n > 18) return false;
  rest = text.substr(n);
  return true;
}

// Where to go after logging in: a page of this app's own (a GET route's path, and for a quiz
// its score), never another site; anything else goes to "/". A check of the first characters
// is not enough: browsers drop tabs and newlines from a URL, so "/\t/evil.example" is
// "//evil.example" to them.
std::string safe_next(const std::string& next) {
  std::string_view rest;
  const bool own = next == "/" || next == "/tasks" ||
                   (digits_after(next, "/tasks/", rest) && rest.empty()) ||
                   (digits_after(next, "/quizzes/", rest) &&
                    (rest.empty() || (digits_after(rest, "?score=", rest) && rest.empty())));
  return own ? next : "/";
}

// The task id in the path, or a 404 answered.
std::optional<std::int64_t> task_id_of(const http::Request& req, http::Response& res) {
  const auto id = parse_id(req.matches[1]);
  if (!id) answer_error(req, res, 404, "no such task");
  return id;
}

}  // namespace

void add_action_routes(http::Router& router, AppContext& app) {
  add_route(router, app, "POST", "/login", [&app](const auto& req, auto& res) {
    const Fields fields = Fields::from(req);
    const std::string username = fields.required("username");
    const std::string password = fields.required("password");
    // Refused before the password is hashed (the expensive part): guessing stays slow, and a
    // flood of attempts costs the server one map lookup each.
    const auto now = LoginThrottle::Clock::now();
    if (const int wait = app.logins.retry_after(username, req.remote_addr, now); wait > 0) {
      res.set_header("Retry-After", std::to_string(wait));
      return answer_error(
          req, res, 429,
          "login: too many failed attempts; try again in " + std::to_string(wait) + " s");
    }
    const auto user = app.store.authenticate(username, password);
    if (!user) {
      app.logins.failed(username, req.remote_addr, now);
      // A wrong password logs nothing.
      if (wants_html(req)) {
        res.status = 401;
        res.set_content(login_page("Wrong user name or password.", "/"),
                        "text/html; charset=utf-8");
      } else {
        answer_json(res, 401, R"({"error":"wrong user name or password"})");
      }
      return;
    }
    app.logins.succeeded(username);
    const std::string token = app.store.create_session(user->id);
    res.set_header("Set-Cookie", std::string(app.session_cookie()) + "=" + token +
                                     "; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200" +
                                     (app.served_over_tls ? "; Secure" : ""));
    const auto next = fields.all("next");
    answer_done(req, res, safe_next(next.empty() ? "/" : next.front()),
                Json{{"ok", true}, {"user", user->username}, {"role", user->role}}.dump());
    app.analytics.log("login", user->id, user->role, Json{{"method", "password"}}.dump());
  });

  add_route(router, app, "POST", "/logout", [&app](const auto& req, auto& res) {
    app.store.end_session(session_token(app, req));
    res.set_header("Set-Cookie", std::string(app.session_cookie()) + "=; Path=/; Max-Age=0" +
                                     (app.served_over_tls ? "; Secure" : ""));
    answer_done(req, res, "/login", R"({"ok":true})");
  });

  add_route(router, app, "POST", "/tasks/{id}/start", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = task_id_of(req, res);
    if (!id) return;
    if (!app.store.start_task(user->id, *id)) {
      return answer_error(req, res, 404, "no such task");
    }
    app.analytics.log("task_start", user->id, user->role, Json{{"task_id", *id}}.dump());
    answer_done(req, res, "/tasks/" + std::to_string(*id),
                Json{{"ok", true}, {"task_id", *id}, {"started", true}}.dump());
  });

  add_route(router, app, "POST", "/tasks/{id}/subtasks/{n}/complete",
            [&app](const auto& req, auto& res) {
              const auto user = require_user(app, req, res);
              if (!user) return;
              const auto id = task_id_of(req, res);
              if (!id) return;
              const auto n = parse_int_in(req.matches[2], 1, 1000);
              if (!n || !app.store.complete_subtask(user->id, *id, *n)) {
                return answer_error(req, res, 404, "no such task or subtask");
              }
              app.analytics.log("subtask_complete", user->id, user->role,
                                Json{{"task_id", *id}, {"subtask", *n}}.dump());
              answer_done(req, res, "/tasks/" + std::to_string(*id),
                          Json{{"ok", true}, {"task_id", *id}, {"subtask", *n}}.dump());
            });

  add_route(router, app, "POST", "/tasks/{id}/complete", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = task_id_of(req, res);
    if (!id) return;
    // First the real data (synchronous), then the analytics event, as the problem
    // statement's admin_task_complete does.
    if (!app.store.complete_task(user->id, *id)) {
      return answer_error(req, res, 404, "no such task");
    }
    app.analytics.log("task_complete", user->id, user->role, Json{{"task_id", *id}}.dump());
    answer_done(req, res, "/tasks/" + std::to_string(*id),
                Json{{"ok", true}, {"task_id", *id}, {"completed", true}}.dump());
  });

  add_route(router, app, "POST", "/tasks/{id}/self-eval", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = task_id_of(req, res);
    if (!id) return;
    const int score = Fields::from(req).required_int("score", 1, 5);
    if (!app.store.self_eval(user->id, *id, score)) {
      return answer_error(req, res, 404, "no such task");
    }
    app.analytics.log("self_eval", user->id, user->role,
                      Json{{"task_id", *id}, {"score", score}}.dump());
    answer_done(req, res, "/tasks/" + std::to_string(*id),
                Json{{"ok", true}, {"task_id", *id}, {"score", score}}.dump());
  });

  add_route(router, app, "POST", "/quizzes/{id}/attempts", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = parse_id(req.matches[1]);
    const auto quiz = id ? app.store.quiz(*id) : std::nullopt;
    if (!quiz) return answer_error(req, res, 404, "no such quiz");
    // `answers`: one option index per question, repeated fields, a JSON array or
    // one comma-separated value.
    std::vector<std::string> given = Fields::from(req).all("answers");
    if (given.size() == 1 && given[0].find(',') != std::string::npos) {
      std::vector<std::string> split;
      std::size_t start = 0;
      for (std::size_t comma; (comma = given[0].find(',', start)) != std::string::npos;
           start = comma + 1) {
        split.push_back(given[0].substr(start, comma - start));
      }
      split.push_back(given[0].substr(start));
      given = split;
    }
    const std::size_t count = quiz->questions.size();
    if (given.size() != count) {
      throw BadRequest("answers", "expected " + std::to_string(count) + " answers, got " +
                                      std::to_string(given.size()));
    }
    std::vector<int> answers;
    for (std::size_t i = 0; i < count; ++i) {
      const int options = static_cast<int>(quiz->questions[i].options.size());
      const auto answer = parse_int_in(given[i], 0, options - 1);
      if (!answer) {
        throw BadRequest("answers", "answer " + std::to_string(i + 1) +
                                        " must be an option index from 0 to " +
                                        std::to_string(options - 1));
      }
      answers.push_back(*answer);
    }
    const QuizScore score = app.store.record_attempt(user->id, *quiz, answers);
    app.analytics.log(
        "quiz_attempt", user->id, user->role,
        Json{{"quiz_id", *id}, {"score", score.score}, {"total", score.total}}.dump());
    answer_done(req, res,
                "/quizzes/" + std::to_string(*id) + "?score=" + std::to_string(score.score),
                Json{{"ok", true}, {"quiz_id", *id}, {"score", score.score}, {"total", score.total}}
                    .dump());
  });
}

}  // namespace classroom
