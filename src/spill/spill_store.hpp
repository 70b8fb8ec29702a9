// SpillStore — one process's spill files and dead-letter file in Options::spill_dir.
//
// Lifecycle of a spill segment (crash-consistent):
//   1. created as ".tmp-<name>" (0600, O_EXCL | O_NOFOLLOW | O_CLOEXEC), locked with flock, header
//      written and fsynced, renamed to "<name>", directory fsynced. A reader never sees a file
//      before its owner holds the lock, and never a file without a header.
//   2. appended: records written, then fsync. Only after fsync succeeds do the records count as
//      spilled. A failed write or fsync seals the segment (its content past the last good append is
//      not trusted: fsync is never retried and believed) and the records stay in memory.
//   3. sealed at the size limit or when replay wants it; still locked while this process lives.
//   4. replayed, then unlinked and the directory fsynced, only after every record is committed.
//      A crash between commit and unlink replays it again; event_id makes that harmless.
//      A replay cut short puts it back without its committed records: the rest is written to
//      ".tmp-<name>", fsynced and renamed over "<name>" (drop_prefix), locked before the rename.
// A segment whose lock can be taken belongs to no live process: another logger may replay it.
//
// Threads: the writer thread only (construction on the logger's thread, before the writer starts).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_record.hpp"

namespace evlog::detail {

struct SpillConfig {
  std::string dir;
  std::string target;  // database and table, written in each header; replay only matching files
  std::uint64_t segment_bytes = 16u << 20;
  std::uint64_t max_bytes = 1u << 30;
  std::uint64_t max_dead_letter_bytes = 64u << 20;
};

class SpillStore {
 public:
  struct Segment {
    std::string path;
    int fd = -1;
    bool own = false;
    std::uint64_t counted = 0;  // own: records counted as spilled (the first ones in the file)
    std::uint64_t bytes = 0;
  };

  // Opens (creating it 0700 if missing) the directory; never follows a symlink. Empty on error.
  static std::unique_ptr<SpillStore> open(const SpillConfig& config, std::string& error);
  ~SpillStore();

  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  // Appends the records durably. True when they are all on disk (fsynced); otherwise false with
  // `error`, and none of them counts as spilled.
  bool append(const std::vector<const EventRecord*>& records, std::string& error);

  // True while an append of `bytes` more would stay within Options::max_spill_bytes.
  bool has_room(std::uint64_t bytes) const { return own_bytes_ + bytes <= config_.max_bytes; }
  std::uint64_t own_bytes() const { return own_bytes_; }
  bool has_own_segments() const { return current_.fd >= 0 || !sealed_.empty(); }

  // The oldest segment to replay now, locked: this process's own (the current one is sealed
  // first), or one that no live process holds, for the same target. Foreign files are looked for
  // at most every `rescan` (a directory listing is not free).
  std::optional<Segment> next_replayable(std::chrono::steady_clock::duration rescan,
                                         std::string& warning);
  // Replay committed every record of `segment`: unlink it, fsync the directory, drop the lock.
  void finish(Segment& segment);
  // Replay stopped half-way (the database failed again): keep the file for later.
  void put_back(Segment& segment);
  // Replay committed the first `records` records of `segment`, which end where `rest` (the
  // file's remaining bytes) begins: replace the file, crash-consistently, by one that holds only
  // `rest` under a fresh header, so that those records are no longer on disk. The new file takes
  // the old one's name (and so its place in the replay order) and its lock. False with `error`
  // when it cannot be written (a full disk, say): the old file is then left as it was, and the
  // committed records in it are skipped on the next replay by their event_id.
  bool drop_prefix(Segment& segment, std::string_view rest, std::uint64_t records,
                   std::string& error);

  // Spill files in `dir` for `target` that no live process holds now (what a replay would take).
  static std::size_t count_replayable(const std::string& dir, const std::string& target);

  // Appends one JSON line to the dead-letter file (0600), unless that would pass the cap.
  bool dead_letter(const std::string& line, std::string& error);

  // After fork(), in the child: close the inherited descriptors without unlinking or unlocking
  // anything (flock locks belong to the parent's open file descriptions).
  void abandon_after_fork() noexcept;

 private:
  explicit SpillStore(const SpillConfig& config, int dir_fd);
  int create_locked(const std::string& temp_path, const std::string& header, std::string_view body,
                    std::string& error);
  bool start_segment(std::string& error);
  void seal_current();
  void sync_dir() noexcept;

  const SpillConfig config_;
  int dir_fd_ = -1;
  Segment current_;                // fd < 0: none open
  std::vector<Segment> sealed_;    // own, oldest first, still locked
  std::set<std::string> skipped_;  // foreign files not to look at again (other target, unreadable)
  std::uint64_t own_bytes_ = 0;
  std::uint64_t sequence_ = 0;
  std::chrono::steady_clock::time_point next_scan_{};
  int dead_letter_fd_ = -1;
};

}  // namespace evlog::detail
