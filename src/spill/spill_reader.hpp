// Reading a spill file back: every record that decodes, and a precise account of what did not.
//
// Never crashes or loops on any input: a torn tail (a crash mid-append) is reported and ignored;
// a corrupt span (a flipped bit, garbage) is reported with its offset and skipped by searching for
// the next record magic whose checksum holds, so one bad byte never costs a good record after it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_record.hpp"

namespace evlog::detail {

struct CorruptSpan {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string reason;
};

struct SpillContents {
  bool header_ok = false;
  std::string target;  // the database and table the events belong to
  std::vector<EventRecord> records;
  std::vector<std::uint64_t> offsets;  // of each record, parallel to `records`
  std::vector<CorruptSpan> corrupt;    // in file order; a torn tail is the last one
  bool torn_tail = false;
};

// Parses a file's bytes a piece at a time, as parse_spill() does at once: the constructor reads
// the header into `out` (a file it cannot read records from is left at its end), then each
// parse() appends up to `max_records` further records, and the corrupt spans met on the way.
// `bytes` must outlive the parser.
class SpillParser {
 public:
  SpillParser(std::string_view bytes, bool known_spill_file, SpillContents& out);
  void parse(std::size_t max_records, SpillContents& out);
  bool at_end() const noexcept { return offset_ >= bytes_.size(); }
  // Where the next parse() starts: every record before it has been handed out.
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::string_view bytes_;
  std::size_t offset_;
};

// Parses a whole file's bytes. A file whose magic is wrong is "not a spill file" (nothing parsed)
// unless `known_spill_file` (the process wrote it itself): then, as for any damaged header, the
// records are still read, each one vouched for by its own magic and checksum.
SpillContents parse_spill(std::string_view bytes, bool known_spill_file = false);

// Reads and parses the file at `path` (never through a symlink). False with `error` when the file
// cannot be read at all.
bool read_spill_file(const std::string& path, SpillContents& out, std::string& error);
// The file's bytes through a descriptor already open on it (`path` only names it in `error`).
bool read_spill_bytes(int fd, const std::string& path, std::string& bytes, std::string& error);
// Reads and parses through such a descriptor.
bool read_spill_fd(int fd, const std::string& path, SpillContents& out, std::string& error,
                   bool known_spill_file);

}  // namespace evlog::detail
