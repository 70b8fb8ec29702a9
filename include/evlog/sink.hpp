// evlog/sink.hpp — the interface a database back end implements.
//
// A sink is used by exactly one thread at a time (the logger's writer thread, after construction
// on the thread that built the logger), so it needs no locking of its own; the one exception is
// give_up_at(), which shutdown calls from its own thread. A sink of your own
// (Options::make_sink) takes part in fork safety and in shutdown's deadline through the hooks at
// the end of the class; their defaults do nothing, which is right for a sink that holds no
// connection across fork() and bounds each call itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace evlog {

// One row of the analytics table, formatted by the writer. Views are valid during `write()` only.
struct Row {
  std::string_view event_id;  // canonical UUIDv7 text, 36 characters
  std::string_view type;      // event_type
  std::optional<std::int64_t> user_id;
  std::string_view user_type;   // empty = NULL
  std::string_view metadata;    // JSON object text; empty = NULL
  std::string_view created_at;  // "YYYY-MM-DDTHH:MM:SS.ffffffZ", UTC
  // A promise rests on this row's commit: a caller waits for it (committed delivery), or it was
  // read back from a spill file, which is deleted once the row is written. Where the sink's
  // durability setting promises power-loss safety, a batch holding such a row must be durable
  // when write() returns ok; a batch without one may be committed without a sync (a later synced
  // commit or a checkpoint makes it durable).
  bool durable = false;
};

// What a sink call reports. Never an exception: sinks catch and classify.
struct SinkStatus {
  enum class Code {
    ok,
    transient,  // try again later: busy, locked, I/O error, disk full, connection lost
    refused,    // the database refused the data of the batch; `row` names the row when known
    invalid,    // the configuration cannot work (e.g. a table that cannot be adopted)
  };
  static constexpr std::size_t kUnknownRow = std::numeric_limits<std::size_t>::max();

  Code code = Code::ok;
  std::string message;  // the database's words, secrets masked
  std::size_t row = kUnknownRow;

  static SinkStatus success() { return {}; }
  static SinkStatus transient_error(std::string message) {
    return {Code::transient, std::move(message), kUnknownRow};
  }
  static SinkStatus refused_row(std::size_t row, std::string message) {
    return {Code::refused, std::move(message), row};
  }
  static SinkStatus refused_batch(std::string message) {
    return {Code::refused, std::move(message), kUnknownRow};
  }
  static SinkStatus invalid_config(std::string message) {
    return {Code::invalid, std::move(message), kUnknownRow};
  }
  bool ok() const noexcept { return code == Code::ok; }
};

class Sink {
 public:
  virtual ~Sink() = default;

  // Connects and makes sure the table exists in the expected shape (creating it, or adopting an
  // older shape by adding what is missing; never dropping data). Called when the logger is built,
  // before the writer's first write, and again after every failed write, so it must be cheap
  // (return ok at once) when the connection is already good.
  virtual SinkStatus open() = 0;

  // Writes every row in one transaction, ignoring a row whose event_id is already in the table
  // (only that conflict). On anything but `ok` nothing of the batch is committed.
  virtual SinkStatus write(std::span<const Row> rows) = 0;

  // The database for messages ("sqlite:analytics.db"), with any password masked.
  virtual std::string describe() const = 0;

  // --- hooks, each with a default that does nothing ---

  // Before fork(), in the parent, with no other call in progress (the writer is held at the
  // fork): close what must not be open in two processes at once (SQLite's connection: its locks
  // are kept per process). open() is called again before the next write.
  virtual void prepare_fork() noexcept {}

  // In a child process after fork(), instead of the destructor: forget everything that belongs
  // to the parent (a connection, a socket, a thread's state) without closing or freeing it; the
  // object is then leaked. Closing a connection here would close the parent's.
  virtual void abandon() noexcept {}

  // Called by shutdown, from its own thread, possibly while open() or write() runs on the
  // writer: from `deadline` on, no call may keep waiting for the database (a call already
  // waiting gives up then). Must be thread-safe. The default suits a sink whose every call is
  // bounded by Options::db_timeout already.
  virtual void give_up_at(std::chrono::steady_clock::time_point deadline) noexcept {
    (void)deadline;
  }

  // Work the writer can do while the database works on a batch: it takes the next batch from the
  // queue and formats it. Set by the logger before the first write(). A sink that sends a batch
  // and then waits for the database's answer (a network round trip, the server's commit) calls
  // while_waiting() once per write(), after everything is sent and before it waits; it runs on
  // the writer thread, never throws and never calls the sink. A sink that does not call it only
  // loses that overlap.
  void set_while_waiting(std::function<void()> work) noexcept { while_waiting_ = std::move(work); }

 protected:
  void while_waiting() const noexcept {
    if (while_waiting_) while_waiting_();
  }

 private:
  std::function<void()> while_waiting_;
};

}  // namespace evlog
