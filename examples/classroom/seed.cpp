#include "seed.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "schema.hpp"
#include "secrets.hpp"

namespace classroom {
namespace {

struct TaskSeed {
  const char* title;
  const char* description;
  std::array<const char*, 3> subtasks;
};

constexpr std::array<TaskSeed, 5> kTasks{{
    {"Fractions",
     "Add, compare and simplify fractions.",
     {"Read the worked example", "Simplify ten fractions", "Explain your method"}},
    {"Photosynthesis",
     "What a leaf makes from light, water and air.",
     {"Label the leaf diagram", "Write the word equation", "Plan an experiment"}},
    {"Persuasive letter",
     "Write a letter that argues for a change at school.",
     {"Choose a topic", "Draft three arguments", "Write the final letter"}},
    {"The water cycle",
     "Evaporation, condensation, precipitation.",
     {"Watch the animation", "Draw the cycle", "Answer the questions"}},
    {"Loops in Python",
     "Repeat work with for and while.",
     {"Trace the examples", "Write a times table", "Fix the buggy loop"}},
}};

struct QuestionSeed {
  const char* prompt;
  std::array<const char*, 3> options;
  int answer;
};

struct QuizSeed {
  const char* title;
  std::array<QuestionSeed, 3> questions;
};

constexpr std::array<QuizSeed, 2> kQuizzes{{
    {"Fractions check",
     {{{"1/2 + 1/4 =", {"2/6", "3/4", "1/8"}, 1},
       {"Which is larger?", {"3/5", "5/9", "1/2"}, 0},
       {"6/8 simplified is", {"3/4", "2/3", "12/16"}, 0}}}},
    {"Science check",
     {{{"Plants take in which gas?", {"Oxygen", "Nitrogen", "Carbon dioxide"}, 2},
       {"Water vapour turning into droplets is", {"evaporation", "condensation", "melting"}, 1},
       {"Photosynthesis needs", {"light", "sound", "magnetism"}, 0}}}},
}};

}  // namespace

SeedCounts seed_database(const std::string& path, const std::string& password) {
  Connection connection(path);
  create_schema(connection);
  SeedCounts counts;

  std::vector<std::pair<std::string, std::string>> users;
  for (int i = 1; i <= 20; ++i) users.emplace_back("student" + std::to_string(i), "student");
  users.emplace_back("teacher1", "teacher");
  for (const auto& [name, role] : users) {
    const PasswordHash hash = hash_password(password);
    Statement insert(connection,
                     "INSERT INTO users (username, role, salt, iterations, password_hash) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username) DO NOTHING");
    insert.bind(1, name)
        .bind(2, role)
        .bind(3, hash.salt_hex)
        .bind(4, std::int64_t{hash.iterations})
        .bind(5, hash.hash_hex)
        .run();
    counts.users += sqlite3_changes(connection.get());
  }

  in_transaction(connection, [&] {
    Statement existing(connection, "SELECT COUNT(*) FROM tasks");
    existing.step();
    if (existing.int_at(0) > 0) return;
    for (const TaskSeed& task : kTasks) {
      Statement insert(connection, "INSERT INTO tasks (title, description) VALUES (?1, ?2)");
      insert.bind(1, std::string_view(task.title)).bind(2, std::string_view(task.description));
      insert.run();
      const std::int64_t task_id = sqlite3_last_insert_rowid(connection.get());
      for (int position = 1; position <= 3; ++position) {
        Statement sub(connection,
                      "INSERT INTO subtasks (task_id, position, title) VALUES (?1, ?2, ?3)");
        sub.bind(1, task_id)
            .bind(2, std::int64_t{position})
            .bind(3, std::string_view(task.subtasks[position - 1]))
            .run();
      }
      Statement file(connection, "INSERT INTO files (task_id, name, content) VALUES (?1, ?2, ?3)");
      file.bind(1, task_id)
          .bind(2, std::string(task.title) + " worksheet.txt")
          .bind(3, std::string(task.title) + "\n\n" + task.description + "\n")
          .run();
      ++counts.tasks;
    }
  });

  in_transaction(connection, [&] {
    Statement existing(connection, "SELECT COUNT(*) FROM quizzes");
    existing.step();
    if (existing.int_at(0) > 0) return;
    for (const QuizSeed& quiz : kQuizzes) {
      Statement insert(connection, "INSERT INTO quizzes (title) VALUES (?1)");
      insert.bind(1, std::string_view(quiz.title)).run();
      const std::int64_t quiz_id = sqlite3_last_insert_rowid(connection.get());
      int position = 0;
      for (const QuestionSeed& question : quiz.questions) {
        nlohmann::json options = nlohmann::json::array();
        for (const char* option : question.options) options.push_back(option);
        Statement q(connection,
                    "INSERT INTO quiz_questions (quiz_id, position, prompt, options, answer) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)");
        q.bind(1, quiz_id)
            .bind(2, std::int64_t{++position})
            .bind(3, std::string_view(question.prompt))
            .bind(4, options.dump())
            .bind(5, std::int64_t{question.answer})
            .run();
      }
      ++counts.quizzes;
    }
  });
  return counts;
}

}  // namespace classroom
