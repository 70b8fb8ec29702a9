#include "spill/spill_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/clock.hpp"
#include "spill/spill_format.hpp"
#include "spill/spill_reader.hpp"

namespace evlog::detail {

namespace {

constexpr const char* kPrefix = "spill-";
constexpr const char* kSuffix = ".evs";
constexpr const char* kDeadLetters = "dead-letters.jsonl";

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool is_segment_name(const std::string& name) {
  return name.starts_with(kPrefix) && name.ends_with(kSuffix);
}

// Segment file names in `dir`, oldest first (the zero-padded creation time leads the name).
std::vector<std::string> list_segments(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (is_segment_name(name)) names.push_back(std::move(name));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Opens and locks `path` when no live process holds it and it belongs to `target`; -1 otherwise
// (with `why` set when the file is readable but not ours to replay).
int lock_for_replay(const std::string& path, const std::string& target, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;  // replayed and deleted by someone else meanwhile
  struct stat st {};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &st) != 0 || st.st_nlink == 0) {
    ::close(fd);  // a live process holds it, or it was deleted after we opened it
    return -1;
  }
  SpillContents header;
  std::string error;
  if (!read_spill_file(path, header, error) || !header.header_ok || header.target != target) {
    why = !error.empty()      ? error
          : !header.header_ok ? std::string("its header is unreadable")
                              : "it belongs to " + header.target;
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::unique_ptr<SpillStore> SpillStore::open(const SpillConfig& config, std::string& error) {
  if (::mkdir(config.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = errno_text("cannot create spill directory '" + config.dir + "'");
    return nullptr;
  }
  const int fd = ::open(config.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text("cannot open spill directory '" + config.dir + "'") +
            (errno == ELOOP || errno == ENOTDIR ? " (a symbolic link is refused)" : "");
    return nullptr;
  }
  return std::unique_ptr<SpillStore>(new SpillStore(config, fd));
}

SpillStore::SpillStore(const SpillConfig& config, int dir_fd) : config_(config), dir_fd_(dir_fd) {}

SpillStore::~SpillStore() {
  if (current_.fd >= 0) ::close(current_.fd);
  for (Segment& s : sealed_) ::close(s.fd);
  if (dead_letter_fd_ >= 0) ::close(dead_letter_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void SpillStore::abandon_after_fork() noexcept {
  if (current_.fd >= 0) ::close(current_.fd);
  for (Segment& s : sealed_) ::close(s.fd);
  if (dead_letter_fd_ >= 0) ::close(dead_letter_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  current_ = {};
  sealed_.clear();
  dead_letter_fd_ = dir_fd_ = -1;
}

void SpillStore::sync_dir() noexcept {
  if (dir_fd_ >= 0) ::fsync(dir_fd_);
}

// Creates "<dir>/.tmp-<name>" (0600, exclusive, never through a symlink), locks it, writes
// `header` and `body` and fsyncs it. The locked descriptor, or -1 with `error` (nothing left).
int SpillStore::create_locked(const std::string& temp_path, const std::string& header,
                              std::string_view body, std::string& error) {
  const int fd =
      ::open(temp_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno_text("cannot create spill file '" + temp_path + "'");
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !write_all(fd, header.data(), header.size()) ||
      !write_all(fd, body.data(), body.size()) || ::fsync(fd) != 0) {
    error = errno_text("cannot write spill file '" + temp_path + "'");
    ::close(fd);
    ::unlink(temp_path.c_str());
    return -1;
  }
  return fd;
}

bool SpillStore::start_segment(std::string& error) {
  char name[96];
  std::snprintf(name, sizeof name, "%s%020lld-%d-%llu%s", kPrefix,
                static_cast<long long>(now_unix_ns()), static_cast<int>(::getpid()),
                static_cast<unsigned long long>(sequence_++), kSuffix);
  const std::string final_path = config_.dir + "/" + name;
  const std::string temp_path = config_.dir + "/.tmp-" + name;
  const std::string header = encode_header(config_.target);
  const int fd = create_locked(temp_path, header, {}, error);
  if (fd < 0) return false;
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    error = errno_text("cannot prepare spill file '" + temp_path + "'");
    ::close(fd);
    ::unlink(temp_path.c_str());
    return false;
  }
  sync_dir();
  current_ = Segment{final_path, fd, true, 0, header.size()};
  own_bytes_ += header.size();
  return true;
}

void SpillStore::seal_current() {
  if (current_.fd < 0) return;
  sealed_.push_back(current_);
  current_ = {};
}

bool SpillStore::append(const std::vector<const EventRecord*>& records, std::string& error) {
  std::string bytes;
  for (const EventRecord* r : records) append_record(*r, bytes);
  if (!has_room(bytes.size())) {
    error = "spill directory '" + config_.dir + "' reached Options::max_spill_bytes";
    return false;
  }
  if (current_.fd >= 0 && current_.bytes + bytes.size() > config_.segment_bytes &&
      current_.counted > 0) {
    seal_current();
  }
  if (current_.fd < 0 && !start_segment(error)) return false;
  if (!write_all(current_.fd, bytes.data(), bytes.size()) || ::fsync(current_.fd) != 0) {
    // Not on disk, or not known to be: seal the segment and keep the events in memory. What this
    // append may have left in the file lies after the `counted` records and is never replayed by
    // this process.
    error = errno_text("cannot write spill file '" + current_.path + "'");
    (void)::ftruncate(current_.fd, static_cast<off_t>(current_.bytes));
    seal_current();
    return false;
  }
  current_.bytes += bytes.size();
  current_.counted += records.size();
  own_bytes_ += bytes.size();
  return true;
}

std::optional<SpillStore::Segment> SpillStore::next_replayable(
    std::chrono::steady_clock::duration rescan, std::string& warning) {
  if (sealed_.empty() && current_.fd >= 0 && current_.counted > 0) seal_current();
  if (!sealed_.empty()) {
    Segment s = sealed_.front();
    sealed_.erase(sealed_.begin());
    return s;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < next_scan_) return std::nullopt;
  next_scan_ = now + rescan;

  for (const std::string& name : list_segments(config_.dir)) {
    const std::string path = config_.dir + "/" + name;
    if (path == current_.path || skipped_.contains(name)) continue;
    std::string why;
    const int fd = lock_for_replay(path, config_.target, why);
    if (fd < 0) {
      if (!why.empty()) {
        warning = "spill file '" + path + "' left alone: " + why;
        skipped_.insert(name);
      }
      continue;
    }
    struct stat st {};
    ::fstat(fd, &st);
    return Segment{path, fd, false, 0, static_cast<std::uint64_t>(st.st_size)};
  }
  return std::nullopt;
}

std::size_t SpillStore::count_replayable(const std::string& dir, const std::string& target) {
  std::size_t count = 0;
  for (const std::string& name : list_segments(dir)) {
    std::string why;
    const int fd = lock_for_replay(dir + "/" + name, target, why);
    if (fd >= 0) {
      ++count;
      ::close(fd);
    }
  }
  return count;
}

void SpillStore::finish(Segment& segment) {
  ::unlink(segment.path.c_str());
  sync_dir();
  ::close(segment.fd);
  if (segment.own) own_bytes_ -= std::min(own_bytes_, segment.bytes);
  segment.fd = -1;
}

void SpillStore::put_back(Segment& segment) {
  if (segment.own) {
    sealed_.insert(sealed_.begin(), segment);  // still oldest
  } else {
    ::close(segment.fd);  // releases the lock; found again at the next scan
    next_scan_ = {};
  }
  segment.fd = -1;
}

bool SpillStore::drop_prefix(Segment& segment, std::string_view rest, std::uint64_t records,
                             std::string& error) {
  // Written beside the old file and renamed over it: a crash before the rename leaves the old
  // file whole (its committed records are skipped by event_id when it is replayed), a crash after
  // it leaves the new one; never neither. The name is the old one's, behind the same ".tmp-"
  // prefix that no reader lists.
  const std::size_t slash = segment.path.rfind('/');
  const std::string temp_path =
      segment.path.substr(0, slash + 1) + ".tmp-" + segment.path.substr(slash + 1);
  // One left by a process that died in here: this process holds the file's lock, so no live one
  // is writing it.
  ::unlink(temp_path.c_str());
  const std::string header = encode_header(config_.target);
  const int fd = create_locked(temp_path, header, rest, error);
  if (fd < 0) return false;
  if (::rename(temp_path.c_str(), segment.path.c_str()) != 0) {
    error = errno_text("cannot replace spill file '" + segment.path + "'");
    ::close(fd);
    ::unlink(temp_path.c_str());
    return false;
  }
  sync_dir();
  // The old file is unlinked now: another process that locks it once this lock is dropped sees
  // st_nlink == 0 and leaves it (lock_for_replay).
  ::close(segment.fd);
  segment.fd = fd;
  const std::uint64_t new_bytes = header.size() + rest.size();
  if (segment.own) {
    own_bytes_ -= std::min(own_bytes_, segment.bytes);
    own_bytes_ += new_bytes;
    segment.counted -= std::min(segment.counted, records);
  }
  segment.bytes = new_bytes;
  return true;
}

bool SpillStore::dead_letter(const std::string& line, std::string& error) {
  if (dead_letter_fd_ < 0) {
    const std::string path = config_.dir + "/" + kDeadLetters;
    dead_letter_fd_ =
        ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dead_letter_fd_ < 0) {
      error = errno_text("cannot open dead-letter file '" + path + "'");
      return false;
    }
  }
  struct stat st {};
  if (::fstat(dead_letter_fd_, &st) == 0 &&
      static_cast<std::uint64_t>(st.st_size) + line.size() > config_.max_dead_letter_bytes) {
    error = "dead-letter file reached Options::max_dead_letter_bytes";
    return false;
  }
  // One write(2) per line with O_APPEND: lines of several processes never interleave.
  if (!write_all(dead_letter_fd_, line.data(), line.size()) || ::fdatasync(dead_letter_fd_) != 0) {
    error = errno_text("cannot write dead-letter file");
    return false;
  }
  return true;
}

}  // namespace evlog::detail
