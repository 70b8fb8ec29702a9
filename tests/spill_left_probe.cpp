// spill_left_probe DB SPILL_DIR N — a process that dies leaving spill files behind, for
// cli_spill_test.sh: holds the database's write lock on a second connection, logs N events of
// type "left" (user_id 0 … N-1) with spill_after = 0, waits until all N count as spilled, then
// ends with _exit(0), as a crash would: no shutdown, no replay, the files stay.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "test_support.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB SPILL_DIR N\n", argv[0]);
    return 2;
  }
  const std::string db = argv[1];
  const long n = std::strtol(argv[3], nullptr, 10);
  {
    evlog_test::SqliteFile create(db, true);  // the table exists before the lock is taken
    create.exec(
        "CREATE TABLE IF NOT EXISTS analytics_events (id INTEGER PRIMARY KEY, event_id TEXT NOT "
        "NULL UNIQUE, event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT, metadata TEXT, "
        "created_at TEXT NOT NULL)");
    create.exec("PRAGMA journal_mode=WAL");
  }
  evlog_test::SqliteWriteLock lock(db);
  evlog::Options options = evlog_test::options_for(db);
  options.spill_dir = argv[2];
  options.spill_after = 0ms;
  options.on_warning = [](std::string_view) {};
  auto* logger = new evlog::Logger(options);  // never destroyed: the process "crashes"
  for (long i = 0; i < n; ++i) {
    if (!logger->log({"left", i, "student", R"({"cli":true})"}).ok()) return 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (logger->stats().spilled < static_cast<std::uint64_t>(n)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "only %llu of %ld spilled\n",
                   static_cast<unsigned long long>(logger->stats().spilled), n);
      return 1;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::printf("spilled %ld\n", n);
  std::fflush(stdout);
  ::_exit(0);
}
