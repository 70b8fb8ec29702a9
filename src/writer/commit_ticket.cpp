#include "writer/commit_ticket.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace evlog::detail {

namespace {

int* word(std::atomic<int>& a) noexcept {
  return reinterpret_cast<int*>(&a);
}

}  // namespace

void CommitTicket::finish(State final_state) noexcept {
  state.store(static_cast<int>(final_state), std::memory_order_release);
  ::syscall(SYS_futex, word(state), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

CommitTicket::State CommitTicket::wait_until(
    std::chrono::steady_clock::time_point deadline) noexcept {
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
