// CommitTicket — what a committed-delivery caller waits on while its event rides a batch.
//
// Shared (std::shared_ptr) between the caller and the record, so a caller that times out and
// leaves never leaves the writer a dangling pointer. The caller sleeps on the ticket's own futex
// word and the writer wakes exactly that caller: no shared condition variable, so a commit of n
// committed events wakes n threads, not every waiter in the process, and none of them queues on
// a mutex to find out whether it was meant. A caller that is the logger's only waiter polls the
// word for a few microseconds first: a cheap commit often finishes before a sleep would begin.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace evlog::detail {

struct CommitTicket {
  enum class State : int {
    pending,
    committed,  // the batch holding the event was committed
    refused,    // the database refused the event (dead-lettered); `reason` says why
    lost,       // not written by the shutdown deadline
    dropped,    // evicted from the queue (OnFull::drop_oldest) before the writer took it
  };
  static_assert(sizeof(std::atomic<int>) == sizeof(int), "the futex word is the atomic itself");

  // Written by the writer before its release store of `state`; read by the caller after an
  // acquire load that saw a final state.
  std::string reason;
  std::atomic<int> state{static_cast<int>(State::pending)};

  // The writer: publishes the final state (release: `reason` is visible first), then wakes the
  // caller if it sleeps on the ticket.
  void finish(State final_state) noexcept;
  State current() const noexcept {
    return static_cast<State>(state.load(std::memory_order_acquire));
  }
  // The caller: the final state, or pending once `deadline` has passed. It first polls the
  // state for up to `spin` (on a machine with more than one core), then sleeps on the futex.
  State wait_until(std::chrono::steady_clock::time_point deadline,
                   std::chrono::nanoseconds spin = std::chrono::nanoseconds::zero()) noexcept;
};

}  // namespace evlog::detail
