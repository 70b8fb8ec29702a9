// The writer, driven through the Sink interface with the MemorySink test double: it writes through
// the sink Options::make_sink makes, batches by size and time, retries transient failures with
// bounded backoff, survives refused data, and keeps the deadlines of flush and shutdown when the
// database never answers.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::accounted;
using evlog_test::is_uuid_v7;
using evlog_test::kLongWait;
using evlog_test::memory_options;
using evlog_test::MemorySinkControl;
using evlog_test::parse_created_at;
using evlog_test::StoredRow;
using evlog_test::TempDir;
using evlog_test::wait_until;
using evlog_test::WarningCollector;
using Clock = std::chrono::steady_clock;

// The logger writes through the sink make_sink makes (the file `database` names is not created),
// and each Row carries the event's fields: empty user_type/metadata stay empty, the id is a
// UUIDv7 and created_at has the documented format.
TEST(Writer, WritesThroughTheSinkMakeSinkMakes) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  const evlog::Options options = memory_options(sink, dir.file("unused.db"));
  {
    evlog::Logger logger(options);
    ASSERT_EQ(logger.log({"page_view", 5, "student", "{\"p\":1}"}).outcome, evlog::Outcome::queued);
    ASSERT_EQ(logger.log({"login", {}, "", ""}).outcome, evlog::Outcome::queued);
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_EQ(logger.stats().written, 2u);
  }
  EXPECT_FALSE(std::filesystem::exists(options.database)) << "the database file was created";
  EXPECT_GE(sink->sinks_made(), 1);

  const std::vector<StoredRow> rows = sink->rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].type, "page_view");
  EXPECT_EQ(rows[0].user_id, 5);
  EXPECT_EQ(rows[0].user_type, "student");
  EXPECT_EQ(rows[0].metadata, "{\"p\":1}");
  EXPECT_EQ(rows[1].type, "login");
  EXPECT_EQ(rows[1].user_id, std::nullopt);
  EXPECT_EQ(rows[1].user_type, "");
  EXPECT_EQ(rows[1].metadata, "");
  for (const StoredRow& row : rows) {
    EXPECT_TRUE(is_uuid_v7(row.event_id)) << row.event_id;
    EXPECT_TRUE(parse_created_at(row.created_at).has_value()) << row.created_at;
  }
  EXPECT_NE(rows[0].event_id, rows[1].event_id);
}

// Transient write failures are retried (one `retries` per failed attempt) until the batch is
// written, each event exactly once.
TEST(Writer, RetriesTransientFailures) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  evlog::Logger logger(options);
  sink->fail_transient(3);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(logger.log({"retry", i, "", ""}).outcome, evlog::Outcome::queued);
  ASSERT_TRUE(logger.flush(kLongWait));

  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(sink->failed_writes(), 3);
  EXPECT_EQ(stats.retries, 3u);
  EXPECT_EQ(stats.written, 100u);
  EXPECT_TRUE(accounted(stats, 100));
  EXPECT_EQ(stats.batches, sink->batches().size());
  std::set<std::int64_t> users;
  for (const StoredRow& row : sink->rows()) users.insert(*row.user_id);
  EXPECT_EQ(users.size(), 100u);
  EXPECT_EQ(sink->row_count(), 100u);
}

// A sink that is busy when the logger starts is not a construction error: the writer keeps trying
// to open it and then writes.
TEST(Writer, ABusyDatabaseAtStartIsRetried) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  sink->fail_open(3);
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  evlog::Logger logger(options);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(logger.log({"late_open", i, "", ""}).outcome, evlog::Outcome::queued);
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_GE(sink->open_calls(), 4);
  EXPECT_EQ(sink->row_count(), 10u);
  EXPECT_TRUE(accounted(logger.stats(), 10));
}

// A sink whose configuration cannot work (open() says `invalid`) is an evlog::Error at
// construction, carrying the sink's words.
TEST(Writer, AnInvalidSinkConfigurationThrows) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  sink->open_invalid("table t lacks event_type");
  try {
    evlog::Logger logger(memory_options(sink, dir.file("unused.db")));
    FAIL() << "the constructor accepted a sink that reported an invalid configuration";
  } catch (const evlog::Error& e) {
    EXPECT_NE(std::string(e.what()).find("lacks event_type"), std::string::npos) << e.what();
  }
}

// Batches never exceed max_batch, and a slow database makes the writer group events (far fewer
// transactions than events). stats().batches counts the committed transactions.
TEST(Writer, BatchesRespectMaxBatch) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  sink->set_delay(20ms);
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.max_batch = 64;
  evlog::Logger logger(options);
  const std::size_t n = 2000;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(logger.log({"batched", static_cast<std::int64_t>(i), "", ""}).outcome,
              evlog::Outcome::queued);
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const auto batches = sink->batches();
  std::size_t total = 0;
  for (const auto& batch : batches) {
    EXPECT_LE(batch.size(), 64u);
    EXPECT_FALSE(batch.empty()) << "an empty transaction was written";
    total += batch.size();
  }
  EXPECT_EQ(total, n);
  EXPECT_GE(batches.size(), n / 64);
  EXPECT_LE(batches.size(), n / 8) << "events were not grouped into batches";
  EXPECT_EQ(logger.stats().batches, batches.size());
  // Rows keep the order in which one thread logged them.
  std::int64_t previous = -1;
  for (const StoredRow& row : sink->rows()) {
    EXPECT_GT(*row.user_id, previous);
    previous = *row.user_id;
  }
}

// Without flush(), an event reaches the database within about max_delay while it is healthy.
TEST(Writer, WritesWithinMaxDelayWithoutFlush) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.max_delay = 50ms;
  evlog::Logger logger(options);
  for (int round = 0; round < 3; ++round) {
    const auto t0 = Clock::now();
    ASSERT_EQ(logger.log({"fresh", round, "", ""}).outcome, evlog::Outcome::queued);
    ASSERT_TRUE(
        wait_until([&] { return sink->row_count() == static_cast<std::size_t>(round + 1); }, 5s))
        << "event " << round << " was never written without a flush";
    EXPECT_LT(Clock::now() - t0, 50ms + 500ms) << "event " << round << " waited past max_delay";
  }
}

// A batch the database refuses for one event's data does not stop the writer: the refused event
// never reaches the table and is counted (never silently), the events beside it are written, a
// warning is issued, and later events are written as usual.
TEST(Writer, RefusedEventsAreCountedAndTheWriterGoesOn) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  sink->refuse_type("poison");
  WarningCollector warnings;
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.on_warning = warnings.sink();
  evlog::Logger logger(options);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(logger.log({"good", i, "", ""}).ok());
  ASSERT_TRUE(logger.log({"poison", 10, "", R"({"which":"first"})"}).ok());
  for (int i = 11; i < 21; ++i) ASSERT_TRUE(logger.log({"good", i, "", ""}).ok());
  // Two more in the same instant: a rate limit must not swallow their reasons.
  ASSERT_TRUE(logger.log({"poison", 21, "", R"({"which":"second"})"}).ok());
  ASSERT_TRUE(logger.log({"poison", 22, "", R"({"which":"third"})"}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));
  for (int i = 23; i < 33; ++i) ASSERT_TRUE(logger.log({"good", i, "", ""}).ok());
  ASSERT_TRUE(logger.flush(kLongWait));

  const evlog::Stats stats = logger.stats();
  EXPECT_TRUE(accounted(stats, 33));
  for (const StoredRow& row : sink->rows()) EXPECT_NE(row.type, "poison");
  // The failure model (docs/guarantees.md): the batch is split to isolate the refused events; the
  // rest are written, and each refused one is counted as a dead letter.
  EXPECT_EQ(stats.written, 30u);
  EXPECT_EQ(sink->row_count(), 30u);
  EXPECT_EQ(stats.dead_lettered, 3u) << evlog_test::describe(stats);
  EXPECT_EQ(stats.lost, 0u);
  // Without a spill directory each dead letter is reported through the warning callback with the
  // database's reason and the event itself.
  for (const char* which : {"first", "second", "third"}) {
    const bool reported = warnings.any_of([&](const std::string& w) {
      return w.find("is refused") != std::string::npos &&
             w.find(std::string(R"(\"which\":\")") + which) != std::string::npos;
    });
    EXPECT_TRUE(reported) << "the " << which
                          << " dead letter was not reported with its reason:" << warnings.all();
  }
}

// When the database never answers, flush() and shutdown() keep their deadlines; what shutdown
// could not write is counted (lost, or spilled) and the sum still holds.
TEST(Writer, DeadlinesHoldWhenTheDatabaseNeverAnswers) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  sink->fail_transient(1 << 30);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(logger.log({"stuck", i, "", ""}).outcome, evlog::Outcome::queued);

  auto t0 = Clock::now();
  EXPECT_FALSE(logger.flush(200ms));
  EXPECT_LT(Clock::now() - t0, 1500ms) << "flush(200ms) overran its deadline";

  t0 = Clock::now();
  EXPECT_FALSE(logger.shutdown(300ms));
  EXPECT_LT(Clock::now() - t0, 1500ms) << "shutdown(300ms) overran its deadline";
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.written, 0u);
  EXPECT_EQ(stats.lost + stats.spilled, 10u) << evlog_test::describe(stats);
  EXPECT_TRUE(accounted(stats, 10));
  EXPECT_EQ(sink->row_count(), 0u);
}

// Retries back off (from retry_initial, doubling, to retry_max): a database that fails for a second
// sees a handful of attempts, not a busy loop, and the writer recovers as soon as it answers.
TEST(Writer, RetriesBackOff) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.retry_initial = 10ms;
  options.retry_max = 200ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  sink->fail_transient(1 << 30);
  ASSERT_EQ(logger.log({"backoff", 1, "", ""}).outcome, evlog::Outcome::queued);
  // Attempts at about 0, 10, 30, 70, 150, 350, 550, ... ms: 6–8 in the first second, with jitter.
  EXPECT_TRUE(wait_until([&] { return sink->write_calls() >= 2; }, 5s)) << "no retry at all";
  std::this_thread::sleep_for(1s);  // measuring the attempt rate, not waiting for a result
  const int attempts = sink->write_calls();
  EXPECT_LE(attempts, 30) << "the writer retries in a busy loop";
  EXPECT_GE(logger.stats().retries, 2u);

  sink->fail_transient(0);
  const auto t0 = Clock::now();
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_LT(Clock::now() - t0, 200ms + 1000ms) << "recovery waited past retry_max";
  EXPECT_EQ(sink->row_count(), 1u);
  EXPECT_EQ(logger.stats().retries, static_cast<std::uint64_t>(sink->failed_writes()));
  EXPECT_TRUE(accounted(logger.stats(), 1));
}

// A healthy but slow database lets the queue pass three quarters full, so the writer spills to
// make room; once the spill directory cannot take more (max_spill_bytes), the writer must go on
// writing to the database, not retry the spill in a loop while the queue stays full.
TEST(Writer, AFullSpillDirectoryDoesNotStopWritesToAHealthyDatabase) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.queue_capacity = 1024;
  options.max_batch = 64;
  options.on_full = evlog::OnFull::block;
  options.block_timeout = 5s;
  options.spill_dir = dir.file("spill");
  options.spill_segment_bytes = 64 << 10;
  options.max_spill_bytes = 64 << 10;  // room for about 70 of these events
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  sink->set_delay(20ms);  // healthy, slow: about 3,200 events a second in batches of 64

  std::string metadata = R"({"pad":")" + std::string(900, 'x') + R"("})";
  constexpr int kEvents = 3000;
  int dropped = 0;
  for (int i = 0; i < kEvents; ++i) {
    if (logger.log({"slow", i, "", metadata}).outcome != evlog::Outcome::queued) ++dropped;
  }
  EXPECT_EQ(dropped, 0) << "the queue stayed full: the writer stopped writing";
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(kEvents - dropped));
  EXPECT_GT(s.spill_failures, 0u) << "the spill directory never filled: the test proves nothing";
  EXPECT_EQ(sink->row_count(), s.written);
  EXPECT_TRUE(accounted(s, kEvents));
}

// Spill files rotate at spill_segment_bytes, and replay takes them oldest first: the events reach
// the database in the order they were logged.
TEST(Writer, SpillFilesRotateAndAreReplayedOldestFirst) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.max_batch = 64;
  options.spill_dir = dir.file("spill");
  options.spill_after = 0ms;
  options.spill_segment_bytes = 64 << 10;
  options.retry_initial = 1ms;
  options.retry_max = 5ms;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  sink->fail_transient(1 << 30);

  constexpr int kEvents = 1000;  // about 350 bytes a record: 350 KB, five or more files
  const std::string metadata = R"({"pad":")" + std::string(280, 'x') + R"("})";
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(logger.log({"rotate", i, "", metadata}).ok());
  }
  ASSERT_TRUE(wait_until([&] { return logger.stats().spilled == kEvents; }, kLongWait))
      << evlog_test::describe(logger.stats());
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(options.spill_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("spill-") && name.ends_with(".evs")) {
      ++files;
      EXPECT_LE(entry.file_size(), options.spill_segment_bytes + 1024) << name;
    }
  }
  EXPECT_GE(files, 4u) << "the spill file did not rotate";

  sink->fail_transient(0);
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(kEvents));
  EXPECT_TRUE(accounted(s, kEvents));
  const std::vector<StoredRow> rows = sink->rows();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kEvents));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].user_id, static_cast<std::int64_t>(i)) << "replayed out of order at " << i;
  }
}

// The user ids in the spill files of `dir`.
std::multiset<std::int64_t> spilled_user_ids(const std::string& dir) {
  std::multiset<std::int64_t> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("spill-") || !name.ends_with(".evs")) continue;
    for (const evlog::SpillRecord& r : evlog::inspect_spill_file(entry.path().string()).records) {
      ids.insert(r.user_id.value_or(-1));
    }
  }
  return ids;
}

// Each event in exactly one place: the sink's table or a spill file.
void expect_each_event_in_one_place(const MemorySinkControl& sink, const std::string& spill_dir,
                                    int events) {
  const std::multiset<std::int64_t> spilled = spilled_user_ids(spill_dir);
  std::multiset<std::int64_t> stored;
  for (const StoredRow& row : sink.rows()) stored.insert(row.user_id.value_or(-1));
  for (int i = 0; i < events; ++i) {
    EXPECT_EQ(stored.count(i) + spilled.count(i), 1u)
        << "event " << i << ": " << stored.count(i) << " in the table, " << spilled.count(i)
        << " in spill files";
  }
}

// A replay that the database interrupts after some of its chunks are committed takes those chunks
// out of the file before it puts the file back, and counts them then: no event is both in the
// table and on disk, for this process's own file and for one another process left.
TEST(Writer, AReplayCutShortTakesItsCommittedChunksOutOfTheFile) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.spill_dir = dir.file("spill");
  options.spill_after = 0ms;
  options.retry_initial = 1ms;
  options.retry_max = 5ms;
  options.on_warning = [](std::string_view) {};
  constexpr int kEvents = 1000;  // one file; replay chunks start at 64 events
  const auto stats_show = [&](const evlog::Logger& logger, std::uint64_t written,
                              std::uint64_t spilled) {
    return wait_until(
        [&] {
          const evlog::Stats s = logger.stats();
          return s.written == written && s.spilled == spilled;
        },
        kLongWait);
  };
  {
    evlog::Logger logger(options);
    sink->fail_transient(1 << 30);
    for (int i = 0; i < kEvents / 2; ++i) ASSERT_TRUE(logger.log({"cut", i, "", ""}).ok());
    ASSERT_TRUE(stats_show(logger, 0, kEvents / 2)) << evlog_test::describe(logger.stats());

    // One chunk commits, the next fails: the committed chunk leaves the file and is counted.
    sink->fail_transient_after(1, 1 << 30);
    ASSERT_TRUE(wait_until([&] { return sink->row_count() > 0; }, kLongWait));
    const std::uint64_t first = sink->row_count();
    EXPECT_LT(first, static_cast<std::uint64_t>(kEvents / 2));
    ASSERT_TRUE(stats_show(logger, first, kEvents / 2 - first))
        << "first chunk " << first << ": " << evlog_test::describe(logger.stats());
    expect_each_event_in_one_place(*sink, options.spill_dir, kEvents / 2);
    EXPECT_TRUE(accounted(logger.stats(), kEvents / 2));

    for (int i = kEvents / 2; i < kEvents; ++i) ASSERT_TRUE(logger.log({"cut", i, "", ""}).ok());
    ASSERT_TRUE(stats_show(logger, first, kEvents - first)) << evlog_test::describe(logger.stats());
    EXPECT_TRUE(logger.shutdown(100ms));
    EXPECT_TRUE(accounted(logger.stats(), kEvents));
  }
  expect_each_event_in_one_place(*sink, options.spill_dir, kEvents);

  // The files are another process's now: a new logger replays one chunk, then fails again.
  const std::uint64_t before = sink->row_count();
  {
    evlog::Logger logger(options);
    sink->fail_transient_after(1, 1 << 30);
    ASSERT_TRUE(wait_until([&] { return sink->row_count() > before; }, kLongWait));
    const std::uint64_t chunk = sink->row_count() - before;
    ASSERT_TRUE(wait_until([&] { return logger.stats().replayed == chunk; }, kLongWait))
        << "chunk " << chunk << ": " << evlog_test::describe(logger.stats());
    expect_each_event_in_one_place(*sink, options.spill_dir, kEvents);

    // Room again: the rest, each event once and in the order logged.
    sink->fail_transient(0);
    ASSERT_TRUE(wait_until([&] { return logger.stats().replayed == kEvents - before; }, kLongWait))
        << evlog_test::describe(logger.stats());
  }
  EXPECT_TRUE(spilled_user_ids(options.spill_dir).empty());
  const std::vector<StoredRow> rows = sink->rows();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kEvents));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].user_id, static_cast<std::int64_t>(i)) << "replayed out of order at " << i;
  }
}

// The dead-letter file stops growing at max_dead_letter_bytes; past it each dead letter is still
// counted and reported through the warning callback, with the reason it was not kept.
TEST(Writer, DeadLettersStopAtTheirCap) {
  TempDir dir;
  auto sink = MemorySinkControl::create();
  sink->refuse_type("poison");
  WarningCollector warnings;
  evlog::Options options = memory_options(sink, dir.file("unused.db"));
  options.spill_dir = dir.file("spill");
  options.max_dead_letter_bytes = 4096;
  options.on_warning = warnings.sink();
  evlog::Logger logger(options);
  constexpr int kPoison = 100;
  for (int i = 0; i < kPoison; ++i) {
    ASSERT_TRUE(logger.log({"poison", i, "", R"({"n":)" + std::to_string(i) + "}"}).ok());
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.dead_lettered, static_cast<std::uint64_t>(kPoison));
  EXPECT_TRUE(accounted(s, kPoison));
  const std::string file = options.spill_dir + "/dead-letters.jsonl";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_LE(std::filesystem::file_size(file), options.max_dead_letter_bytes);
  std::ifstream in(file);
  int kept = 0;
  for (std::string line; std::getline(in, line);) ++kept;
  EXPECT_GE(kept, 5);
  EXPECT_LT(kept, kPoison);
  const int beyond = static_cast<int>(warnings.count_containing("max_dead_letter_bytes"));
  EXPECT_EQ(beyond, kPoison - kept) << "each dead letter past the cap is reported";
}

}  // namespace
