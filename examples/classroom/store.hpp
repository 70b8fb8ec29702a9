// classroom/store.hpp — the app's real data: users, sessions, tasks, progress and quizzes.
// Every write is its own synchronous transaction; every value is bound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sqlite_db.hpp"

namespace classroom {

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string role;  // "student" or "teacher"
};

struct TaskSummary {
  std::int64_t id = 0;
  std::string title;
  std::string description;
  bool started = false;
  bool completed = false;
  int subtasks_done = 0;
  int subtasks_total = 0;
};

struct Subtask {
  int position = 0;
  std::string title;
  bool done = false;
};

struct FileInfo {
  std::int64_t id = 0;
  std::string name;
  std::string content;
};

struct TaskDetail {
  TaskSummary summary;
  std::vector<Subtask> subtasks;
  std::vector<FileInfo> files;  // content left empty
  std::optional<int> self_eval;
};

struct QuizQuestion {
  std::string prompt;
  std::vector<std::string> options;
  int answer = 0;
};

struct Quiz {
  std::int64_t id = 0;
  std::string title;
  std::vector<QuizQuestion> questions;
};

struct QuizScore {
  int score = 0;
  int total = 0;
};

class Store {
 public:
  explicit Store(ConnectionPool& pool) : pool_(pool) {}

  // The user when the password matches; nullopt otherwise (same cost for unknown names).
  // A hash stored with fewer than kPasswordIterations is replaced, on success, by one with
  // that many and a fresh salt.
  std::optional<User> authenticate(const std::string& username, const std::string& password);
  // A new session token (returned once; only its SHA-256 is stored), valid for 12 hours.
  std::string create_session(std::int64_t user_id);
  std::optional<User> user_for_session(const std::string& token);
  void end_session(const std::string& token);

  std::vector<TaskSummary> tasks(std::int64_t user_id);
  std::optional<TaskDetail> task(std::int64_t user_id, std::int64_t task_id);
  std::optional<FileInfo> file(std::int64_t file_id);
  std::vector<std::pair<std::int64_t, std::string>> quizzes();
  std::optional<Quiz> quiz(std::int64_t quiz_id);

  // Writes: false when the task (or subtask) does not exist.
  bool start_task(std::int64_t user_id, std::int64_t task_id);
  bool complete_subtask(std::int64_t user_id, std::int64_t task_id, int position);
  bool complete_task(std::int64_t user_id, std::int64_t task_id);
  bool self_eval(std::int64_t user_id, std::int64_t task_id, int score);
  // Stores the attempt and its score; `answers` has one index per question (checked by caller).
  QuizScore record_attempt(std::int64_t user_id, const Quiz& quiz, const std::vector<int>& answers);

 private:
  bool task_exists(Connection& connection, std::int64_t task_id);

  ConnectionPool& pool_;
};

}  // namespace classroom
