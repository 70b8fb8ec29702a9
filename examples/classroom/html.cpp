#include "html.hpp"

namespace classroom {
namespace {

constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;
background:#f4f6fb;color:#1f2937}header{background:#1e3a8a;color:#fff;padding:12px 32px;display:flex;
gap:24px;align-items:center}header a{color:#dbeafe;text-decoration:none;font-weight:600}
header .brand{font-size:20px;color:#fff;margin-right:auto}main{max-width:1120px;margin:24px auto;
padding:0 32px}.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002;padding:20px 24px;
margin-bottom:20px}h1{margin:0 0 16px;font-size:26px}h2{margin:0 0 12px;font-size:19px}
button,.button{background:#2563eb;color:#fff;border:0;border-radius:8px;padding:8px 16px;
font:inherit;font-weight:600;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#64748b}input,select{font:inherit;padding:8px;border:1px solid #cbd5e1;
border-radius:8px;width:100%;margin:4px 0 12px}label{font-weight:600}.muted{color:#64748b}
.error{background:#fee2e2;color:#991b1b;padding:10px 14px;border-radius:8px;margin-bottom:12px}
.ok{background:#dcfce7;color:#166534;padding:10px 14px;border-radius:8px;margin-bottom:12px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:8px 10px;
border-bottom:1px solid #e5e7eb}.badge{border-radius:999px;padding:2px 10px;font-size:13px;
font-weight:600}.done{background:#dcfce7;color:#166534}.todo{background:#e0e7ff;color:#3730a3}
.inline{display:inline}.row{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
)css";

std::string status_badge(const TaskSummary& task) {
  if (task.completed) return R"(<span class="badge done">completed</span>)";
  if (task.started) return R"(<span class="badge todo">in progress</span>)";
  return R"(<span class="badge">not started</span>)";
}

std::string post_button(const std::string& action, std::string_view label, std::string_view id,
                        bool secondary = false) {
  return "<form class=\"inline\" method=\"post\" action=\"" + escape_html(action) +
         "\"><button id=\"" + std::string(id) + "\"" + (secondary ? " class=\"secondary\"" : "") +
         ">" + escape_html(label) + "</button></form>";
}

}  // namespace

std::string display_text(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) {
      out += "\u2026";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    // The length of a well-formed sequence starting here (RFC 3629), 0 if none does.
    std::size_t length = byte < 0x80           ? 1
                         : (byte >> 5) == 0x6  ? 2
                         : (byte >> 4) == 0xE  ? 3
                         : (byte >> 3) == 0x1E ? 4
                                               : 0;
    if (byte == 0xC0 || byte == 0xC1 || byte > 0xF4) length = 0;
    if (length > 1 && i + length <= text.size()) {
      for (std::size_t k = 1; k < length; ++k) {
        if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) length = 0;
      }
      const auto second = length > 1 ? static_cast<unsigned char>(text[i + 1]) : 0;
      // Overlong forms, surrogates and code points past U+10FFFF.
      if ((byte == 0xE0 && second < 0xA0) || (byte == 0xED && second > 0x9F) ||
          (byte == 0xF0 && second < 0x90) || (byte == 0xF4 && second > 0x8F)) {
        length = 0;
      }
    } else if (length > 1) {
      length = 0;
    }
    if (length == 0) {
      out += "\uFFFD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
    ++chars;
  }
  return out;
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string page(std::string_view title, const User* user, std::string_view body) {
  std::string out = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  out += escape_html(title);
  out += " · Classroom</title><meta name=\"viewport\" content=\"width=device-width\"><style>";
  out += kStyle;
  out += "</style></head><body><header><a class=\"brand\" href=\"/\">Classroom</a>";
  if (user != nullptr) {
    out += "<a href=\"/tasks\">Tasks</a><span>" + escape_html(user->username) + " (" +
           escape_html(user->role) + ")</span>";
    out += post_button("/logout", "Log out", "logout", true);
  }
  out += "</header><main>";
  out += body;
  out += "</main></body></html>";
  return out;
}

std::string error_page(int status, std::string_view message) {
  return page("Error", nullptr,
              "<div class=\"card\"><h1>" + std::to_string(status) + "</h1><p class=\"error\">" +
                  escape_html(message) + "</p><a href=\"/\">Back to the start page</a></div>");
}

std::string login_page(std::string_view error, std::string_view next) {
  std::string body =
      "<div class=\"card\" style=\"max-width:420px;margin:40px auto\"><h1>Log in</h1>";
  if (!error.empty()) body += "<p class=\"error\">" + escape_html(error) + "</p>";
  body += "<form method=\"post\" action=\"/login\" id=\"login-form\">";
  body += "<input type=\"hidden\" name=\"next\" value=\"" + escape_html(next) + "\">";
  body +=
      "<label for=\"username\">User name</label><input id=\"username\" name=\"username\" "
      "autocomplete=\"username\">";
  body +=
      "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" "
      "type=\"password\" autocomplete=\"current-password\">";
  body += "<button id=\"login\" type=\"submit\">Log in</button></form></div>";
  return page("Log in", nullptr, body);
}

std::string home_page(const User& user, const std::vector<TaskSummary>& tasks,
                      const std::vector<std::pair<std::int64_t, std::string>>& quizzes) {
  int completed = 0;
  for (const auto& task : tasks) completed += task.completed ? 1 : 0;
  std::string body = "<div class=\"card\"><h1>Welcome, " + escape_html(user.username) +
                     "</h1><p class=\"muted\">" + std::to_string(completed) + " of " +
                     std::to_string(tasks.size()) +
                     " tasks completed.</p><a class=\"button\" id=\"tasks-link\" "
                     "href=\"/tasks\">Your tasks</a></div>";
  body += "<div class=\"card\"><h2>Quizzes</h2><ul>";
  for (const auto& [id, title] : quizzes) {
    body += "<li><a id=\"quiz-" + std::to_string(id) + "\" href=\"/quizzes/" + std::to_string(id) +
            "\">" + escape_html(title) + "</a></li>";
  }
  body += "</ul></div>";
  return page("Home", &user, body);
}

std::string tasks_page(const User& user, const std::vector<TaskSummary>& tasks) {
  std::string body =
      "<div class=\"card\"><h1>Tasks</h1><table><tr><th>Task</th><th>Subtasks</th>"
      "<th>Status</th></tr>";
  for (const auto& task : tasks) {
    body += "<tr><td><a id=\"task-" + std::to_string(task.id) + "\" href=\"/tasks/" +
            std::to_string(task.id) + "\">" + escape_html(task.title) +
            "</a><div class=\"muted\">" + escape_html(task.description) + "</div></td><td>" +
            std::to_string(task.subtasks_done) + " / " + std::to_string(task.subtasks_total) +
            "</td><td>" + status_badge(task) + "</td></tr>";
  }
  body += "</table></div>";
  return page("Tasks", &user, body);
}

std::string task_page(const User& user, const TaskDetail& task) {
  const std::string base = "/tasks/" + std::to_string(task.summary.id);
  std::string body = "<div class=\"card\"><div class=\"row\"><h1 style=\"margin:0\">" +
                     escape_html(task.summary.title) + "</h1>" + status_badge(task.summary) +
                     "</div><p>" + escape_html(task.summary.description) +
                     "</p><div class=\"row\">";
  body += post_button(base + "/start", "Start task", "start-task");
  body += post_button(base + "/complete", "Mark task complete", "complete-task");
  body += "</div></div><div class=\"card\"><h2>Subtasks</h2><table>";
  for (const auto& subtask : task.subtasks) {
    const std::string n = std::to_string(subtask.position);
    body += "<tr><td>" + n + ". " + escape_html(subtask.title) + "</td><td>";
    body += subtask.done ? R"(<span class="badge done">done</span>)"
                         : post_button(base + "/subtasks/" + n + "/complete", "Complete",
                                       "complete-subtask-" + n);
    body += "</td></tr>";
  }
  body += "</table></div><div class=\"card\"><h2>Materials</h2><ul>";
  for (const auto& file : task.files) {
    body += "<li><a href=\"/files/" + std::to_string(file.id) + "\">" + escape_html(file.name) +
            "</a></li>";
  }
  body +=
      "</ul></div><div class=\"card\"><h2>How well did it go?</h2><form method=\"post\" "
      "action=\"" +
      base +
      "/self-eval\" class=\"row\"><select name=\"score\" id=\"score\" "
      "style=\"width:auto;margin:0\">";
  for (int score = 1; score <= 5; ++score) {
    const bool selected = task.self_eval && *task.self_eval == score;
    body += "<option value=\"" + std::to_string(score) + "\"" + (selected ? " selected" : "") +
            ">" + std::to_string(score) + " / 5</option>";
  }
  body += "</select><button id=\"self-eval\">Save</button></form></div>";
  return page(task.summary.title, &user, body);
}

std::string quiz_page(const User& user, const Quiz& quiz, std::optional<QuizScore> result) {
  std::string body = "<div class=\"card\"><h1>" + escape_html(quiz.title) + "</h1>";
  if (result) {
    body += "<p class=\"ok\" id=\"quiz-result\">You scored " + std::to_string(result->score) +
            " of " + std::to_string(result->total) + ".</p>";
  }
  body += "<form method=\"post\" action=\"/quizzes/" + std::to_string(quiz.id) +
          "/attempts\" id=\"quiz-form\">";
  int index = 0;
  for (const auto& question : quiz.questions) {
    ++index;
    body += "<label for=\"answer-" + std::to_string(index) + "\">" + std::to_string(index) + ". " +
            escape_html(question.prompt) + "</label><select name=\"answers\" id=\"answer-" +
            std::to_string(index) + "\">";
    for (std::size_t option = 0; option < question.options.size(); ++option) {
      body += "<option value=\"" + std::to_string(option) + "\">" +
              escape_html(question.options[option]) + "</option>";
    }
    body += "</select>";
  }
  body += "<button id=\"submit-quiz\">Submit answers</button></form></div>";
  return page(quiz.title, &user, body);
}

}  // namespace classroom
