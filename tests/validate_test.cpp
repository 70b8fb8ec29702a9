// Validation at log() time (Event fields) and at construction (Options): what is refused, with a
// message that names the field, and what is accepted and stored byte-exact.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using evlog_test::accounted;
using evlog_test::count_rows;
using evlog_test::kLongWait;
using evlog_test::names_field;
using evlog_test::options_for;
using evlog_test::read_rows;
using evlog_test::TempDir;

struct BadCase {
  std::string name;
  evlog::Event event;
  std::string field;  // the field the message must name
};

// Owns the bytes the BadCase views point at.
struct BadCases {
  std::string long_type = std::string(65, 'a');
  std::string long_user_type = std::string(65, 'u');
  std::string nul_user_type = std::string("stu\0dent", 8);
  std::string nul_type = std::string("page\0view", 9);
  std::string deep = std::string(100000, '[');
  std::string too_big;  // valid JSON, one byte over the default 64 KiB
  std::string bad_utf8_in_string = "{\"a\":\"\xC3\x28\"}";
  std::string bad_utf8_in_key = "{\"\xC3\x28\":1}";
  std::string overlong_utf8 = "{\"a\":\"\xC0\xAF\"}";
  std::string surrogate_utf8 = "{\"a\":\"\xED\xA0\x80\"}";
  std::string deep65;  // an object holding 64 nested arrays: 65 levels

  BadCases() {
    const std::string head = "{\"pad\":\"";
    const std::string tail = "\"}";
    too_big = head + std::string(64 * 1024 + 1 - head.size() - tail.size(), 'x') + tail;
    deep65 = "{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}";
  }

  std::vector<BadCase> all() const {
    return {
        {"empty type", {"", {}, "", ""}, "type"},
        {"65-byte type", {long_type, {}, "", ""}, "type"},
        {"space in type", {"page view", {}, "", ""}, "type"},
        {"slash in type", {"page/view", {}, "", ""}, "type"},
        {"quote in type", {"page'view", {}, "", ""}, "type"},
        {"non-ASCII type", {"p\xC3\xA1gina", {}, "", ""}, "type"},
        {"NUL in type", {nul_type, {}, "", ""}, "type"},
        {"65-byte user_type", {"login", 1, long_user_type, ""}, "user_type"},
        {"invalid UTF-8 user_type", {"login", 1, "\xC3\x28", ""}, "user_type"},
        {"NUL in user_type", {"login", 1, nul_user_type, ""}, "user_type"},
        {"metadata array", {"login", 1, "", "[1]"}, "metadata"},
        {"metadata string", {"login", 1, "", "\"x\""}, "metadata"},
        {"metadata number", {"login", 1, "", "12"}, "metadata"},
        {"metadata null", {"login", 1, "", "null"}, "metadata"},
        {"metadata true", {"login", 1, "", "true"}, "metadata"},
        {"metadata missing value", {"login", 1, "", "{\"a\":}"}, "metadata"},
        {"metadata unterminated", {"login", 1, "", "{\"a\":1"}, "metadata"},
        {"metadata two objects", {"login", 1, "", "{\"a\":1}{\"b\":2}"}, "metadata"},
        {"metadata trailing garbage", {"login", 1, "", "{\"a\":1} x"}, "metadata"},
        {"metadata single quotes", {"login", 1, "", "{'a':1}"}, "metadata"},
        {"metadata 100000 [", {"login", 1, "", deep}, "metadata"},
        {"metadata 65 levels deep", {"login", 1, "", deep65}, "metadata"},
        {"metadata over 64 KiB", {"login", 1, "", too_big}, "metadata"},
        {"invalid UTF-8 in a JSON string", {"login", 1, "", bad_utf8_in_string}, "metadata"},
        {"invalid UTF-8 in a JSON key", {"login", 1, "", bad_utf8_in_key}, "metadata"},
        {"overlong UTF-8", {"login", 1, "", overlong_utf8}, "metadata"},
        {"UTF-8 surrogate", {"login", 1, "", surrogate_utf8}, "metadata"},
        {"escaped NUL", {"login", 1, "", R"({"a":"\u0000"})"}, "metadata"},
        {"escaped NUL in a key", {"login", 1, "", R"({"\u0000":1})"}, "metadata"},
    };
  }
};

// Every invalid event is rejected with a message naming its field; none reaches the table; the
// valid events logged between them are all committed; the accounting counts each call once.
TEST(Validate, RejectsInvalidEventsAndCommitsTheirNeighbours) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  evlog::Logger logger(options_for(db));

  const BadCases cases;
  std::uint64_t calls = 0;
  std::uint64_t good = 0;
  auto log_neighbour = [&] {
    const std::string metadata = "{\"neighbour\":" + std::to_string(good) + "}";
    const evlog::Result r = logger.log({"neighbour", 7, "student", metadata});
    ++calls;
    ASSERT_EQ(r.outcome, evlog::Outcome::queued) << r.message;
    ++good;
  };

  log_neighbour();
  for (const BadCase& c : cases.all()) {
    SCOPED_TRACE(c.name);
    const evlog::Result r = logger.log(c.event);
    ++calls;
    EXPECT_EQ(r.outcome, evlog::Outcome::rejected) << c.name;
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(names_field(r.message, c.field))
        << c.name << ": message '" << r.message << "' does not name the field " << c.field;
    log_neighbour();
  }

  ASSERT_TRUE(logger.flush(kLongWait));
  const evlog::Stats stats = logger.stats();
  EXPECT_EQ(stats.rejected, cases.all().size());
  EXPECT_EQ(stats.written, good);
  EXPECT_TRUE(accounted(stats, calls));
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(good));
  // Only the neighbours are in the table.
  const auto types = read_rows(db, "SELECT DISTINCT event_type FROM analytics_events");
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0][0], "neighbour");
}

// The message says which rule was broken, not only which field.
TEST(Validate, MessagesNameTheRule) {
  TempDir dir;
  evlog::Logger logger(options_for(dir.file("events.db")));
  const std::string long_type(70, 'a');
  const evlog::Result r = logger.log({long_type, {}, "", ""});
  ASSERT_EQ(r.outcome, evlog::Outcome::rejected);
  EXPECT_TRUE(names_field(r.message, "type")) << r.message;
  // The rule (1-64 bytes) or what was wrong (70 bytes) must be stated.
  EXPECT_TRUE(r.message.find("64") != std::string::npos ||
              r.message.find("70") != std::string::npos)
      << r.message;

  const evlog::Result m = logger.log({"login", 1, "", "[1]"});
  ASSERT_EQ(m.outcome, evlog::Outcome::rejected);
  EXPECT_NE(evlog_test::lower(m.message).find("object"), std::string::npos) << m.message;
}

// The edges of what is valid are accepted and stored byte-exact.
TEST(Validate, AcceptsValidEdgesByteExact) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  evlog::Logger logger(options_for(db));

  const std::string type64(64, 't');
  const std::string user_type64(64, 'u');
  // 4-byte UTF-8 (emoji), 2- and 3-byte characters, in user_type and in metadata.
  const std::string emoji_user_type = "\xF0\x9F\x98\x80 \xC3\xA9l\xC3\xA8ve \xE2\x82\xAC";
  const std::string emoji_metadata =
      "{\"e\":\"\xF0\x9F\x98\x80\xF0\x9F\x8E\x93 \xC3\xBCn\xC3\xAF"
      "c\xC3\xB6"
      "d\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87\",\"\xF0\x9F\x94\x91\":[1,2.5e3,true,null,{}]}";
  const std::string escaped_backslash = R"({"a":"\\u0000"})";  // a backslash, then "u0000"
  const std::string escapes = R"({"a":"\u00e9\ud83d\ude00\n\t\"\\\/"})";
  const std::string deep64 = "{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}";
  const std::string spaced = " \t\n{ \"a\" : 1 }\n";

  const std::vector<evlog::Event> goods = {
      {"Aa0_.:-", {}, "", ""},
      {type64, {}, "", ""},
      {"login", 1, user_type64, ""},
      {"login", -9223372036854775807LL - 1, emoji_user_type, emoji_metadata},
      {"login", 9223372036854775807LL, "", escaped_backslash},
      {"login", 0, "", escapes},
      {"login", {}, "", deep64},
      {"login", {}, "", "{}"},
      {"login", {}, "", spaced},
  };
  for (std::size_t i = 0; i < goods.size(); ++i) {
    const evlog::Result r = logger.log(goods[i]);
    EXPECT_EQ(r.outcome, evlog::Outcome::queued) << "event " << i << ": " << r.message;
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(accounted(logger.stats(), goods.size()));
  EXPECT_EQ(logger.stats().rejected, 0u);

  const auto rows = read_rows(db,
                              "SELECT event_type, user_id, user_type, metadata FROM "
                              "analytics_events ORDER BY id");
  ASSERT_EQ(rows.size(), goods.size());
  for (std::size_t i = 0; i < goods.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    const evlog::Event& e = goods[i];
    EXPECT_EQ(rows[i][0], std::string(e.type));
    if (e.user_id) {
      EXPECT_EQ(rows[i][1], std::to_string(*e.user_id));
    } else {
      EXPECT_EQ(rows[i][1], std::nullopt);
    }
    if (e.user_type.empty()) {
      EXPECT_EQ(rows[i][2], std::nullopt);
    } else {
      EXPECT_EQ(rows[i][2], std::string(e.user_type));
    }
    if (e.metadata.empty()) {
      EXPECT_EQ(rows[i][3], std::nullopt);
    } else {
      EXPECT_EQ(rows[i][3], std::string(e.metadata));
    }
  }
}

// A 10 MB metadata text is rejected for its size under the default cap, and accepted (and stored
// whole) when the cap is raised to 16 MiB.
TEST(Validate, LargeMetadataFollowsTheConfiguredCap) {
  std::string big = "{\"blob\":\"" + std::string(10 * 1000 * 1000, 'b') + "\"}";
  {
    TempDir dir;
    const std::string db = dir.file("default.db");
    evlog::Logger logger(options_for(db));
    const evlog::Result r = logger.log({"upload", 1, "", big});
    EXPECT_EQ(r.outcome, evlog::Outcome::rejected);
    EXPECT_TRUE(names_field(r.message, "metadata")) << r.message;
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_TRUE(accounted(logger.stats(), 1));
    EXPECT_EQ(count_rows(db), 0);
  }
  {
    TempDir dir;
    const std::string db = dir.file("raised.db");
    evlog::Options options = options_for(db);
    options.max_metadata_bytes = 16 * 1024 * 1024;
    evlog::Logger logger(options);
    const evlog::Result r = logger.log({"upload", 1, "", big});
    EXPECT_EQ(r.outcome, evlog::Outcome::queued) << r.message;
    ASSERT_TRUE(logger.flush(kLongWait));
    EXPECT_TRUE(accounted(logger.stats(), 1));
    EXPECT_EQ(logger.stats().written, 1u);
    const auto rows = read_rows(db, "SELECT metadata FROM analytics_events");
    ASSERT_EQ(rows.size(), 1u);
    ASSERT_TRUE(rows[0][0].has_value());
    EXPECT_EQ(rows[0][0]->size(), big.size());
    EXPECT_TRUE(*rows[0][0] == big) << "the 10 MB metadata was not stored byte-exact";
  }
}

// max_metadata_bytes is a byte limit, inclusive.
TEST(Validate, MetadataCapIsInclusive) {
  TempDir dir;
  evlog::Options options = options_for(dir.file("events.db"));
  options.max_metadata_bytes = 100;
  evlog::Logger logger(options);
  const std::string head = "{\"p\":\"";
  const std::string tail = "\"}";
  const std::string exact = head + std::string(100 - head.size() - tail.size(), 'x') + tail;
  const std::string over = head + std::string(101 - head.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(exact.size(), 100u);
  EXPECT_EQ(logger.log({"t", {}, "", exact}).outcome, evlog::Outcome::queued);
  const evlog::Result r = logger.log({"t", {}, "", over});
  EXPECT_EQ(r.outcome, evlog::Outcome::rejected);
  EXPECT_TRUE(names_field(r.message, "metadata")) << r.message;
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_TRUE(accounted(logger.stats(), 2));
}

// ---------------------------------------------------------------------------------------------
// Options: an invalid value throws evlog::Error naming the option, before anything is created.

struct BadOptions {
  std::string name;
  std::function<void(evlog::Options&)> change;
  std::vector<std::string> names;  // the message names at least one of these
};

TEST(Validate, InvalidOptionsThrowNamingTheOption) {
  const std::vector<BadOptions> cases = {
      {"queue_capacity 8", [](evlog::Options& o) { o.queue_capacity = 8; }, {"queue_capacity"}},
      {"queue_capacity 0", [](evlog::Options& o) { o.queue_capacity = 0; }, {"queue_capacity"}},
      {"max_batch 0", [](evlog::Options& o) { o.max_batch = 0; }, {"max_batch"}},
      {"table with SQL", [](evlog::Options& o) { o.table = "x; DROP TABLE y"; }, {"table"}},
      {"empty table", [](evlog::Options& o) { o.table = ""; }, {"table"}},
      {"table starting with a digit", [](evlog::Options& o) { o.table = "1events"; }, {"table"}},
      {"64-byte table", [](evlog::Options& o) { o.table = std::string(64, 'e'); }, {"table"}},
      {"empty database", [](evlog::Options& o) { o.database = ""; }, {"database"}},
      {"max_delay 0", [](evlog::Options& o) { o.max_delay = 0ms; }, {"max_delay"}},
      {"retry_max < retry_initial",
       [](evlog::Options& o) {
         o.retry_initial = 500ms;
         o.retry_max = 100ms;
       },
       {"retry_max", "retry_initial"}},
      {"max_metadata_bytes 0",
       [](evlog::Options& o) { o.max_metadata_bytes = 0; },
       {"max_metadata_bytes"}},
      {"max_metadata_bytes over 16 MiB",
       [](evlog::Options& o) { o.max_metadata_bytes = 16 * 1024 * 1024 + 1; },
       {"max_metadata_bytes"}},
  };
  TempDir dir;
  for (const BadOptions& c : cases) {
    SCOPED_TRACE(c.name);
    evlog::Options options = options_for(dir.file("never.db"));
    c.change(options);
    // validate_options() refuses the same options with the same words, and opens nothing.
    std::string validated;
    try {
      evlog::validate_options(options);
      ADD_FAILURE() << c.name << ": validate_options did not throw";
    } catch (const evlog::Error& e) {
      validated = e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("never.db")));
    try {
      evlog::Logger logger(options);
      ADD_FAILURE() << c.name << ": the constructor did not throw";
    } catch (const evlog::Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message, validated);
      bool named = false;
      for (const std::string& n : c.names) named = named || names_field(message, n);
      EXPECT_TRUE(named) << c.name << ": message '" << message << "' names none of the options";
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.name << ": threw something other than evlog::Error: " << e.what();
    }
  }
  // An invalid configuration creates nothing: in particular the SQL in the table name never ran.
  if (std::filesystem::exists(dir.file("never.db"))) {
    EXPECT_EQ(count_rows(dir.file("never.db"), "sqlite_master"), 0)
        << "an invalid configuration left tables behind";
  }
}

// evlog::Error is a std::runtime_error, so generic handlers catch it.
TEST(Validate, ErrorIsARuntimeError) {
  evlog::Options options;
  options.database = "";
  EXPECT_THROW(evlog::Logger logger(options), std::runtime_error);
}

// validate_options() accepts valid options without creating the database.
TEST(Validate, ValidateOptionsOpensNothing) {
  TempDir dir;
  evlog::Options options = options_for(dir.file("unopened.db"));
  options.spill_dir = dir.file("spill");
  evlog::validate_options(options);
  EXPECT_FALSE(std::filesystem::exists(options.database));
  EXPECT_FALSE(std::filesystem::exists(options.spill_dir));
}

// Valid edge options are accepted: the smallest queue, the largest metadata cap.
TEST(Validate, AcceptsEdgeOptions) {
  TempDir dir;
  evlog::Options options = options_for(dir.file("edges.db"));
  options.queue_capacity = 16;
  options.max_batch = 1;
  options.max_delay = 1ms;
  options.max_metadata_bytes = 16 * 1024 * 1024;
  options.retry_initial = 5ms;
  options.retry_max = 5ms;
  evlog::Logger logger(options);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(logger.log({"edge", i, "", ""}).outcome, evlog::Outcome::queued);
  }
  ASSERT_TRUE(logger.flush(kLongWait));
  EXPECT_EQ(count_rows(options.database), 10);
  // max_batch 1: one transaction per event.
  EXPECT_EQ(logger.stats().batches, 10u);
}

}  // namespace
