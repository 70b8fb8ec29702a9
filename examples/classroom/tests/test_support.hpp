// Helpers for the classroom tests: temporary directories, a seeded database, reading the
// analytics table back.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "seed.hpp"
#include "sqlite_db.hpp"

namespace classroom::testing {

inline std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "classroom-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// The seeded database that seeded_copy() copies, made on first use in a directory of its own,
// which is removed when the test process exits.
class MasterDatabase {
 public:
  MasterDatabase() : dir_(make_temp_dir()) {
    seed_database(path().string(), "classroom");
    Connection connection(path().string());
    connection.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  ~MasterDatabase() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  MasterDatabase(const MasterDatabase&) = delete;
  MasterDatabase& operator=(const MasterDatabase&) = delete;

  std::filesystem::path path() const { return dir_ / "master.db"; }

 private:
  std::filesystem::path dir_;
};

// A seeded database file (seeding hashes 21 passwords, so suites seed once and copy).
inline std::string seeded_copy(const std::filesystem::path& dir) {
  static const MasterDatabase master;
  const auto copy = dir / "classroom.db";
  std::filesystem::copy_file(master.path(), copy,
                             std::filesystem::copy_options::overwrite_existing);
  return copy.string();
}

// Rows of analytics_events with `type` (all types when empty).
inline std::int64_t count_events(const std::string& database, const std::string& type = "") {
  Connection connection(database);
  Statement query(connection, type.empty()
                                  ? "SELECT COUNT(*) FROM analytics_events"
                                  : "SELECT COUNT(*) FROM analytics_events WHERE event_type = ?1");
  if (!type.empty()) query.bind(1, type);
  query.step();
  return query.int_at(0);
}

// Waits up to 3 s for at least `n` rows of `type` (async events are written within max_delay).
inline std::int64_t wait_for_events(const std::string& database, const std::string& type,
                                    std::int64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::int64_t count = 0;
  while ((count = count_events(database, type)) < n &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return count;
}

// Logs in through the API and returns the "Cookie" header value.
inline std::string login(httplib::Client& client, const std::string& user) {
  // A login hashes a password at 600,000 iterations: about 1.3 s each in the AddressSanitizer
  // build, and several tests log in at once on two cores. httplib's client gives up after 5 s.
  client.set_read_timeout(std::chrono::seconds(60));
  auto response = client.Post("/login", "username=" + user + "&password=classroom",
                              "application/x-www-form-urlencoded");
  if (!response || response->status != 200) return {};
  const std::string cookie = response->get_header_value("Set-Cookie");
  return cookie.substr(0, cookie.find(';'));
}

}  // namespace classroom::testing
