// reliability_support.hpp — helpers for the reliability suites (header-only), beside the shared
// ones in tests/support/test_support.hpp.
//
//   - CliWriteLock: another *process* (the sqlite3 command-line shell) holding the write lock.
//   - TmpfsMount: a tmpfs of a given size mounted on a directory, remountable read-only (root).
//   - run_command(): a shell command's exit status and output.
//   - marker_metadata() / MarkerRows: events that carry a unique marker, read back from the table.
//   - spill_segments(): the spill files in a directory.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace evlog_reliability {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Running commands.

struct CommandResult {
  int status = -1;  // the exit status, or -1 when the command did not exit normally
  std::string output;
};

// Runs `command` through /bin/sh, capturing stdout and stderr together.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline bool is_root() {
  return ::geteuid() == 0;
}

// ---------------------------------------------------------------------------------------------
// The write lock held by another process: a sqlite3 shell inside BEGIN IMMEDIATE, fed through a
// pipe, so the lock is held from construction (once the shell has answered) until release(). A
// process of its own, so the test process never holds a SQLite connection when it forks.

class CliWriteLock {
 public:
  explicit CliWriteLock(const std::string& database) {
    int to_shell[2];
    int from_shell[2];
    if (::pipe2(to_shell, O_CLOEXEC) != 0 || ::pipe2(from_shell, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_shell[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_shell[1], 1);
    std::string db = database;
    char arg0[] = "sqlite3";
    char batch[] = "-batch";
    char* argv[] = {arg0, batch, db.data(), nullptr};
    const int rc = ::posix_spawnp(&pid_, "sqlite3", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_shell[0]);
    ::close(from_shell[1]);
    input_ = to_shell[1];
    output_ = from_shell[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start the sqlite3 shell");
    }
    // A generous busy timeout: the logger's own transactions are short.
    send(".timeout 30000\nBEGIN IMMEDIATE;\nSELECT 'locked';\n");
    std::string answer;
    char c;
    while (answer.find("locked") == std::string::npos && ::read(output_, &c, 1) == 1) answer += c;
    if (answer.find("locked") == std::string::npos) {
      throw std::runtime_error("the sqlite3 shell did not take the write lock: " + answer);
    }
    held_.store(true);
  }
  ~CliWriteLock() { release(); }
  CliWriteLock(const CliWriteLock&) = delete;
  CliWriteLock& operator=(const CliWriteLock&) = delete;

  // Rolls back and ends the shell. Idempotent.
  void release() {
    if (pid_ > 0) {
      send("ROLLBACK;\n.quit\n");
      ::close(input_);
      ::close(output_);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    held_.store(false);
  }
  // Any thread (the test releases the lock from another thread while the stream runs).
  bool held() const { return held_.load(); }

 private:
  void send(const std::string& text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      const ssize_t n = ::write(input_, p, left);
      if (n <= 0) return;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::atomic<bool> held_{false};
};

// ---------------------------------------------------------------------------------------------
// A tmpfs mounted on `dir` (created if missing), unmounted at the end. Root only.

class TmpfsMount {
 public:
  TmpfsMount(std::filesystem::path dir, std::size_t bytes) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string data = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, data.c_str()) != 0) {
      throw std::runtime_error("cannot mount a tmpfs on " + dir_.string() + ": " +
                               std::strerror(errno));
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  // Remounts read-only (fails with EBUSY while a file on it is open for writing) or read-write.
  // Returns 0 or the errno.
  int set_read_only(bool read_only) {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", flags, nullptr) == 0 ? 0 : errno;
  }
  // Remounts with a new size (keeps the contents). Returns 0 or the errno.
  int resize(std::size_t bytes) {
    const std::string data = "size=" + std::to_string(bytes);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, data.c_str()) == 0 ? 0 : errno;
  }

  const std::filesystem::path& path() const { return dir_; }
  std::string file(std::string_view name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// ---------------------------------------------------------------------------------------------
// Marked events: metadata {"seq":N} (N unique within a test), read back per marker.

inline std::string marker_metadata(std::uint64_t seq) {
  return "{\"seq\":" + std::to_string(seq) + "}";
}

// seq -> how many rows carry it, and rows without a marker, for rows of `type` (all if empty).
struct MarkerRows {
  std::map<std::int64_t, int> count_by_seq;
  std::int64_t unmarked = 0;
  std::int64_t rows = 0;
  std::int64_t distinct_event_ids = 0;

  // Markers seen more than once.
  std::vector<std::int64_t> duplicates() const {
    std::vector<std::int64_t> out;
    for (const auto& [seq, n] : count_by_seq) {
      if (n > 1) out.push_back(seq);
    }
    return out;
  }
  bool has(std::int64_t seq) const { return count_by_seq.contains(seq); }
};

inline MarkerRows read_markers(const std::string& database, const std::string& type = "") {
  evlog_test::SqliteFile file(database);
  MarkerRows out;
  const std::string where = type.empty() ? "" : " WHERE event_type = '" + type + "'";
  file.each("SELECT json_extract(metadata, '$.seq') FROM analytics_events" + where,
            [&](const std::vector<evlog_test::Cell>& row) {
              ++out.rows;
              if (!row[0]) {
                ++out.unmarked;
              } else {
                ++out.count_by_seq[std::stoll(*row[0])];
              }
            });
  out.distinct_event_ids =
      file.scalar("SELECT count(DISTINCT event_id) FROM analytics_events" + where);
  return out;
}

inline std::string integrity(const std::string& database) {
  evlog_test::SqliteFile file(database);
  return file.text("PRAGMA integrity_check");
}

// ---------------------------------------------------------------------------------------------
// Spill files.

// Paths of the spill segments ("spill-*.evs") in `dir`, sorted.
inline std::vector<std::string> spill_segments(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("spill-") && name.ends_with(".evs")) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// Creates `database` with evlog's table (a logger logs one event of type "prime" and shuts down).
inline void create_database(const std::string& database) {
  evlog::Options options = evlog_test::options_for(database);
  evlog::Logger logger(options);
  if (!evlog_test::prime(logger)) throw std::runtime_error("cannot prime " + database);
}

// Milliseconds since `start`.
inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace evlog_reliability
