// durability_probe DB normal|full one|async|mixed — logs between markers on stdout, so that
// `strace` can show where the database's syncs fall relative to the calls and their answers.
// Used by durability_strace_test.sh.
//
//   one    one committed event between BEFORE_COMMITTED_LOG and ACKNOWLEDGED
//   async  between LOAD_BEGIN and LOAD_END, 20 rounds of 50 async events, each round committed
//          by a flush(): 20 commits that hold only async events
//   mixed  between LOAD_BEGIN and LOAD_END, 20 rounds of 50 async events and a flush() (an
//          async-only commit), then one committed event between CALL and ACK markers
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "evlog/evlog.hpp"

namespace {

void mark(const char* text) {
  // One write(2) per marker, so the trace shows exactly where it happened.
  if (::write(STDOUT_FILENO, text, std::strlen(text)) < 0) std::perror("write");
}

constexpr int kRounds = 20;
constexpr int kAsyncPerRound = 50;

bool log_async_round(evlog::Logger& logger, int round) {
  const std::string metadata = "{\"round\":" + std::to_string(round) + "}";
  for (int i = 0; i < kAsyncPerRound; ++i) {
    const evlog::Result r =
        logger.log({.type = "page_view", .user_id = i, .user_type = {}, .metadata = metadata},
                   evlog::Delivery::async);
    if (r.outcome != evlog::Outcome::queued) {
      std::fprintf(stderr, "not queued: %s\n", r.message.c_str());
      return false;
    }
  }
  if (!logger.flush(std::chrono::seconds(10))) {
    std::fprintf(stderr, "flush timed out\n");
    return false;
  }
  return true;
}

bool log_committed(evlog::Logger& logger) {
  const evlog::Result r =
      logger.log({.type = "task_complete", .user_id = 1, .user_type = {}, .metadata = {}},
                 evlog::Delivery::committed);
  if (r.outcome != evlog::Outcome::committed) {
    std::fprintf(stderr, "not committed: %s\n", r.message.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool valid_level =
      argc == 4 && (std::strcmp(argv[2], "normal") == 0 || std::strcmp(argv[2], "full") == 0);
  const std::string load = argc == 4 ? argv[3] : "";
  if (!valid_level || (load != "one" && load != "async" && load != "mixed")) {
    std::fprintf(stderr, "usage: durability_probe DB normal|full one|async|mixed\n");
    return 2;
  }
  evlog::Options options;
  options.database = argv[1];
  options.durability =
      std::strcmp(argv[2], "full") == 0 ? evlog::Durability::full : evlog::Durability::normal;
  evlog::Logger logger(options);
  // Warm up: the table exists and the WAL is in use before the measured calls.
  if (!log_committed(logger)) return 1;

  if (load == "one") {
    mark("BEFORE_COMMITTED_LOG\n");
    if (!log_committed(logger)) return 1;
    mark("ACKNOWLEDGED\n");
    return 0;
  }
  mark("LOAD_BEGIN\n");
  for (int round = 0; round < kRounds; ++round) {
    if (!log_async_round(logger, round)) return 1;
    if (load == "mixed") {
      mark("CALL\n");
      if (!log_committed(logger)) return 1;
      mark("ACK\n");
    }
  }
  mark("LOAD_END\n");
  const evlog::Stats stats = logger.stats();
  // Both loads stay far below SQLite's automatic checkpoint (1,000 WAL pages), so every sync of
  // the WAL seen between the markers is a commit's.
  std::fprintf(stderr, "written %llu in %llu batches\n",
               static_cast<unsigned long long>(stats.written),
               static_cast<unsigned long long>(stats.batches));
  return 0;
}
