// hot_path_syscall_probe DB CALLS — one request thread logs CALLS events at a paced 10,000 a
// second (busy-waiting on steady_clock between calls, as a thread serving requests would be busy
// elsewhere) between two marker write(2) calls, while the writer drains into SQLite. Run under
// `strace -f` by hot_path_syscall_test.sh, which counts the system calls that thread made
// between the markers: the hot path's own.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "evlog/evlog.hpp"

namespace {

void mark(const char* text) {
  if (::write(STDOUT_FILENO, text, std::strlen(text)) < 0) std::perror("write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: hot_path_syscall_probe DB CALLS\n");
    return 2;
  }
  const long calls = std::strtol(argv[2], nullptr, 10);
  evlog::Options options;
  options.database = argv[1];
  evlog::Logger logger(options);
  long failures = 0;
  std::thread request([&] {
    // Warm up outside the window: the thread's first calls touch fresh pages and create its
    // thread-local JSON parser (its first malloc creates the thread's malloc arena: mmap).
    for (int i = 0; i < 100; ++i) {
      if (!logger.log({.type = "warm_up", .user_id = i, .user_type = {}, .metadata = R"({"w":1})"})
               .ok()) {
        ++failures;
      }
    }
    char begin[64];
    std::snprintf(begin, sizeof begin, "HOT_PATH_BEGIN tid=%ld\n", ::syscall(SYS_gettid));
    mark(begin);
    const auto period = std::chrono::microseconds(100);  // 10,000 calls a second
    auto next = std::chrono::steady_clock::now();
    for (long i = 0; i < calls; ++i) {
      while (std::chrono::steady_clock::now() < next) {
      }
      next += period;
      const evlog::Result r = logger.log({.type = "page_view",
                                          .user_id = i,
                                          .user_type = "student",
                                          .metadata = R"({"path":"/tasks/3","course":"py-101"})"});
      if (!r.ok()) ++failures;
    }
    mark("HOT_PATH_END\n");
  });
  request.join();
  if (!logger.flush(std::chrono::seconds(30))) {
    std::fprintf(stderr, "flush timed out\n");
    return 1;
  }
  const evlog::Stats s = logger.stats();
  std::printf("calls=%ld written=%llu failures=%ld\n", calls + 100,
              static_cast<unsigned long long>(s.written), failures);
  return failures == 0 && s.written == static_cast<unsigned long long>(calls + 100) ? 0 : 1;
}
