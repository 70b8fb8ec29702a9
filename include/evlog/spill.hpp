// evlog/spill.hpp — looking into spill files, and replaying a spill directory by hand.
//
// A logger with Options::spill_dir replays spill files by itself; these are for operators
// (`evlog inspect FILE`, `evlog replay --spill-dir DIR --database DB`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evlog/options.hpp"
#include "evlog/stats.hpp"

namespace evlog {

struct SpillRecord {
  std::uint64_t offset = 0;  // of the record in the file
  std::string event_id;
  std::string type;
  std::optional<std::int64_t> user_id;
  std::string user_type;
  std::string metadata;
  std::string created_at;
};

struct SpillCorruption {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string reason;  // e.g. "checksum mismatch", "truncated record"
};

struct SpillInspection {
  std::string path;
  bool header_ok = false;
  std::string target;  // the database and table the events belong to
  std::vector<SpillRecord> records;
  std::vector<SpillCorruption> corrupt;  // in file order; a torn tail is the last
  bool torn_tail = false;
  bool clean() const { return header_ok && corrupt.empty(); }
};

// Reads every record of a spill file that decodes, and where and why the rest did not.
// Throws evlog::Error when the file cannot be read at all.
SpillInspection inspect_spill_file(const std::string& path);

struct ReplayReport {
  Stats stats;                   // the replaying logger's counters (`replayed`: events written)
  std::uint64_t files_left = 0;  // spill files for this database still in the directory
};

// Replays into options.database every spill file in options.spill_dir that belongs to that
// database and table and that no live process holds, then shuts down. Waits at most `timeout`.
// Throws evlog::Error as Logger's constructor does.
ReplayReport replay_spill_directory(const Options& options, std::chrono::milliseconds timeout);

}  // namespace evlog
