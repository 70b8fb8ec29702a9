#include "writer/commit_ticket.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <thread>

namespace evlog::detail {

namespace {

int* word(std::atomic<int>& a) noexcept {
  return reinterpret_cast<int*>(&a);
}

// A hint to the core that this is a polling loop (it yields the pipeline to a sibling hardware
// thread and saves power), where the architecture has one.
void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

void CommitTicket::finish(State final_state) noexcept {
  state.store(static_cast<int>(final_state), std::memory_order_release);
  ::syscall(SYS_futex, word(state), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

CommitTicket::State CommitTicket::wait_until(std::chrono::steady_clock::time_point deadline,
                                             std::chrono::nanoseconds spin) noexcept {
  // Polling only pays where the writer runs on another core meanwhile.
  static const bool several_cores = std::thread::hardware_concurrency() > 1;
  if (spin > std::chrono::nanoseconds::zero() && several_cores) {
    const auto until = std::min(deadline, std::chrono::steady_clock::now() + spin);
    while (current() == State::pending && std::chrono::steady_clock::now() < until) {
      cpu_relax();
    }
  }
  for (;;) {
    const State now_state = current();
    if (now_state != State::pending) return now_state;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return State::pending;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    // Sleeps only while the word still says pending: a finish() between the load above and this
    // call makes the kernel return at once (EAGAIN), so no wake-up is lost.
    ::syscall(SYS_futex, word(state), FUTEX_WAIT_PRIVATE, static_cast<int>(State::pending),
              &timeout, nullptr, 0);
  }
}

}  // namespace evlog::detail
