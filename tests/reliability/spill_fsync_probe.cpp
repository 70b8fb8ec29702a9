// spill_fsync_probe DB SPILL_DIR N — a process that spills, for fault_test's fsync-error case
// (R12), run under `strace -e inject=fsync:error=EIO`.
//
// Holds the database's write lock on a second connection, logs N events of type "fsync" with
// spill_after = 0, waits until all N count as spilled, prints its counters, releases the lock,
// flushes (replay) and shuts down, then prints the final counters. Exit status 0 when the
// accounting is exact and all N were written; 1 otherwise; 2 on bad usage or an exception.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

void print(const char* when, const evlog::Stats& s) {
  std::printf("%s written=%llu spilled=%llu queued=%llu lost=%llu spill_failures=%llu\n", when,
              static_cast<unsigned long long>(s.written),
              static_cast<unsigned long long>(s.spilled), static_cast<unsigned long long>(s.queued),
              static_cast<unsigned long long>(s.lost),
              static_cast<unsigned long long>(s.spill_failures));
  std::fflush(stdout);
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
    std::printf("spill_failures_after_spill=%llu\n",
                static_cast<unsigned long long>(after.spill_failures));
    lock.release();
    const bool flushed = logger.flush(std::chrono::milliseconds(60000));
    const bool clean = logger.shutdown(std::chrono::milliseconds(60000));
    const evlog::Stats end = logger.stats();
    print("final", end);
    const bool exact = evlog_test::accounted(end, n) && end.written == n && end.lost == 0;
    std::printf("spilled_all=%d flushed=%d clean=%d exact=%d\n", spilled, flushed, clean, exact);
    return spilled && flushed && clean && exact ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception: %s\n", e.what());
    return 2;
  }
}
