// The app's SQLite layer: a write that finds another connection's lock waits for it (in short
// sleeps) and succeeds once it is free, and gives up with an error after the 5 s bound.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "sqlite_db.hpp"
#include "test_support.hpp"

namespace classroom {
namespace {

using Clock = std::chrono::steady_clock;

class ClassroomDb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir();
    path_ = (dir_ / "app.db").string();
    Connection setup(path_);
    setup.exec("CREATE TABLE t (v INTEGER)");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ClassroomDb, AWriteWaitsForAnotherConnectionsLockThenSucceeds) {
  Connection holder(path_);
  holder.exec("BEGIN IMMEDIATE");
  const auto start = Clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(240));
    holder.exec("COMMIT");
  });
  Connection writer(path_);
  EXPECT_NO_THROW(writer.exec("INSERT INTO t VALUES (1)"));
  const auto waited = Clock::now() - start;
  release.join();
  EXPECT_GE(waited, std::chrono::milliseconds(240));
  // Sleeps of at most 1 ms: the write goes through soon after the lock is free. SQLite's own
  // handler (sqlite3_busy_timeout) would be asleep then, from 228 to 328 ms, its sleeps being
  // 25, 50, 50, 100 ms by that time. The bound is loose: this is a shared machine.
  EXPECT_LT(waited, std::chrono::milliseconds(240 + 50));
  Statement count(writer, "SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.int_at(0), 1);
}

TEST_F(ClassroomDb, ManyThreadsWritingAtOnceAllSucceed) {
  constexpr int kThreads = 16;
  constexpr int kWrites = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      Connection connection(path_);
      for (int n = 0; n < kWrites; ++n) {
        try {
          connection.exec("INSERT INTO t VALUES (1)");
        } catch (const DbError&) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Connection reader(path_);
  Statement count(reader, "SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.int_at(0), kThreads * kWrites);
}

TEST_F(ClassroomDb, CachedStatementsComeBackCleanAndTwoOfOneSqlCanBeOpenAtOnce) {
  Connection connection(path_);
  connection.exec("INSERT INTO t VALUES (1), (2), (3)");
  constexpr const char* kSql = "SELECT v FROM t WHERE v >= ?1 ORDER BY v";
  {
    Statement first(connection, kSql);
    first.bind(1, std::int64_t{2});
    ASSERT_TRUE(first.step());  // left in the middle of its rows
    EXPECT_EQ(first.int_at(0), 2);
    // The same SQL while the first is open: a statement of its own, not the busy cached one.
    Statement second(connection, kSql);
    second.bind(1, std::int64_t{1});
    int rows = 0;
    while (second.step()) ++rows;
    EXPECT_EQ(rows, 3);
    ASSERT_TRUE(first.step());
    EXPECT_EQ(first.int_at(0), 3);
  }
  // The cached statement comes back reset, its binding cleared (NULL matches no row) ...
  Statement again(connection, kSql);
  EXPECT_FALSE(again.step());
  // ... and holding no read: another connection can checkpoint and truncate the whole WAL.
  Connection other(path_);
  Statement checkpoint(other, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(checkpoint.step());
  EXPECT_EQ(checkpoint.int_at(0), 0) << "the checkpoint was blocked";
}

TEST_F(ClassroomDb, ALockHeldPastFiveSecondsFailsTheWriteWithAnError) {
  Connection holder(path_);
  holder.exec("BEGIN IMMEDIATE");
  Connection writer(path_);
  const auto start = Clock::now();
  try {
    writer.exec("INSERT INTO t VALUES (1)");
    ADD_FAILURE() << "the write went through while another connection held the lock";
  } catch (const DbError& error) {
    EXPECT_NE(std::string(error.what()).find("locked"), std::string::npos) << error.what();
  }
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, std::chrono::seconds(5));
  EXPECT_LT(waited, std::chrono::seconds(7));
  holder.exec("ROLLBACK");
}

}  // namespace
}  // namespace classroom
