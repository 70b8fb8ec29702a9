// The hot path allocates nothing for events whose strings fit a slot's inline bytes, and at most
// one block for an event that does not (none once the logger's pool has blocks to reuse).
//
// This binary links tests/support/counting_new.cpp, which counts the calling thread's allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "counting_new.hpp"
#include "test_support.hpp"

namespace {

std::string metadata_of_size(std::size_t n) {
  std::string m = R"({"k":")";
  m.append(n - m.size() - 2, 'x');
  m += "\"}";
  return m;
}

TEST(HotPath, LogAllocatesNothingWithinTheInlineBudget) {
  evlog_test::TempDir dir;
  const std::string path = dir.file("hot_path.db");
  evlog::Options options;
  options.database = path;
  evlog::Logger logger(options);
  // Metadata of exactly 256 bytes with the longest type and user_type still fits inline.
  const std::string metadata = metadata_of_size(256);
  const std::string type(64, 't');
  const std::string user_type(64, 'u');
  ASSERT_LE(type.size() + user_type.size() + metadata.size(), evlog::kInlineBytes);
  const evlog::Event event{
      .type = type, .user_id = 7, .user_type = user_type, .metadata = metadata};
  ASSERT_EQ(logger.log(event).outcome, evlog::Outcome::queued);  // warm-up: per-thread parser

  const std::uint64_t before = evlog_test::allocations_on_this_thread();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(logger.log(event).outcome, evlog::Outcome::queued);
  }
  EXPECT_EQ(evlog_test::allocations_on_this_thread() - before, 0u);
  ASSERT_TRUE(logger.flush(std::chrono::seconds(30)));
  EXPECT_EQ(logger.stats().written, 10001u);
}

// A large event costs at most one allocation, and none once the logger's payload pool holds
// blocks that the writer has given back.
TEST(HotPath, LargeMetadataCostsOneAllocationThenNone) {
  evlog_test::TempDir dir;
  const std::string path = dir.file("hot_path_large.db");
  evlog::Options options;
  options.database = path;
  evlog::Logger logger(options);
  const std::string metadata = metadata_of_size(4096);
  const evlog::Event event{
      .type = "page_view", .user_id = {}, .user_type = {}, .metadata = metadata};
  ASSERT_EQ(logger.log(event).outcome, evlog::Outcome::queued);
  // While another connection holds the write lock, the writer commits nothing, so the thousand
  // blocks are all in use at once and the pool ends up with (at least) a thousand. Without it,
  // the writer could give blocks back during the loop, the pool would end up with fewer, and a
  // slower writer in the second loop would rightly need new ones.
  auto lock = std::make_unique<evlog_test::SqliteWriteLock>(path);
  const std::uint64_t before = evlog_test::allocations_on_this_thread();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(logger.log(event).outcome, evlog::Outcome::queued);
  EXPECT_LE(evlog_test::allocations_on_this_thread() - before, 1000u);
  EXPECT_GE(evlog_test::allocations_on_this_thread() - before, 999u);
  lock.reset();
  ASSERT_TRUE(logger.flush(std::chrono::seconds(30)));
  // Every block is back in the pool now: the next thousand reuse them.
  const std::uint64_t reused = evlog_test::allocations_on_this_thread();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(logger.log(event).outcome, evlog::Outcome::queued);
  EXPECT_EQ(evlog_test::allocations_on_this_thread() - reused, 0u);
  ASSERT_TRUE(logger.flush(std::chrono::seconds(30)));
  EXPECT_EQ(logger.stats().written, 2001u);
}

}  // namespace
