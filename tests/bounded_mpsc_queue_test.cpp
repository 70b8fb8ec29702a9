// BoundedMpscQueue: the full and empty edges, order over many laps of wrap-around, positions, and
// under concurrency (also run under ThreadSanitizer) every element seen exactly once: several
// producers against the consumer, and producers that evict the oldest element (as
// OnFull::drop_oldest does) racing the consumer for it.
#include "queue/bounded_mpsc_queue.hpp"

#include <atomic>
#include <cstdint>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace {

using Queue = evlog::detail::BoundedMpscQueue<std::uint64_t>;
using evlog_test::scale;

bool push(Queue& q, std::uint64_t v) {
  return q.try_push([v](std::uint64_t& cell) { cell = v; }).has_value();
}

std::optional<std::uint64_t> pop(Queue& q) {
  std::optional<std::uint64_t> out;
  if (!q.try_pop([&](std::uint64_t& cell, std::uint64_t) { out = cell; })) return std::nullopt;
  return out;
}

TEST(BoundedMpscQueue, RejectsWhenFullAndAcceptsAgainAfterAPop) {
  Queue q(8);
  EXPECT_EQ(q.capacity(), 8u);
  for (std::uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(push(q, i)) << i;
  EXPECT_FALSE(push(q, 99)) << "a ninth element fit in eight cells";
  EXPECT_EQ(q.size_approx(), 8u);
  EXPECT_EQ(pop(q), 0u);
  EXPECT_TRUE(push(q, 8));
  EXPECT_FALSE(push(q, 99));
}

TEST(BoundedMpscQueue, EmptyPopsNothingAndPositionsCountClaims) {
  Queue q(4);
  EXPECT_FALSE(pop(q).has_value());
  EXPECT_EQ(q.size_approx(), 0u);
  EXPECT_EQ(q.tail_position(), 0u);
  const auto first = q.try_push([](std::uint64_t& c) { c = 1; });
  const auto second = q.try_push([](std::uint64_t& c) { c = 2; });
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, 0u);
  EXPECT_EQ(*second, 1u);
  EXPECT_EQ(q.tail_position(), 2u);
  std::uint64_t position = 99;
  ASSERT_TRUE(q.try_pop([&](std::uint64_t&, std::uint64_t p) { position = p; }));
  EXPECT_EQ(position, 0u);
  EXPECT_EQ(q.head_position(), 1u);
  EXPECT_EQ(pop(q), 2u);
  EXPECT_FALSE(pop(q).has_value());
}

// A thousand laps of a small ring, half full on average: first in, first out throughout.
TEST(BoundedMpscQueue, KeepsOrderOverManyLapsOfWrapAround) {
  Queue q(16);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int lap = 0; lap < 1000; ++lap) {
    while (push(q, next_in)) ++next_in;  // fill to the edge
    ASSERT_EQ(next_in - next_out, 16u);
    for (int i = 0; i < 9; ++i) {  // take out more than half, so the edge moves each lap
      const auto v = pop(q);
      ASSERT_TRUE(v.has_value());
      ASSERT_EQ(*v, next_out++);
    }
  }
  while (const auto v = pop(q)) ASSERT_EQ(*v, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_GT(next_in, 16u * 500);
}

TEST(BoundedMpscQueue, ResetEmptiesAndRestartsPositions) {
  Queue q(4);
  for (std::uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(push(q, i));
  ASSERT_EQ(pop(q), 0u);
  q.reset();
  EXPECT_FALSE(pop(q).has_value());
  EXPECT_EQ(q.tail_position(), 0u);
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(push(q, 10 + i));
  EXPECT_EQ(pop(q), 10u);
}

// Four producers and the consumer on a small queue (many laps, the full edge hit constantly):
// every value pushed is popped exactly once, and each producer's values in the order it pushed.
TEST(BoundedMpscQueue, SeveralProducersEveryElementExactlyOnceInEachProducersOrder) {
  constexpr int kProducers = 4;
  const std::uint64_t per_producer = scale(200000);
  Queue q(64);
  std::latch start(kProducers + 1);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      start.arrive_and_wait();
      for (std::uint64_t i = 0; i < per_producer;) {
        if (push(q, (static_cast<std::uint64_t>(p) << 40) | i)) {
          ++i;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  std::vector<std::uint64_t> next(kProducers, 0);
  std::uint64_t seen = 0;
  start.arrive_and_wait();
  while (seen < kProducers * per_producer) {
    const auto v = pop(q);
    if (!v) {
      std::this_thread::yield();
      continue;
    }
    const auto p = static_cast<std::size_t>(*v >> 40);
    ASSERT_LT(p, static_cast<std::size_t>(kProducers));
    ASSERT_EQ(*v & ((std::uint64_t{1} << 40) - 1), next[p]) << "producer " << p;
    ++next[p];
    ++seen;
  }
  for (auto& t : producers) t.join();
  EXPECT_FALSE(pop(q).has_value());
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], per_producer);
}

// Producers that, finding the queue full, evict the oldest element (as OnFull::drop_oldest does)
// race the consumer for the same positions: every value pushed is either consumed or evicted,
// exactly once, never both and never lost.
TEST(BoundedMpscQueue, EvictingProducersRacingTheConsumerSeeEachElementOnce) {
  constexpr int kProducers = 3;
  const std::uint64_t per_producer = scale(100000);
  const std::uint64_t total = kProducers * per_producer;
  Queue q(32);
  std::vector<std::atomic<std::uint8_t>> taken(total);
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<bool> producing{true};
  const auto mark = [&](std::uint64_t v) {
    ASSERT_LT(v, total);
    ASSERT_EQ(taken[v].fetch_add(1, std::memory_order_relaxed), 0u) << "value " << v << " twice";
  };
  std::latch start(kProducers + 1);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      start.arrive_and_wait();
      for (std::uint64_t i = 0; i < per_producer;) {
        const std::uint64_t v = static_cast<std::uint64_t>(p) * per_producer + i;
        if (push(q, v)) {
          ++i;
        } else if (q.try_pop([&](std::uint64_t& cell, std::uint64_t) { mark(cell); })) {
          evicted.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  std::uint64_t consumed = 0;
  start.arrive_and_wait();
  std::thread watcher([&] {
    for (auto& t : producers) t.join();
    producing = false;
  });
  while (producing || q.size_approx() > 0) {
    if (q.try_pop([&](std::uint64_t& cell, std::uint64_t) { mark(cell); })) {
      ++consumed;
    } else {
      std::this_thread::yield();
    }
  }
  watcher.join();
  while (q.try_pop([&](std::uint64_t& cell, std::uint64_t) { mark(cell); })) ++consumed;
  EXPECT_EQ(consumed + evicted.load(), total);
  EXPECT_GT(evicted.load(), 0u) << "the producers never found the queue full";
  for (std::uint64_t v = 0; v < total; ++v) ASSERT_EQ(taken[v].load(), 1u) << "value " << v;
}

}  // namespace
