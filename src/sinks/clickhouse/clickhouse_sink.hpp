// ClickHouseSink — writes batches into a ClickHouse table over ClickHouse's HTTP interface
// (libcurl), one server or a sharded, replicated cluster.
//
//   clickhouse://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?cluster=NAME]
//
// A batch is one request on one kept-alive connection:
//   POST /?database=D&query=INSERT INTO t (event_id, …) FORMAT TabSeparated   (body: the rows)
// TabSeparated, not JSONEachRow or RowBinary: for rows of this size the three insert within 13 %
// of each other, in an order that changes between runs (bench/clickhouse_formats.py), and
// TabSeparated stays text that a person can read in a captured request, with no binary layout to
// get wrong (docs/clickhouse.md has the figures).
//
// ClickHouse has no transaction across a batch and no unique key, so exactly-once rests on two
// things instead of a unique index:
//   - the table is a (Replicated)ReplacingMergeTree whose sorting key ends with event_id: a row
//     that lands twice collapses when parts merge, and `SELECT … FINAL` counts exactly before
//     that;
//   - a batch whose outcome is unknown (the connection broke or the deadline passed after it was
//     sent) is sent again byte-identical — same rows, same order, same bytes — before anything
//     else: a replicated table drops a block it has already seen, so on a cluster the repeat does
//     not even reach the merge.
//
// One server: the table is created if missing. A cluster (?cluster=NAME): `table` is the
// Distributed table the operator created over ReplicatedReplacingMergeTree tables (ON CLUSTER),
// checked at every (re)connection; inserts carry insert_distributed_sync=1, so an acknowledged
// batch is on every shard it touched.
//
// Every call is bounded by a client-side deadline (max(db_timeout, 2 s)), and give_up_at() cuts
// any wait short, in slices of at most 50 ms. Passwords never appear in messages: describe() is
// built without one, and every message is scrubbed of its text.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "evlog/sink.hpp"

namespace evlog::detail {

// The parts of a clickhouse:// URI. Throws evlog::Error ("Options::database: …", without the
// password) when it cannot be used.
struct ClickHouseTarget {
  std::string user = "default";
  std::string password;
  std::string host;
  unsigned port = 8123;
  std::string database = "default";
  std::string cluster;  // empty: one server
  std::string display;  // clickhouse://user@host:port/database[?cluster=…], no password
};
ClickHouseTarget parse_clickhouse_uri(std::string_view uri);

class ClickHouseSink final : public Sink {
 public:
  ClickHouseSink(std::string_view uri, std::string table, std::chrono::milliseconds timeout);
  ~ClickHouseSink() override;

  ClickHouseSink(const ClickHouseSink&) = delete;
  ClickHouseSink& operator=(const ClickHouseSink&) = delete;

  SinkStatus open() override;
  SinkStatus write(std::span<const Row> rows) override;
  std::string describe() const override { return target_.display; }

  // In the child after fork(): the parent's connection is forgotten, never closed.
  void abandon() noexcept override;
  void give_up_at(std::chrono::steady_clock::time_point when) noexcept override {
    // Relaxed: a deadline read again by the waiting call every 50 ms; it orders nothing else.
    give_up_at_.store(when.time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  struct Answer {
    enum class Kind { ok, error, lost };  // lost: no answer (connection, deadline)
    Kind kind = Kind::lost;
    long http_status = 0;
    int code = 0;      // the "Code: N" of an error body, 0 if none
    std::string body;  // the answer (the first 64 KiB)
  };

  SinkStatus open_unguarded();
  SinkStatus write_unguarded(std::span<const Row> rows);
  SinkStatus out_of_memory() noexcept;
  SinkStatus ensure_table();
  SinkStatus check_cluster_table();
  // The seven columns with their types, on the table itself (for a cluster, the Distributed
  // table); `refusal` begins the message that names what is wrong.
  SinkStatus check_columns(const std::string& refusal);
  // POSTs `body` to `url` on the kept-alive connection and waits for the whole answer within the
  // deadline (and give_up_at()). With `overlap`, calls while_waiting() once the body is sent.
  Answer request(const std::string& url, std::string_view body, bool overlap);
  // A query whose answer is TabSeparated text; ok or the classified failure.
  SinkStatus query(const char* what, const std::string& sql, std::string* out = nullptr);
  SinkStatus insert(std::string_view body);
  SinkStatus classify(const char* what, const Answer& answer);
  std::string scrub(std::string message) const;
  void format_rows(std::span<const Row> rows, std::string& out) const;
  void close() noexcept;

  const ClickHouseTarget target_;
  const std::string table_;
  const std::chrono::milliseconds timeout_;
  std::string base_url_;    // http://host:port/?database=…
  std::string insert_url_;  // base_url_ + the INSERT query (and settings), escaped
  void* multi_ = nullptr;   // CURLM*: owns the connection cache (the kept-alive connection)
  void* easy_ = nullptr;    // CURL*: reused for every request
  std::string body_;        // the batch being sent, reused between batches
  // A batch whose outcome is unknown, kept to be sent again byte-identical: its bytes and its
  // event ids in order (36 characters each).
  std::string unknown_body_;
  std::string unknown_ids_;
  std::atomic<std::int64_t> give_up_at_{std::numeric_limits<std::int64_t>::max()};
  static constexpr std::size_t kKeptBuffer = 4 << 20;
  bool ready_ = false;  // connected once, table checked
};

}  // namespace evlog::detail
