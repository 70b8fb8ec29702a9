// durability_probe DB normal|full — logs one committed event between two markers on stdout, so
// that `strace` can show where the database's syncs fall relative to the acknowledgement.
// Used by durability_strace_test.sh.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "evlog/evlog.hpp"

namespace {

void mark(const char* text) {
  // One write(2) per marker, so the trace shows exactly where it happened.
  if (::write(STDOUT_FILENO, text, std::strlen(text)) < 0) std::perror("write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[2], "normal") != 0 && std::strcmp(argv[2], "full") != 0)) {
    std::fprintf(stderr, "usage: durability_probe DB normal|full\n");
    return 2;
  }
  evlog::Options options;
  options.database = argv[1];
  options.durability =
      std::strcmp(argv[2], "full") == 0 ? evlog::Durability::full : evlog::Durability::normal;
  evlog::Logger logger(options);
  // Warm up: the table exists and the WAL is in use before the measured call.
  (void)logger.log({.type = "warm_up", .user_id = {}, .user_type = {}, .metadata = {}},
                   evlog::Delivery::committed);
  mark("BEFORE_COMMITTED_LOG\n");
  const evlog::Result r =
      logger.log({.type = "task_complete", .user_id = 1, .user_type = {}, .metadata = {}},
                 evlog::Delivery::committed);
  if (r.outcome != evlog::Outcome::committed) {
    std::fprintf(stderr, "not committed: %s\n", r.message.c_str());
    return 1;
  }
  mark("ACKNOWLEDGED\n");
  return 0;
}
