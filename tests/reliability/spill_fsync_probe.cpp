// spill_fsync_probe DB SPILL_DIR N — a process that spills, for fault_test's fsync-error case
// (R12), run under `strace -e inject=fsync:error=EIO`, and for the disk-full case (R13), under
// `strace -e inject=write:error=ENOSPC`.
//
// Holds the database's write lock on a second connection, logs N events of type "fsync" with
// spill_after = 0, waits until all N count as spilled, prints its counters, releases the lock,
// flushes (replay) and shuts down, then prints the final counters. Exit status 0 when the
// accounting is exact and all N were written; 1 otherwise; 2 on bad usage or an exception.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

// One line on stdout through write(2), retried: under write-fault injection (the ENOSPC test)
// the probe's own report must still get out.
void say(const std::string& line) {
  const std::string text = line + "\n";
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::write(STDOUT_FILENO, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
      return;
    }
  }
}

void print(const char* when, const evlog::Stats& s) {
  say(std::string(when) + " written=" + std::to_string(s.written) +
      " spilled=" + std::to_string(s.spilled) + " queued=" + std::to_string(s.queued) +
      " lost=" + std::to_string(s.lost) + " spill_failures=" + std::to_string(s.spill_failures));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB SPILL_DIR N\n", argv[0]);
    return 2;
  }
  try {
    const std::string db = argv[1];
    const std::uint64_t n = std::strtoull(argv[3], nullptr, 10);
    evlog::Options options = evlog_test::options_for(db);
    options.spill_dir = argv[2];
    options.spill_after = 0ms;
    options.retry_max = 300ms;
    options.on_warning = [](std::string_view line) {
      std::fprintf(stderr, "warning: %.*s\n", static_cast<int>(line.size()), line.data());
    };
    evlog_test::SqliteWriteLock lock(db);
    evlog::Logger logger(options);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::string metadata = "{\"seq\":" + std::to_string(i) + "}";
      if (!logger.log({"fsync", static_cast<std::int64_t>(i), "", metadata}).ok()) return 1;
    }
    const bool spilled = evlog_test::wait_until([&] { return logger.stats().spilled == n; },
                                                std::chrono::milliseconds(60000));
    const evlog::Stats after = logger.stats();
    print("after_spill", after);
    say("spill_failures_after_spill=" + std::to_string(after.spill_failures));
    lock.release();
    const bool flushed = logger.flush(std::chrono::milliseconds(60000));
    const bool clean = logger.shutdown(std::chrono::milliseconds(60000));
    const evlog::Stats end = logger.stats();
    print("final", end);
    const bool exact = evlog_test::accounted(end, n) && end.written == n && end.lost == 0;
    say("spilled_all=" + std::to_string(spilled) + " flushed=" + std::to_string(flushed) +
        " clean=" + std::to_string(clean) + " exact=" + std::to_string(exact));
    return spilled && flushed && clean && exact ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception: %s\n", e.what());
    return 2;
  }
}
