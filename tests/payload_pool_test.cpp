// PayloadPool: the blocks large events keep their strings in. Blocks are reused whichever thread
// frees them (that is what keeps memory bounded under a flood of large events), the size classes
// waste at most a quarter, and the cache never holds more than its limit.
#include "core/payload_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using evlog::detail::PayloadPool;

TEST(PayloadPool, SizeClassesHoldTheTextAndWasteAtMostAQuarter) {
  std::size_t previous = 0;
  for (std::size_t bytes = 385; bytes <= (std::size_t{17} << 20); bytes += bytes / 7 + 1) {
    const std::size_t block = PayloadPool::block_bytes(bytes);
    EXPECT_GE(block, bytes + 16) << bytes;
    EXPECT_LE(block, std::max<std::size_t>(512, (bytes + 16) * 5 / 4 + 1)) << bytes;
    EXPECT_GE(block, previous) << "classes must not shrink as the text grows, at " << bytes;
    previous = block;
  }
  EXPECT_EQ(PayloadPool::block_bytes(1004), 1024u);
  EXPECT_EQ(PayloadPool::block_bytes(1009), 1280u);
}

TEST(PayloadPool, AFreedBlockIsReusedForTheSameClass) {
  PayloadPool pool(1 << 20);
  char* a = pool.allocate(1000);
  ASSERT_NE(a, nullptr);
  std::memset(a, 'x', 1000);
  PayloadPool::release(a);
  EXPECT_EQ(pool.cached_bytes(), PayloadPool::block_bytes(1000));
  char* b = pool.allocate(990);  // same class
  EXPECT_EQ(b, a);
  EXPECT_EQ(pool.cached_bytes(), 0u);
  char* c = pool.allocate(5000);  // another class: a new block
  EXPECT_NE(c, a);
  PayloadPool::release(b);
  PayloadPool::release(c);
  PayloadPool::release(nullptr);  // ignored
}

TEST(PayloadPool, TheCacheStaysWithinItsLimit) {
  const std::size_t block = PayloadPool::block_bytes(4000);
  PayloadPool pool(3 * block);
  std::vector<char*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(pool.allocate(4000));
  for (char* b : blocks) PayloadPool::release(b);  // 3 cached, 7 freed
  EXPECT_EQ(pool.cached_bytes(), 3 * block);
}

TEST(PayloadPool, UnpooledBlocksAreFreed) {
  char* b = PayloadPool::allocate_unpooled(100000);
  ASSERT_NE(b, nullptr);
  std::memset(b, 'y', 100000);
  PayloadPool::release(b);  // AddressSanitizer reports a leak or a bad free if this is wrong
}

// Producers allocate, another thread frees (as the writer does): every block comes back, none is
// handed out twice at once, and the pool stops growing once its cache can serve the producers.
TEST(PayloadPool, BlocksCirculateBetweenThreads) {
  PayloadPool pool(std::size_t{8} << 20);
  constexpr int kPerProducer = 20000;
  std::atomic<int> in_use{0};
  std::mutex mu;
  std::vector<char*> handed;
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    for (;;) {
      std::vector<char*> take;
      {
        std::lock_guard lock(mu);
        take.swap(handed);
      }
      for (char* b : take) {
        // The producer's bytes are intact: no other thread wrote into this block meanwhile.
        EXPECT_EQ(b[0], b[2999]);
        PayloadPool::release(b);
        in_use.fetch_sub(1);
      }
      if (take.empty() && done.load()) break;
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerProducer; ++i) {
        while (in_use.load() > 64) std::this_thread::yield();
        char* b = pool.allocate(3000);
        ASSERT_NE(b, nullptr);
        std::memset(b, 'a' + t, 3000);
        in_use.fetch_add(1);
        std::lock_guard lock(mu);
        handed.push_back(b);
      }
    });
  }
  for (auto& p : producers) p.join();
  done.store(true);
  consumer.join();
  EXPECT_EQ(in_use.load(), 0);
  // At most about 64 blocks were ever live at once, so no more than that many are cached.
  EXPECT_LE(pool.cached_bytes(), 80 * PayloadPool::block_bytes(3000));
}

}  // namespace
