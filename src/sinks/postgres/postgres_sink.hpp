// PostgresSink — writes batches into a table of a PostgreSQL server through libpq.
//
// A batch is one COPY in COPY's text format, in its own implicit transaction:
//   COPY t (event_id, event_type, user_id, user_type, metadata, created_at) FROM STDIN
// COPY cannot skip a row whose event_id is already in the table, but the unique index on event_id
// makes it fail as a whole instead (SQLSTATE 23505, nothing committed). That happens only to a
// batch re-sent after its outcome was unknown (the connection dropped before the answer), and
// such a batch is then sent again as one prepared statement that does skip those rows:
//   INSERT INTO t (event_id, …) SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[],
//     $4::text[], $5::jsonb[], $6::timestamptz[]) ON CONFLICT (event_id) DO NOTHING
// Why not that statement for every batch: ON CONFLICT's speculative insertion and the parsing of
// six array literals cost the server far more than COPY (README, "PostgreSQL", has the figures);
// a staging table would need an explicit transaction and more round trips. Every new connection
// first checks that a unique index on event_id alone exists (ensure_table(); a table without one
// is refused), so COPY can never create a duplicate. No transaction is ever left to a bare COMMIT
// on a new session.
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
#include <string_view>
#include <vector>

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
  void abandon() noexcept override;
  // Any thread (the one shutting the logger down): from `when` on, every call in progress or to
  // come gives up waiting for the server (a transient failure), so that shutdown keeps its
  // deadline although one call may otherwise wait up to the 2 s floor of its own deadline.
  void give_up_at(std::chrono::steady_clock::time_point when) noexcept override {
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
  // Runs a query of one text parameter; `out` receives its first column.
  SinkStatus query_column(const std::string& sql, const std::string& param,
                          std::vector<std::string>& out);
  SinkStatus copy_rows(std::span<const Row> rows);
  SinkStatus insert_skipping_duplicates(std::span<const Row> rows);
  // Runs one statement with the client-side deadline; its SQLSTATE, if it failed, is left in
  // last_sqlstate_.
  SinkStatus run(const char* what, const std::string& sql, int params = 0,
                 const char* const* values = nullptr, bool prepared = false);
  // Runs copy_sql_ with `data` (COPY's text format) as its input, under the same deadline.
  SinkStatus copy_in(const char* what, std::string_view data);
  // The pieces of run() and copy_in(): each false/transient once the deadline passed or the
  // connection broke; lost() closes the connection, as the outcome of the call is unknown.
  bool flush_output(std::chrono::steady_clock::time_point deadline);
  bool await_result(std::chrono::steady_clock::time_point deadline);
  SinkStatus collect(const char* what, std::chrono::steady_clock::time_point deadline);
  SinkStatus lost(const char* what, const std::string& why);
  // Why a wait failed: libpq's message if the connection broke, else the deadline passed.
  std::string why_waiting_failed(const char* waiting_for) const;
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
  std::string copy_sql_;       // COPY <table> (…) FROM STDIN
  std::string copy_data_;      // the batch in COPY's text format, reused between batches
  std::string last_sqlstate_;  // of the last failed statement
  static constexpr std::size_t kKeptCopyBuffer = 4 << 20;
  bool ready_ = false;  // connected, table checked, insert prepared
};

}  // namespace evlog::detail
