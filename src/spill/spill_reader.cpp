#include "spill/spill_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "spill/crc32c.hpp"
#include "spill/spill_format.hpp"

namespace evlog::detail {

namespace {

constexpr std::size_t kHeaderFixed = sizeof kSpillMagic + 4 + 4;

// The offset of the next record magic at or after `from`, or the end.
std::size_t next_magic(std::string_view bytes, std::size_t from) {
  char magic[4];
  for (int i = 0; i < 4; ++i) magic[i] = static_cast<char>(kRecordMagic >> (8 * i));
  const std::size_t found = bytes.find(std::string_view(magic, 4), from);
  return found == std::string_view::npos ? bytes.size() : found;
}

void add_corrupt(SpillContents& out, std::size_t offset, std::size_t end, std::string reason) {
  if (!out.corrupt.empty()) {
    CorruptSpan& last = out.corrupt.back();
    if (last.offset + last.length == offset) {  // one span, not one per byte searched
      last.length = end - last.offset;
      return;
    }
  }
  out.corrupt.push_back({offset, end - offset, std::move(reason)});
}

}  // namespace

SpillParser::SpillParser(std::string_view bytes, bool known_spill_file, SpillContents& out)
    : bytes_(bytes), offset_(bytes.size()) {
  const bool magic_ok = bytes.size() >= kHeaderFixed + 4 &&
                        std::memcmp(bytes.data(), kSpillMagic, sizeof kSpillMagic) == 0;
  if (!magic_ok && !known_spill_file) {
    out.corrupt.push_back({0, bytes.size(), "not a spill file (bad magic or too short)"});
    return;
  }
  std::size_t header_end = 0;
  std::string header_problem;
  if (!magic_ok) {
    header_problem = "bad file magic";
  } else {
    const std::uint32_t version = load_u32(bytes.data() + 8);
    const std::uint32_t target_len = load_u32(bytes.data() + 12);
    const bool fits =
        target_len <= kMaxTargetBytes && kHeaderFixed + target_len + 4 <= bytes.size();
    const bool checksum_ok = fits && crc32c(bytes.data() + 8, 8 + target_len) ==
                                         load_u32(bytes.data() + kHeaderFixed + target_len);
    if (checksum_ok && version != kSpillVersion) {
      // An intact header of another version: its records may be of another shape too.
      out.corrupt.push_back({0, bytes.size(), "unsupported version " + std::to_string(version)});
      return;
    }
    if (checksum_ok) {
      out.header_ok = true;
      out.target.assign(bytes.data() + kHeaderFixed, target_len);
      header_end = kHeaderFixed + target_len + 4;
    } else {
      header_problem = fits ? "header checksum mismatch" : "bad header";
    }
  }
  if (!out.header_ok) {
    // A damaged header costs no record: each record has its own magic and checksum. Resume at
    // the first record magic after the file magic; the header up to there is one corrupt span.
    header_end = next_magic(bytes, sizeof kSpillMagic);
    add_corrupt(out, 0, header_end, header_problem);
  }
  offset_ = header_end;
}

void SpillParser::parse(std::size_t max_records, SpillContents& out) {
  const std::string_view bytes = bytes_;
  std::size_t& offset = offset_;
  std::size_t parsed = 0;
  while (offset < bytes.size() && parsed < max_records) {
    const std::size_t remaining = bytes.size() - offset;
    const char* p = bytes.data() + offset;
    std::string reason;
    if (remaining < kRecordHeaderBytes) {
      reason = "torn record header";
    } else if (load_u32(p) != kRecordMagic) {
      reason = "bad record magic";
    } else {
      const std::uint32_t length = load_u32(p + 4);
      if (length > kMaxPayloadBytes) {
        reason = "record length out of range";
      } else if (length > remaining - kRecordHeaderBytes) {
        reason = "truncated record";
      } else {
        std::uint32_t crc = crc32c(p + 4, 4);
        crc = crc32c(p + kRecordHeaderBytes, length, crc);
        if (crc != load_u32(p + 8)) {
          reason = "checksum mismatch";
        } else if (auto record = decode_payload({p + kRecordHeaderBytes, length})) {
          out.records.push_back(std::move(*record));
          out.offsets.push_back(offset);
          offset += kRecordHeaderBytes + length;
          ++parsed;
          continue;
        } else {
          reason = "inconsistent record payload";
        }
      }
    }
    // Resynchronise at the next record magic; what lies between is one corrupt span.
    const std::size_t next = next_magic(bytes, offset + 1);
    add_corrupt(out, offset, next, reason);
    if (next == bytes.size() && (reason == "torn record header" || reason == "truncated record")) {
      out.torn_tail = true;
    }
    offset = next;
  }
}

SpillContents parse_spill(std::string_view bytes, bool known_spill_file) {
  SpillContents out;
  SpillParser parser(bytes, known_spill_file, out);
  parser.parse(std::numeric_limits<std::size_t>::max(), out);
  return out;
}

bool read_spill_file(const std::string& path, SpillContents& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  const bool ok = read_spill_fd(fd, path, out, error, false);
  ::close(fd);
  return ok;
}

bool read_spill_bytes(int fd, const std::string& path, std::string& bytes, std::string& error) {
  bytes.clear();
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (off_t offset = 0;;) {
    // pread: the descriptor's own offset is left alone (it may be the one appends go through).
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read '" + path + "': " + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return true;
}

bool read_spill_fd(int fd, const std::string& path, SpillContents& out, std::string& error,
                   bool known_spill_file) {
  std::string bytes;
  if (!read_spill_bytes(fd, path, bytes, error)) return false;
  out = parse_spill(bytes, known_spill_file);
  return true;
}

}  // namespace evlog::detail
