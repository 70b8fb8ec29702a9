// PostgresSink — writes batches into a table of a PostgreSQL server through libpq.
//
// One batch is one statement, so one round trip and one implicit transaction:
//   INSERT INTO t (event_id, …) SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[],
//     $4::text[], $5::jsonb[], $6::timestamptz[]) ON CONFLICT (event_id) DO NOTHING
// prepared once per connection, whatever the batch size. Why not COPY: COPY cannot ignore the
// event_id conflict, so it needs a staging table, an INSERT … SELECT and an explicit transaction
// (four round trips); the measured rate of both is in README ("PostgreSQL sink"). A batch whose
// outcome is unknown (the connection dropped during the statement) is re-sent on a new connection:
// the unique event_id makes that harmless, and no transaction is ever left to a bare COMMIT on a
// new session.
//
// Every call has a client-side deadline (max(db_timeout, 2 s)): a stopped or hung server makes the
// call fail as transient, never hang the writer. Passwords never appear in messages: describe()
// is rebuilt from the parsed connection options without secret ones, and any message is scrubbed
// of the password's text.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "evlog/sink.hpp"

struct pg_conn;

namespace evlog::detail {

class PostgresSink final : public Sink {
 public:
  // Throws evlog::Error when `conninfo` cannot be parsed (the message never shows the password).
  PostgresSink(std::string conninfo, std::string table, std::chrono::milliseconds timeout);
  ~PostgresSink() override;

  PostgresSink(const PostgresSink&) = delete;
  PostgresSink& operator=(const PostgresSink&) = delete;

  SinkStatus open() override;
  SinkStatus write(std::span<const Row> rows) override;
  std::string describe() const override { return display_; }

  // After fork(), in the child: forget the parent's connection without closing it (closing would
  // send a Terminate message on the parent's socket).
  void abandon() noexcept;
  // Any thread (the one shutting the logger down): from `when` on, every call in progress or to
  // come gives up waiting for the server (a transient failure), so that shutdown keeps its
  // deadline although one call may otherwise wait up to the 2 s floor of its own deadline.
  void give_up_at(std::chrono::steady_clock::time_point when) noexcept {
    // Relaxed: read again by the waiting call every 50 ms; it orders nothing else.
    give_up_at_.store(when.time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  // open() and write() catch what these throw (std::bad_alloc): the writer gets a transient
  // failure and the connection is dropped, to be made afresh.
  SinkStatus open_unguarded();
  SinkStatus write_unguarded(std::span<const Row> rows);
  SinkStatus out_of_memory() noexcept;
  SinkStatus connect();
  SinkStatus ensure_table();
  SinkStatus prepare_insert();
  // Runs one statement with the client-side deadline; `result` receives the PGresult status.
  SinkStatus run(const char* what, const std::string& sql, int params = 0,
                 const char* const* values = nullptr, bool prepared = false);
  SinkStatus classify(const char* what, const std::string& sqlstate, std::string message);
  std::string scrub(std::string message) const;
  void close() noexcept;

  const std::string conninfo_;
  const std::string table_;
  const std::chrono::milliseconds timeout_;
  std::string display_;   // the server and database, without secrets
  std::string password_;  // only to scrub it from messages
  pg_conn* conn_ = nullptr;
  // steady_clock nanoseconds after which no call waits for the server (see give_up_at()).
  std::atomic<std::int64_t> give_up_at_{std::numeric_limits<std::int64_t>::max()};
  bool ready_ = false;          // connected, table checked, insert prepared
  bool table_checked_ = false;  // the table exists in the right shape (checked once)
};

}  // namespace evlog::detail
