// The README's usage example: log events from a request handler, read the accounting at the end.
#include <evlog/evlog.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  evlog::Options options;
  options.database = argc > 1 ? argv[1] : "analytics.db";
  options.critical_types = {"task_complete", "quiz_attempt"};  // wait for a group commit
  evlog::Logger logger(options);  // throws evlog::Error on bad options or an unusable path

  // In a request handler: returns in nanoseconds, never throws.
  evlog::Result r = logger.log({.type = "page_view",
                                .user_id = 42,
                                .user_type = "student",
                                .metadata = R"({"path":"/tasks/3"})"});
  if (!r.ok()) std::fprintf(stderr, "not logged: %s\n", r.message.c_str());

  // A critical type: returns once the row is committed (shared with every event in the batch).
  r = logger.log({.type = "task_complete",
                  .user_id = 42,
                  .user_type = "student",
                  .metadata = R"({"task_id":3})"});
  std::printf("task_complete: %s\n", std::string(evlog::to_string(r.outcome)).c_str());

  logger.shutdown(std::chrono::seconds(5));  // the destructor would do the same
  const evlog::Stats s = logger.stats();
  std::printf(
      "written=%llu dropped=%llu rejected=%llu\n", static_cast<unsigned long long>(s.written),
      static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.rejected));
  return s.written == 2 ? 0 : 1;
}
