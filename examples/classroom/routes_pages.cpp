#include <nlohmann/json.hpp>

#include "html.hpp"
#include "request_fields.hpp"
#include "routes.hpp"

namespace classroom {
namespace {

void answer_html(http::Response& response, const std::string& html) {
  response.status = 200;
  response.set_content(html, "text/html; charset=utf-8");
}

void not_found(const http::Request& request, http::Response& response, const char* what) {
  answer_error(request, response, 404, std::string("no such ") + what);
}

}  // namespace

void add_page_routes(http::Router& router, AppContext& app) {
  add_route(router, app, "GET", "/login", [&app](const auto& req, auto& res) {
    const std::string next = req.has_param("next") ? req.get_param_value("next") : "/";
    answer_html(res, login_page("", next));
  });

  add_route(router, app, "GET", "/", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    answer_html(res, home_page(*user, app.store.tasks(user->id), app.store.quizzes()));
    app.analytics.log("page_view", user->id, user->role, path_metadata(req));
  });

  add_route(router, app, "GET", "/tasks", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    answer_html(res, tasks_page(*user, app.store.tasks(user->id)));
    app.analytics.log("page_view", user->id, user->role, path_metadata(req));
  });

  add_route(router, app, "GET", "/tasks/{id}", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = parse_id(req.matches[1]);
    const auto task = id ? app.store.task(user->id, *id) : std::nullopt;
    if (!task) return not_found(req, res, "task");
    answer_html(res, task_page(*user, *task));
    app.analytics.log("page_view", user->id, user->role, path_metadata(req));
  });

  add_route(router, app, "GET", "/files/{id}", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = parse_id(req.matches[1]);
    const auto file = id ? app.store.file(*id) : std::nullopt;
    if (!file) return not_found(req, res, "file");
    res.status = 200;
    res.set_content(file->content, "text/plain; charset=utf-8");
    // The name comes from our own seed data; quotes are still replaced to be safe.
    std::string name = file->name;
    for (char& c : name) c = (c == '"' || c == '\\') ? '_' : c;
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    app.analytics.log("file_download", user->id, user->role,
                      nlohmann::json{{"file_id", file->id}, {"name", file->name}}.dump());
  });

  add_route(router, app, "GET", "/quizzes/{id}", [&app](const auto& req, auto& res) {
    const auto user = require_user(app, req, res);
    if (!user) return;
    const auto id = parse_id(req.matches[1]);
    const auto quiz = id ? app.store.quiz(*id) : std::nullopt;
    if (!quiz) return not_found(req, res, "quiz");
    // After an attempt the browser is sent here with its score, shown above the form.
    std::optional<QuizScore> result;
    const int total = static_cast<int>(quiz->questions.size());
    if (req.has_param("score")) {
      if (const auto score = parse_int_in(req.get_param_value("score"), 0, total)) {
        result = QuizScore{*score, total};
      }
    }
    answer_html(res, quiz_page(*user, *quiz, result));
    app.analytics.log("page_view", user->id, user->role, path_metadata(req));
  });
}

}  // namespace classroom
