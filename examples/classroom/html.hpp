// classroom/html.hpp — the app's HTML pages (server-rendered, no scripts).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store.hpp"

namespace classroom {

// Escapes &, <, >, " and ' for text and attribute values.
std::string escape_html(std::string_view text);
// At most `max_chars` characters of `text` (cut at a character boundary, "…" added when cut),
// each byte that is not part of valid UTF-8 replaced by U+FFFD: for text another process wrote.
std::string display_text(std::string_view text, std::size_t max_chars);
// A whole page: head with the shared style sheet, a header bar (with the user when logged in).
std::string page(std::string_view title, const User* user, std::string_view body);

std::string error_page(int status, std::string_view message);
std::string login_page(std::string_view error, std::string_view next);
std::string home_page(const User& user, const std::vector<TaskSummary>& tasks,
                      const std::vector<std::pair<std::int64_t, std::string>>& quizzes);
std::string tasks_page(const User& user, const std::vector<TaskSummary>& tasks);
std::string task_page(const User& user, const TaskDetail& task);
// `result`: the score of the attempt just made, shown above the questions.
std::string quiz_page(const User& user, const Quiz& quiz, std::optional<QuizScore> result);

}  // namespace classroom
