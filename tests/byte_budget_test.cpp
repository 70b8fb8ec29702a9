// ByteBudget and CommitTicket, the two small synchronisation pieces beside the queue: the budget
// never lets racing reservers pass its limit and gives back exactly what is released; a ticket
// wakes its waiter with the final state and its reason, and a waiter whose deadline passes sees
// pending.
#include "core/byte_budget.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "writer/commit_ticket.hpp"

namespace {

using evlog::detail::ByteBudget;
using evlog::detail::CommitTicket;
using namespace std::chrono_literals;

TEST(ByteBudget, ReservesUpToTheLimitAndNoFurther) {
  ByteBudget budget(1000);
  EXPECT_TRUE(budget.try_reserve(600));
  EXPECT_TRUE(budget.try_reserve(400));  // exactly at the limit
  EXPECT_FALSE(budget.try_reserve(1));
  EXPECT_EQ(budget.in_use(), 1000);
  budget.release(400);
  EXPECT_EQ(budget.in_use(), 600);
  EXPECT_FALSE(budget.try_reserve(401));
  EXPECT_EQ(budget.in_use(), 600) << "a refused reservation took bytes";
  EXPECT_TRUE(budget.try_reserve(400));
  budget.reset();
  EXPECT_EQ(budget.in_use(), 0);
}

// Eight threads reserve and release blocks as fast as they can. The bytes that successful
// reservations hold at any moment (counted beside the budget: added after a reservation succeeds,
// taken away before its release) never pass the limit, and once every block is given back the
// budget is at zero. (in_use() itself may pass the limit for an instant: a reservation that will
// fail is counted until it is taken back.)
TEST(ByteBudget, RacingReserversNeverPassTheLimit) {
  constexpr std::int64_t kLimit = 2500;  // two of the blocks below fit, three never do
  constexpr int kThreads = 8;
  const std::size_t rounds = evlog_test::scale(50000);
  ByteBudget budget(kLimit);
  std::atomic<std::int64_t> held{0};
  std::atomic<bool> over{false};
  std::atomic<std::uint64_t> refused{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const auto block = static_cast<std::int64_t>(1000 + 500 * (t % 3));
      for (std::size_t i = 0; i < rounds; ++i) {
        if (!budget.try_reserve(static_cast<std::size_t>(block))) {
          refused.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (held.fetch_add(block, std::memory_order_seq_cst) + block > kLimit) over = true;
        std::this_thread::yield();  // hold it a moment, so that reservations overlap
        held.fetch_sub(block, std::memory_order_seq_cst);
        budget.release(static_cast<std::size_t>(block));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over) << "successful reservations held more than the limit";
  EXPECT_GT(refused.load(), 0u) << "the limit was never reached: the test proved nothing";
  EXPECT_EQ(budget.in_use(), 0);
}

TEST(CommitTicket, WakesItsWaiterWithTheFinalStateAndReason) {
  for (const auto final_state : {CommitTicket::State::committed, CommitTicket::State::refused,
                                 CommitTicket::State::lost, CommitTicket::State::dropped}) {
    CommitTicket ticket;
    std::thread writer([&] {
      std::this_thread::sleep_for(20ms);  // the waiter is asleep on the futex by then
      ticket.reason = "CHECK constraint failed";
      ticket.finish(final_state);
    });
    const auto state = ticket.wait_until(std::chrono::steady_clock::now() + 30s);
    writer.join();
    EXPECT_EQ(state, final_state);
    EXPECT_EQ(ticket.reason, "CHECK constraint failed");
  }
}

TEST(CommitTicket, AWaiterWhoseDeadlinePassesSeesPending) {
  CommitTicket ticket;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ticket.wait_until(start + 50ms, 10us), CommitTicket::State::pending);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  ticket.finish(CommitTicket::State::committed);
  EXPECT_EQ(ticket.wait_until(start), CommitTicket::State::committed) << "a final state is kept";
}

}  // namespace
