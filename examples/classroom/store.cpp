#include "store.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "secrets.hpp"
#include "utc_time.hpp"

namespace classroom {

std::optional<User> Store::authenticate(const std::string& username, const std::string& password) {
  auto connection = pool_.acquire();
  Statement query(*connection,
                  "SELECT id, username, role, salt, iterations, password_hash FROM users "
                  "WHERE username = ?1");
  query.bind(1, username);
  if (!query.step()) {
    verify_dummy_password(password);
    return std::nullopt;
  }
  const PasswordHash stored{query.text_at(3), static_cast<int>(query.int_at(4)), query.text_at(5)};
  if (!verify_password(password, stored)) return std::nullopt;
  User user{query.int_at(0), query.text_at(1), query.text_at(2)};
  if (stored.iterations < kPasswordIterations) {
    const PasswordHash upgraded = hash_password(password);
    Statement update(*connection,
                     "UPDATE users SET salt = ?1, iterations = ?2, password_hash = ?3 "
                     "WHERE id = ?4 AND password_hash = ?5");
    update.bind(1, upgraded.salt_hex)
        .bind(2, std::int64_t{upgraded.iterations})
        .bind(3, upgraded.hash_hex)
        .bind(4, user.id)
        .bind(5, stored.hash_hex)
        .run();
  }
  return user;
}

std::string Store::create_session(std::int64_t user_id) {
  const std::string token = random_hex(32);
  const auto now = std::chrono::system_clock::now();
  auto connection = pool_.acquire();
  Statement insert(*connection,
                   "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                   "VALUES (?1, ?2, ?3, ?4)");
  insert.bind(1, sha256_hex(token))
      .bind(2, user_id)
      .bind(3, utc_text(now))
      .bind(4, utc_text(now + std::chrono::hours(12)))
      .run();
  return token;
}

std::optional<User> Store::user_for_session(const std::string& token) {
  if (token.empty()) return std::nullopt;
  auto connection = pool_.acquire();
  // Looked up by the token's hash: the comparison never sees the token itself.
  Statement query(
      *connection,
      "SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
      "WHERE s.token_hash = ?1 AND s.expires_at > ?2");
  query.bind(1, sha256_hex(token)).bind(2, utc_now_text());
  if (!query.step()) return std::nullopt;
  return User{query.int_at(0), query.text_at(1), query.text_at(2)};
}

void Store::end_session(const std::string& token) {
  auto connection = pool_.acquire();
  Statement remove(*connection, "DELETE FROM sessions WHERE token_hash = ?1");
  remove.bind(1, sha256_hex(token)).run();
}

namespace {

constexpr const char* kTaskSummarySql =
    "SELECT t.id, t.title, t.description, p.started_at IS NOT NULL, p.completed_at IS NOT NULL, "
    "(SELECT COUNT(*) FROM subtasks s JOIN subtask_progress sp ON sp.subtask_id = s.id "
    "  WHERE s.task_id = t.id AND sp.user_id = ?1), "
    "(SELECT COUNT(*) FROM subtasks s WHERE s.task_id = t.id), p.self_eval "
    "FROM tasks t LEFT JOIN progress p ON p.task_id = t.id AND p.user_id = ?1 ";

TaskSummary summary_from(const Statement& row) {
  return TaskSummary{row.int_at(0),
                     row.text_at(1),
                     row.text_at(2),
                     row.int_at(3) != 0,
                     row.int_at(4) != 0,
                     static_cast<int>(row.int_at(5)),
                     static_cast<int>(row.int_at(6))};
}

}  // namespace

std::vector<TaskSummary> Store::tasks(std::int64_t user_id) {
  auto connection = pool_.acquire();
  Statement query(*connection, std::string(kTaskSummarySql) + "ORDER BY t.id");
  query.bind(1, user_id);
  std::vector<TaskSummary> result;
  while (query.step()) result.push_back(summary_from(query));
  return result;
}

std::optional<TaskDetail> Store::task(std::int64_t user_id, std::int64_t task_id) {
  auto connection = pool_.acquire();
  Statement query(*connection, std::string(kTaskSummarySql) + "WHERE t.id = ?2");
  query.bind(1, user_id).bind(2, task_id);
  if (!query.step()) return std::nullopt;
  TaskDetail detail;
  detail.summary = summary_from(query);
  if (!query.null_at(7)) detail.self_eval = static_cast<int>(query.int_at(7));

  Statement subtasks(*connection,
                     "SELECT s.position, s.title, EXISTS (SELECT 1 FROM subtask_progress sp "
                     "WHERE sp.subtask_id = s.id AND sp.user_id = ?1) "
                     "FROM subtasks s WHERE s.task_id = ?2 ORDER BY s.position");
  subtasks.bind(1, user_id).bind(2, task_id);
  while (subtasks.step()) {
    detail.subtasks.push_back(
        {static_cast<int>(subtasks.int_at(0)), subtasks.text_at(1), subtasks.int_at(2) != 0});
  }
  Statement files(*connection, "SELECT id, name FROM files WHERE task_id = ?1 ORDER BY id");
  files.bind(1, task_id);
  while (files.step()) detail.files.push_back({files.int_at(0), files.text_at(1), {}});
  return detail;
}

std::optional<FileInfo> Store::file(std::int64_t file_id) {
  auto connection = pool_.acquire();
  Statement query(*connection, "SELECT id, name, content FROM files WHERE id = ?1");
  query.bind(1, file_id);
  if (!query.step()) return std::nullopt;
  return FileInfo{query.int_at(0), query.text_at(1), query.text_at(2)};
}

std::vector<std::pair<std::int64_t, std::string>> Store::quizzes() {
  auto connection = pool_.acquire();
  Statement query(*connection, "SELECT id, title FROM quizzes ORDER BY id");
  std::vector<std::pair<std::int64_t, std::string>> result;
  while (query.step()) result.emplace_back(query.int_at(0), query.text_at(1));
  return result;
}

std::optional<Quiz> Store::quiz(std::int64_t quiz_id) {
  auto connection = pool_.acquire();
  Statement title(*connection, "SELECT title FROM quizzes WHERE id = ?1");
  title.bind(1, quiz_id);
  if (!title.step()) return std::nullopt;
  Quiz quiz{quiz_id, title.text_at(0), {}};
  Statement questions(*connection,
                      "SELECT prompt, options, answer FROM quiz_questions WHERE quiz_id = ?1 "
                      "ORDER BY position");
  questions.bind(1, quiz_id);
  while (questions.step()) {
    quiz.questions.push_back(
        {questions.text_at(0),
         nlohmann::json::parse(questions.text_at(1)).get<std::vector<std::string>>(),
         static_cast<int>(questions.int_at(2))});
  }
  return quiz;
}

bool Store::task_exists(Connection& connection, std::int64_t task_id) {
  Statement query(connection, "SELECT 1 FROM tasks WHERE id = ?1");
  query.bind(1, task_id);
  return query.step();
}

bool Store::start_task(std::int64_t user_id, std::int64_t task_id) {
  auto connection = pool_.acquire();
  if (!task_exists(*connection, task_id)) return false;
  Statement upsert(*connection,
                   "INSERT INTO progress (user_id, task_id, started_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (user_id, task_id) DO UPDATE SET "
                   "started_at = COALESCE(started_at, excluded.started_at)");
  upsert.bind(1, user_id).bind(2, task_id).bind(3, utc_now_text()).run();
  return true;
}

bool Store::complete_subtask(std::int64_t user_id, std::int64_t task_id, int position) {
  auto connection = pool_.acquire();
  Statement find(*connection, "SELECT id FROM subtasks WHERE task_id = ?1 AND position = ?2");
  find.bind(1, task_id).bind(2, std::int64_t{position});
  if (!find.step()) return false;
  Statement upsert(*connection,
                   "INSERT INTO subtask_progress (user_id, subtask_id, completed_at) "
                   "VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET completed_at = "
                   "excluded.completed_at");
  upsert.bind(1, user_id).bind(2, find.int_at(0)).bind(3, utc_now_text()).run();
  return true;
}

bool Store::complete_task(std::int64_t user_id, std::int64_t task_id) {
  auto connection = pool_.acquire();
  if (!task_exists(*connection, task_id)) return false;
  const std::string now = utc_now_text();
  Statement upsert(*connection,
                   "INSERT INTO progress (user_id, task_id, started_at, completed_at) "
                   "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (user_id, task_id) DO UPDATE SET "
                   "started_at = COALESCE(started_at, excluded.started_at), "
                   "completed_at = excluded.completed_at");
  upsert.bind(1, user_id).bind(2, task_id).bind(3, now).run();
  return true;
}

bool Store::self_eval(std::int64_t user_id, std::int64_t task_id, int score) {
  auto connection = pool_.acquire();
  if (!task_exists(*connection, task_id)) return false;
  Statement upsert(*connection,
                   "INSERT INTO progress (user_id, task_id, self_eval) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (user_id, task_id) DO UPDATE SET self_eval = excluded.self_eval");
  upsert.bind(1, user_id).bind(2, task_id).bind(3, std::int64_t{score}).run();
  return true;
}

QuizScore Store::record_attempt(std::int64_t user_id, const Quiz& quiz,
                                const std::vector<int>& answers) {
  QuizScore score{0, static_cast<int>(quiz.questions.size())};
  for (std::size_t i = 0; i < answers.size() && i < quiz.questions.size(); ++i) {
    if (answers[i] == quiz.questions[i].answer) ++score.score;
  }
  auto connection = pool_.acquire();
  Statement insert(*connection,
                   "INSERT INTO quiz_results (user_id, quiz_id, answers, score, total, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  insert.bind(1, user_id)
      .bind(2, quiz.id)
      .bind(3, nlohmann::json(answers).dump())
      .bind(4, std::int64_t{score.score})
      .bind(5, std::int64_t{score.total})
      .bind(6, utc_now_text())
      .run();
  return score;
}

}  // namespace classroom
