// Stats' table of fields and the tallies behind it: kStatsFields lists every whole-number field of
// Stats once and in order (what exporters and the library's own counting rely on), Counters puts
// each tally in its own field, and accounted() is the accounting sum.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/counters.hpp"
#include "evlog/stats.hpp"

namespace {

using evlog::kStatsFields;
using evlog::Stats;
using evlog::StatsField;

template <typename T>
std::ptrdiff_t offset_in(const Stats& s, const T& member) {
  return reinterpret_cast<const char*>(&member) - reinterpret_cast<const char*>(&s);
}

TEST(StatsFields, ListEveryWholeNumberFieldOnceInDeclarationOrder) {
  // Stats opens with its whole-number fields, back to back, and oldest_queued_age follows them:
  // listed in order, each 8 bytes after the one before, the table leaves none out.
  const Stats s;
  std::ptrdiff_t expected = 0;
  for (const StatsField& field : kStatsFields) {
    EXPECT_EQ(offset_in(s, s.*field.member), expected) << field.name;
    expected += static_cast<std::ptrdiff_t>(sizeof(std::uint64_t));
  }
  EXPECT_EQ(offset_in(s, s.oldest_queued_age), expected)
      << "a whole-number field of Stats is missing from kStatsFields";
}

TEST(StatsFields, NamesAreUniqueIdentifiersAndEachHasHelp) {
  std::set<std::string> names;
  for (const StatsField& field : kStatsFields) {
    const std::string name = field.name;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    const std::string help = field.help;
    EXPECT_TRUE(!help.empty() && help.back() == '.') << name << ": " << help;
  }
  // The gauges are the fields that can go down; everything else only grows.
  std::set<std::string> gauges;
  for (const StatsField& field : kStatsFields) {
    if (field.kind == StatsField::Kind::gauge) gauges.insert(field.name);
  }
  EXPECT_EQ(gauges, (std::set<std::string>{"queued", "spilled", "queued_bytes", "spill_bytes"}));
}

TEST(Counters, EachTallyLandsInItsOwnFieldAndResetClearsThem) {
  evlog::detail::Counters counters;
  counters.add<&Stats::written>(5);
  counters.add<&Stats::written>();
  counters.add<&Stats::lost>(2);
  counters.add<&Stats::spilled>(9);
  counters.sub<&Stats::spilled>(4);
  counters.store<&Stats::spill_bytes>(4096);
  EXPECT_EQ(counters.load<&Stats::written>(), 6u);

  Stats s;
  counters.copy_to(s);
  for (const StatsField& field : kStatsFields) {
    const std::string name = field.name;
    const std::uint64_t expected = name == "written"       ? 6
                                   : name == "lost"        ? 2
                                   : name == "spilled"     ? 5
                                   : name == "spill_bytes" ? 4096
                                                           : 0;
    EXPECT_EQ(s.*field.member, expected) << name;
  }

  counters.reset();
  Stats cleared;
  cleared.written = 77;  // copy_to overwrites, it does not add
  counters.copy_to(cleared);
  for (const StatsField& field : kStatsFields) EXPECT_EQ(cleared.*field.member, 0u) << field.name;
}

TEST(Stats, AccountedIsTheSumOfTheAccountingFieldsOnly) {
  Stats s;
  s.rejected = 1;
  s.dropped = 2;
  s.written = 4;
  s.queued = 8;
  s.spilled = 16;
  s.dead_lettered = 32;
  s.lost = 64;
  // Not in the sum: the parts of `dropped`, other processes' events, and the tallies of work.
  s.dropped_queue_full = 1000;
  s.replayed = 1000;
  s.batches = 1000;
  s.retries = 1000;
  s.committed_waits = 1000;
  EXPECT_EQ(s.accounted(), 127u);
}

}  // namespace
