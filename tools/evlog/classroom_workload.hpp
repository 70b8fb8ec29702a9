// tools/evlog/classroom_workload.hpp — the classroom app's analytics events (docs/background.md),
// replayed from a fixed seed: what the request threads of `evlog demo` (and later `bench`) log.
#pragma once

#include <array>
#include <cstddef>
#include <evlog/event.hpp>
#include <random>
#include <string>
#include <string_view>

namespace evlog::cli {

// Replays the classroom app's event mix from a fixed seed per thread, so that every run (and each
// phase of a run) logs the same sequence.
class ClassroomWorkload {
 public:
  // The mix, in events per 1,000: page views are ≈ 95 % (docs/background.md), the rest the
  // classroom's logins, downloads, task progress, self-evaluations and quizzes.
  struct MixEntry {
    std::string_view type;
    int per_mille;
  };
  // clang-format off
  static constexpr std::array<MixEntry, 8> kMix{{
      {"page_view", 950}, {"login", 10}, {"file_download", 6}, {"task_start", 8},
      {"subtask_complete", 14}, {"task_complete", 5}, {"self_eval", 3}, {"quiz_attempt", 4}}};
  // clang-format on
  static constexpr int kStudents = 20;  // students have user ids 1–20
  static constexpr int kTeacherId = 21;
  static constexpr int kTasks = 12;

  // `thread` picks the seed: threads differ from each other, runs do not.
  explicit ClassroomWorkload(int thread) : rng_(0x5eed0000u + static_cast<unsigned>(thread)) {}

  // The next event; its views stay valid until the next call.
  evlog::Event next() {
    int roll = pick(1000);
    std::size_t kind = 0;
    while (roll >= kMix[kind].per_mille) roll -= kMix[kind++].per_mille;
    // Teachers browse, log in and hand out files; students also work on tasks and quizzes.
    const bool teacher = kind <= 2 && pick(10) == 0;
    const int user = teacher ? kTeacherId : 1 + pick(kStudents);
    const std::string task = std::to_string(1 + pick(kTasks));
    switch (kind) {
      case 0:  // page_view
        metadata_ = teacher        ? R"({"path":"/admin/students/)" + number(kStudents) + "\"}"
                    : pick(2) == 0 ? R"({"path":"/tasks/)" + task + "\"}"
                                   : R"({"path":"/materials"})";
        break;
      case 1:  // login
        metadata_ = pick(2) == 0 ? R"({"remember_me":true})" : R"({"remember_me":false})";
        break;
      case 2:  // file_download
        metadata_ = R"({"file_id":)" + task + R"(,"name":"worksheet_)" + task + R"(.pdf"})";
        break;
      case 3:  // task_start
      case 5:  // task_complete
        metadata_ = R"({"task_id":)" + task + "}";
        break;
      case 4:  // subtask_complete
        metadata_ = R"({"task_id":)" + task + R"(,"subtask":)" + number(5) + "}";
        break;
      case 6:  // self_eval
        metadata_ = R"({"task_id":)" + task + R"(,"rating":)" + number(5) + "}";
        break;
      default:  // quiz_attempt
        metadata_ = R"({"quiz_id":)" + number(6) + R"(,"score":)" + std::to_string(pick(11)) +
                    R"(,"max_score":10})";
    }
    return {kMix[kind].type, user, teacher ? "teacher" : "student", metadata_};
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  std::string number(int max) { return std::to_string(1 + pick(max)); }

  std::mt19937_64 rng_;
  std::string metadata_;
};

}  // namespace evlog::cli
