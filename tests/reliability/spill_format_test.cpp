// R10: the spill file format, read back through evlog::inspect_spill_file.
//
// The files are made by a real Logger: the database is held locked by a second connection, so the
// writer fails, and shutting the logger down spills what it holds; the file stays on disk. Then
// the file is read clean, truncated at every offset, has every bit flipped one at a time, gets
// garbage appended, and non-spill files are offered. The reader must never crash, never invent a
// record, never lose a record that does not overlap the damage, and report where the damage is.
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_reliability::create_database;
using evlog_reliability::spill_segments;
using evlog_test::parse_created_at;
using evlog_test::TempDir;

struct Logged {
  std::string type;
  std::optional<std::int64_t> user_id;
  std::string user_type;
  std::string metadata;
};

// The i-th event of a file: every field shape a record can hold (no user id, an empty user
// type, no metadata, and metadata too large for a queue slot's inline bytes).
Logged event_number(std::size_t i) {
  Logged e;
  e.type = i % 3 == 0 ? "page_view" : "quiz_attempt";
  if (i % 4 != 1) e.user_id = static_cast<std::int64_t>(i) * 7919 - 1000;
  if (i % 5 != 2) e.user_type = i % 2 ? "student" : "teacher\xC3\xA9";
  if (i % 6 == 3) {
    e.metadata = "";
  } else if (i % 6 == 5) {
    e.metadata = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"" + std::string(600, 'x') + "\"}";
  } else {
    e.metadata = "{\"seq\":" + std::to_string(i) + "}";
  }
  return e;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Makes one spill file holding `n` events (event_number(0..n-1), in order) and returns its bytes.
std::string make_spill_file(const TempDir& dir, std::size_t n) {
  const std::string db = dir.file("events.db");
  const std::string spill = dir.file("spill");
  create_database(db);
  evlog_test::SqliteWriteLock lock(db);
  evlog::Options options = evlog_test::options_for(db);
  options.spill_dir = spill;
  options.spill_after = 0ms;
  options.on_warning = [](std::string_view) {};
  {
    evlog::Logger logger(options);
    for (std::size_t i = 0; i < n; ++i) {
      const Logged e = event_number(i);
      EXPECT_TRUE(logger.log({e.type, e.user_id, e.user_type, e.metadata}).ok());
    }
    EXPECT_TRUE(logger.shutdown(10s));
    const evlog::Stats s = logger.stats();
    EXPECT_EQ(s.spilled, n) << evlog_test::describe(s);
  }
  const std::vector<std::string> files = spill_segments(spill);
  EXPECT_EQ(files.size(), 1u);
  if (files.empty()) return {};
  return read_file(files.front());
}

// A mutated copy of a spill file, inspected.
class Inspector {
 public:
  explicit Inspector(const TempDir& dir) : path_(dir.file("mutated.evs")) {}
  evlog::SpillInspection operator()(std::string_view bytes) {
    write_file(path_, bytes);
    return evlog::inspect_spill_file(path_);
  }

 private:
  std::string path_;
};

// The byte range [begin, end) of each record of a clean file.
struct Extent {
  std::uint64_t begin;
  std::uint64_t end;
  std::string event_id;
};

std::vector<Extent> extents(const evlog::SpillInspection& clean, std::uint64_t file_size) {
  std::vector<Extent> out;
  for (std::size_t i = 0; i < clean.records.size(); ++i) {
    const std::uint64_t end =
        i + 1 < clean.records.size() ? clean.records[i + 1].offset : file_size;
    out.push_back({clean.records[i].offset, end, clean.records[i].event_id});
  }
  return out;
}

bool span_covers(const evlog::SpillInspection& found, std::uint64_t offset) {
  for (const evlog::SpillCorruption& c : found.corrupt) {
    if (c.offset <= offset && offset < c.offset + c.length) return true;
  }
  return false;
}

// A clean file: every record decodes with the fields that were logged, in order.
TEST(SpillFormat, CleanFileDecodesEveryRecordWithItsFields) {
  TempDir dir;
  constexpr std::size_t kEvents = 60;
  const std::string bytes = make_spill_file(dir, kEvents);
  ASSERT_FALSE(bytes.empty());
  const evlog::SpillInspection found = Inspector(dir)(bytes);

  EXPECT_TRUE(found.clean());
  EXPECT_FALSE(found.torn_tail);
  EXPECT_NE(found.target.find(dir.file("events.db")), std::string::npos) << found.target;
  EXPECT_NE(found.target.find("analytics_events"), std::string::npos) << found.target;
  ASSERT_EQ(found.records.size(), kEvents);
  std::set<std::string> ids;
  std::uint64_t previous_offset = 0;
  for (std::size_t i = 0; i < kEvents; ++i) {
    const evlog::SpillRecord& r = found.records[i];
    const Logged e = event_number(i);
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(r.type, e.type);
    EXPECT_EQ(r.user_id, e.user_id);
    EXPECT_EQ(r.user_type, e.user_type);
    EXPECT_EQ(r.metadata, e.metadata);
    EXPECT_TRUE(evlog_test::is_uuid_v7(r.event_id)) << r.event_id;
    const auto created = parse_created_at(r.created_at);
    ASSERT_TRUE(created.has_value()) << r.created_at;
    // The id's milliseconds and created_at are the same instant.
    const auto created_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(created->time_since_epoch()).count();
    EXPECT_EQ(evlog_test::uuid_unix_ms(r.event_id), created_ms);
    EXPECT_TRUE(ids.insert(r.event_id).second) << "duplicate id " << r.event_id;
    EXPECT_GT(r.offset, previous_offset);
    previous_offset = r.offset;
  }
}

// Cut the file at every offset from the end of the header to its end: the records wholly before
// the cut decode; a cut inside a record is a torn tail reported at that record's offset.
TEST(SpillFormat, TruncationAtEveryOffsetKeepsEveryRecordBeforeTheCut) {
  TempDir dir;
  const std::string bytes = make_spill_file(dir, 24);
  ASSERT_FALSE(bytes.empty());
  Inspector inspect(dir);
  const evlog::SpillInspection clean = inspect(bytes);
  ASSERT_TRUE(clean.clean());
  const std::vector<Extent> records = extents(clean, bytes.size());
  const std::uint64_t header_end = records.front().begin;

  for (std::uint64_t cut = header_end; cut <= bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    const evlog::SpillInspection found = inspect(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(found.header_ok);
    std::size_t whole = 0;
    while (whole < records.size() && records[whole].end <= cut) ++whole;
    ASSERT_EQ(found.records.size(), whole);
    for (std::size_t i = 0; i < whole; ++i) {
      ASSERT_EQ(found.records[i].event_id, records[i].event_id);
    }
    const bool at_boundary =
        whole == records.size() ? cut == bytes.size() : cut == records[whole].begin;
    if (at_boundary) {
      EXPECT_TRUE(found.clean());
      EXPECT_FALSE(found.torn_tail);
    } else {
      EXPECT_TRUE(found.torn_tail);
      ASSERT_FALSE(found.corrupt.empty());
      EXPECT_EQ(found.corrupt.back().offset, records[whole].begin);
      EXPECT_EQ(found.corrupt.back().offset + found.corrupt.back().length, cut);
    }
  }
}

// Flip every bit of a small file, one at a time: a flip in the header costs the file (reported at
// offset 0); a flip in a record costs that record only, reported at an offset span covering it.
// A flipped bit costs at most the record it hits: in the header it costs none (only the file magic
// makes a file unrecognisable to a reader that does not know it; see the next test).
TEST(SpillFormat, EveryBitFlipCostsAtMostTheRecordItHits) {
  TempDir dir;
  const std::string bytes = make_spill_file(dir, 4);
  ASSERT_FALSE(bytes.empty());
  Inspector inspect(dir);
  const evlog::SpillInspection clean = inspect(bytes);
  ASSERT_TRUE(clean.clean());
  const std::vector<Extent> records = extents(clean, bytes.size());
  const std::uint64_t header_end = records.front().begin;

  for (std::uint64_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("bit " + std::to_string(bit) + " of byte " + std::to_string(at));
      std::string mutated = bytes;
      mutated[at] = static_cast<char>(mutated[at] ^ (1 << bit));
      const evlog::SpillInspection found = inspect(mutated);
      EXPECT_FALSE(found.clean());
      if (at < 8) {
        // The file magic: to a reader that does not know the file, not a spill file.
        EXPECT_FALSE(found.header_ok);
        EXPECT_TRUE(found.records.empty());
        ASSERT_FALSE(found.corrupt.empty());
        EXPECT_EQ(found.corrupt.front().offset, 0u);
        continue;
      }
      if (at < header_end) {
        // The rest of the header: reported, and no record lost (each has its own checksum).
        EXPECT_FALSE(found.header_ok);
        ASSERT_EQ(found.records.size(), records.size());
        for (std::size_t i = 0; i < records.size(); ++i) {
          ASSERT_EQ(found.records[i].event_id, records[i].event_id);
        }
        ASSERT_FALSE(found.corrupt.empty());
        EXPECT_EQ(found.corrupt.front().offset, 0u);
        EXPECT_TRUE(span_covers(found, at));
        continue;
      }
      std::size_t hit = 0;
      while (records[hit].end <= at) ++hit;
      ASSERT_EQ(found.records.size(), records.size() - 1);
      for (std::size_t i = 0, j = 0; i < records.size(); ++i) {
        if (i == hit) continue;
        ASSERT_EQ(found.records[j].event_id, records[i].event_id);
        ASSERT_EQ(found.records[j].offset, records[i].begin);
        ++j;
      }
      EXPECT_TRUE(span_covers(found, at));
      ASSERT_FALSE(found.corrupt.empty());
      EXPECT_EQ(found.corrupt.front().offset, records[hit].begin);
    }
  }
}

// Garbage after the last record: every record decodes, the garbage is reported where it starts.
TEST(SpillFormat, GarbageAppendedIsReportedAndSkipped) {
  TempDir dir;
  const std::string bytes = make_spill_file(dir, 10);
  ASSERT_FALSE(bytes.empty());
  Inspector inspect(dir);
  const evlog::SpillInspection clean = inspect(bytes);
  ASSERT_TRUE(clean.clean());

  std::mt19937_64 random(20240501);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(1 + random() % 512, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    if (round % 4 == 0) garbage.replace(0, std::min<std::size_t>(4, garbage.size()), "EVR1");
    SCOPED_TRACE("round " + std::to_string(round) + ", " + std::to_string(garbage.size()) +
                 " bytes");
    const evlog::SpillInspection found = inspect(bytes + garbage);
    ASSERT_TRUE(found.header_ok);
    ASSERT_EQ(found.records.size(), clean.records.size());
    for (std::size_t i = 0; i < clean.records.size(); ++i) {
      ASSERT_EQ(found.records[i].event_id, clean.records[i].event_id);
    }
    ASSERT_FALSE(found.corrupt.empty());
    EXPECT_EQ(found.corrupt.front().offset, bytes.size());
    EXPECT_TRUE(span_covers(found, bytes.size() + garbage.size() - 1));
  }
}

// A file that is not a spill file is refused as a whole, with a reason; one that cannot be read
// (a directory, a symbolic link, a missing file) throws evlog::Error.
TEST(SpillFormat, NotASpillFileIsReportedNotParsed) {
  TempDir dir;
  const std::string bytes = make_spill_file(dir, 3);
  ASSERT_FALSE(bytes.empty());
  Inspector inspect(dir);
  const std::string db_bytes = read_file(dir.file("events.db"));
  const std::vector<std::string> not_spill = {
      "",
      "EVLG",
      "EVLGSPL1",
      bytes.substr(0, 19),
      "{\"this\":\"is json\"}\n",
      "EVLGSPL2" + bytes.substr(8),
      db_bytes,
      std::string(4096, '\0'),
  };
  for (std::size_t i = 0; i < not_spill.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const evlog::SpillInspection found = inspect(not_spill[i]);
    EXPECT_FALSE(found.header_ok);
    EXPECT_FALSE(found.clean());
    EXPECT_TRUE(found.records.empty());
    ASSERT_EQ(found.corrupt.size(), 1u);
    EXPECT_EQ(found.corrupt.front().offset, 0u);
    EXPECT_FALSE(found.corrupt.front().reason.empty());
  }

  EXPECT_THROW(evlog::inspect_spill_file(dir.file("missing.evs")), evlog::Error);
  EXPECT_THROW(evlog::inspect_spill_file(dir.path().string()), evlog::Error);
  write_file(dir.file("real.evs"), bytes);
  ASSERT_EQ(::symlink(dir.file("real.evs").c_str(), dir.file("link.evs").c_str()), 0);
  EXPECT_THROW(evlog::inspect_spill_file(dir.file("link.evs")), evlog::Error);
  EXPECT_TRUE(evlog::inspect_spill_file(dir.file("real.evs")).clean());
}

// Logs event_number(0..n-1) while the caller holds the database's write lock, and waits until the
// writer has spilled all of them (none is left in the queue).
::testing::AssertionResult log_until_spilled(evlog::Logger& logger, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const Logged e = event_number(i);
    const evlog::Result r = logger.log({e.type, e.user_id, e.user_type, e.metadata});
    if (!r.ok()) {
      return ::testing::AssertionFailure()
             << "event " << i << ": " << evlog::to_string(r.outcome) << " " << r.message;
    }
  }
  if (!evlog_test::wait_until([&] { return logger.stats().spilled == n; }, 30s)) {
    return ::testing::AssertionFailure()
           << "not all spilled: " << evlog_test::describe(logger.stats());
  }
  return ::testing::AssertionSuccess();
}

// A live process replays its own spill file through the descriptor it holds: what the file's
// path names may change meanwhile (renamed away and a symlink planted in its place), and its
// events are still replayed, none counted lost.
TEST(SpillFormat, OwnFileIsReplayedThroughItsDescriptorWhateverItsPathBecomes) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  const std::string spill = dir.file("spill");
  create_database(db);
  evlog::Options options = evlog_test::options_for(db);
  options.spill_dir = spill;
  options.spill_after = 0ms;
  options.on_warning = [](std::string_view) {};
  const std::int64_t before =
      evlog_test::SqliteFile(db).scalar("SELECT count(*) FROM analytics_events");
  evlog::Logger logger(options);
  constexpr std::size_t kEvents = 300;
  {
    evlog_test::SqliteWriteLock lock(db);
    ASSERT_TRUE(log_until_spilled(logger, kEvents));
    const std::vector<std::string> files = spill_segments(spill);
    ASSERT_EQ(files.size(), 1u);
    std::filesystem::rename(files.front(), dir.file("moved-away"));
    std::filesystem::create_symlink("/nonexistent", files.front());
  }  // the database answers again: the writer replays
  ASSERT_TRUE(logger.flush(evlog_test::kLongWait)) << evlog_test::describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.lost, 0u) << evlog_test::describe(s);
  EXPECT_EQ(s.written, kEvents);
  EXPECT_TRUE(evlog_test::accounted(s, kEvents));
  evlog_test::SqliteFile file(db);
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"),
            before + static_cast<std::int64_t>(kEvents));
}

// A live process's own spill file whose header is damaged (here its file magic and its header
// checksum) is still replayed whole: the process knows the file is its own, and every record
// carries its own checksum.
TEST(SpillFormat, OwnFileWithADamagedHeaderLosesNoEvent) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  const std::string spill = dir.file("spill");
  create_database(db);
  const std::int64_t before =
      evlog_test::SqliteFile(db).scalar("SELECT count(*) FROM analytics_events");
  evlog::Options options = evlog_test::options_for(db);
  options.spill_dir = spill;
  options.spill_after = 0ms;
  // One failed attempt, then no other for 10 s: the writer spills what comes in meanwhile, and
  // its next replay of the file comes after the damage below. (A replay that read the file
  // earlier could be waiting on the lock, and commit the undamaged copy once it is released.)
  options.retry_initial = 10s;
  options.retry_max = 10s;
  options.on_warning = [](std::string_view) {};
  evlog::Logger logger(options);
  constexpr std::size_t kEvents = 200;
  {
    evlog_test::SqliteWriteLock lock(db);
    ASSERT_TRUE(log_until_spilled(logger, kEvents));
    const std::vector<std::string> files = spill_segments(spill);
    ASSERT_EQ(files.size(), 1u);
    std::string bytes = read_file(files.front());
    bytes[3] = static_cast<char>(bytes[3] ^ 0x10);    // the file magic
    bytes[20] = static_cast<char>(bytes[20] ^ 0x01);  // the target, so the checksum fails
    std::fstream out(files.front(), std::ios::binary | std::ios::in | std::ios::out);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ASSERT_TRUE(logger.flush(evlog_test::kLongWait)) << evlog_test::describe(logger.stats());
  const evlog::Stats s = logger.stats();
  EXPECT_EQ(s.lost, 0u) << evlog_test::describe(s);
  EXPECT_EQ(s.written, kEvents);
  EXPECT_EQ(s.spill_corrupt, 1u) << "the damaged header is one corrupt span, counted";
  EXPECT_TRUE(evlog_test::accounted(s, kEvents));
  evlog_test::SqliteFile file(db);
  EXPECT_EQ(file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events"),
            before + static_cast<std::int64_t>(kEvents));
}

}  // namespace
