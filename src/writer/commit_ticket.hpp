// CommitTicket — what a committed-delivery caller waits on while its event rides a batch.
//
// Shared (std::shared_ptr) between the caller and the record, so a caller that times out and
// leaves never leaves the writer a dangling pointer.
#pragma once

#include <atomic>
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

  // Written by the writer before its release store of `state`; read by the caller after an
  // acquire load that saw a final state.
  std::string reason;
  std::atomic<State> state{State::pending};

  void finish(State final_state) noexcept { state.store(final_state, std::memory_order_release); }
  State current() const noexcept { return state.load(std::memory_order_acquire); }
};

}  // namespace evlog::detail
