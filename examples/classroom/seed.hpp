// classroom/seed.hpp — `evlog-classroom seed`: the demo school.
#pragma once

#include <string>

namespace classroom {

struct SeedCounts {
  int users = 0;
  int tasks = 0;
  int quizzes = 0;
};

// Creates students student1…student20 and teacher1 (all with `password`), 5 tasks of 3
// subtasks (one file each) and 2 quizzes. Users that exist keep their password; tasks and
// quizzes are created only when there are none. Returns what was created.
SeedCounts seed_database(const std::string& path, const std::string& password);

}  // namespace classroom
