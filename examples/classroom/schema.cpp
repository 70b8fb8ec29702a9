#include "schema.hpp"

namespace classroom {

void create_schema(Connection& connection) {
  connection.exec(R"sql(
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('student', 'teacher')),
  salt TEXT NOT NULL, iterations INTEGER NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subtasks (
  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id),
  position INTEGER NOT NULL, title TEXT NOT NULL, UNIQUE (task_id, position));
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id),
  name TEXT NOT NULL, content TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (
  user_id INTEGER NOT NULL REFERENCES users(id), task_id INTEGER NOT NULL REFERENCES tasks(id),
  started_at TEXT, completed_at TEXT, self_eval INTEGER CHECK (self_eval BETWEEN 1 AND 5),
  PRIMARY KEY (user_id, task_id));
CREATE TABLE IF NOT EXISTS subtask_progress (
  user_id INTEGER NOT NULL REFERENCES users(id),
  subtask_id INTEGER NOT NULL REFERENCES subtasks(id),
  completed_at TEXT NOT NULL, PRIMARY KEY (user_id, subtask_id));
CREATE TABLE IF NOT EXISTS quizzes (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quiz_questions (
  id INTEGER PRIMARY KEY, quiz_id INTEGER NOT NULL REFERENCES quizzes(id),
  position INTEGER NOT NULL, prompt TEXT NOT NULL, options TEXT NOT NULL,
  answer INTEGER NOT NULL, UNIQUE (quiz_id, position));
CREATE TABLE IF NOT EXISTS quiz_results (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  quiz_id INTEGER NOT NULL REFERENCES quizzes(id), answers TEXT NOT NULL,
  score INTEGER NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL);
)sql");
}

void create_analytics_table(Connection& connection) {
  connection.exec(
      "CREATE TABLE IF NOT EXISTS analytics_events (id INTEGER PRIMARY KEY, "
      "event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, user_id INTEGER, "
      "user_type TEXT, metadata TEXT, created_at TEXT NOT NULL)");
}

void create_analytics_index(Connection& connection) {
  connection.exec(
      "CREATE INDEX IF NOT EXISTS analytics_events_created_at ON analytics_events(created_at)");
}

}  // namespace classroom
