#include "sinks/postgres/postgres_sink.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <cerrno>

#include <algorithm>
#include <charconv>
#include <vector>

#include "evlog/error.hpp"
#include "sinks/sink_support.hpp"

namespace evlog::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kInsertName = "evlog_insert";
constexpr std::chrono::milliseconds kMinTimeout{2000};

// One element of a text-format array literal: quoted, with backslash and quote escaped.
void append_element(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// One field of COPY's text format: backslash, tab, newline and carriage return escaped (the only
// bytes the format gives a meaning); everything else is copied as it is.
void append_copy_field(std::string& out, std::string_view value) {
  for (std::size_t at = 0;;) {
    const std::size_t special = value.find_first_of("\\\t\n\r", at);
    out.append(value.substr(at, special - at));
    if (special == std::string_view::npos) return;
    const char c = value[special];
    out.push_back('\\');
    out.push_back(c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
    at = special + 1;
  }
}

// Waits until the connection's socket is ready for `events`, or `deadline` or `give_up_at`
// (steady-clock nanoseconds; another thread may bring it forward meanwhile) passes. Polls in
// slices of at most 50 ms, so that a give-up time set during the wait is kept.
bool wait_socket(PGconn* conn, short events, Clock::time_point deadline,
                 const std::atomic<std::int64_t>& give_up_at) {
  for (;;) {
    // Relaxed: a deadline, read again every slice; nothing else is published through it.
    const Clock::time_point give_up{Clock::duration(give_up_at.load(std::memory_order_relaxed))};
    const Clock::time_point until = std::min(deadline, give_up);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(conn), events, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

PostgresSink::PostgresSink(std::string conninfo, std::string table,
                           std::chrono::milliseconds timeout)
    : conninfo_(std::move(conninfo)),
      table_(std::move(table)),
      timeout_(std::max(timeout, kMinTimeout)) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo_.c_str(), &error);
  if (options == nullptr) {
    // libpq's message may quote the string, password and all: say what is wrong without it.
    PQfreemem(error);
    throw Error("Options::database: not a valid PostgreSQL connection string or URI");
  }
  std::string user, host = "localhost", port = "5432", dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string key = o->keyword;
    if (o->dispchar != nullptr && o->dispchar[0] == '*') password_ = o->val;  // secret option
    if (key == "user") user = o->val;
    if (key == "host" || (key == "hostaddr" && host == "localhost")) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  display_ = "postgresql://" + (user.empty() ? "" : user + "@") + host + ":" + port + "/" + dbname;
}

PostgresSink::~PostgresSink() {
  close();
}

void PostgresSink::close() noexcept {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  ready_ = false;
}

void PostgresSink::abandon() noexcept {
  conn_ = nullptr;
  ready_ = false;
}

std::string PostgresSink::scrub(std::string message) const {
  if (!password_.empty()) {
    for (std::size_t at; (at = message.find(password_)) != std::string::npos;) {
      message.replace(at, password_.size(), "****");
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

SinkStatus PostgresSink::connect() {
  close();
  const auto deadline = Clock::now() + timeout_;
  // Parsed options, plus a connect timeout unless the string sets one.
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo_.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) return SinkStatus::invalid_config("cannot parse the connection string");
  std::vector<std::string> keys, values;
  bool has_timeout = false;
  bool has_name = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    keys.emplace_back(o->keyword);
    values.emplace_back(o->val);
    has_timeout |= keys.back() == "connect_timeout";
    has_name |= keys.back() == "application_name";
  }
  PQconninfoFree(options);
  if (!has_timeout) {
    keys.emplace_back("connect_timeout");
    values.emplace_back(std::to_string((timeout_.count() + 999) / 1000));
  }
  if (!has_name) {  // lets operators (and tests) find evlog's sessions in pg_stat_activity
    keys.emplace_back("application_name");
    values.emplace_back("evlog");
  }
  std::vector<const char*> k, v;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    k.push_back(keys[i].c_str());
    v.push_back(values[i].c_str());
  }
  k.push_back(nullptr);
  v.push_back(nullptr);

  conn_ = PQconnectStartParams(k.data(), v.data(), 0);
  if (conn_ == nullptr) return SinkStatus::transient_error("postgres: out of memory");
  for (;;) {
    const PostgresPollingStatusType state = PQconnectPoll(conn_);
    if (state == PGRES_POLLING_OK) break;
    if (state == PGRES_POLLING_FAILED) {
      std::string message =
          scrub("postgres: cannot connect to " + display_ + ": " + PQerrorMessage(conn_));
      close();
      return SinkStatus::transient_error(std::move(message));
    }
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_socket(conn_, events, deadline, give_up_at_)) {
      close();
      return SinkStatus::transient_error("postgres: connecting to " + display_ +
                                         " timed out after " + std::to_string(timeout_.count()) +
                                         " ms");
    }
  }
  // Non-blocking sends: a server that stops reading must not block the writer in send().
  PQsetnonblocking(conn_, 1);
  // The server's NOTICEs ("relation already exists, skipping") are not the user's business.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return SinkStatus::success();
}

SinkStatus PostgresSink::classify(const char* what, const std::string& sqlstate,
                                  std::string message) {
  message = scrub("postgres: " + std::string(what) + " on " + display_ + ": " + message);
  // 22: data exception (e.g. a value jsonb refuses), 23: integrity constraint (CHECK, NOT NULL,
  // a trigger's exception may use either): the data of the batch is refused.
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23") || sqlstate == "P0001") {
    return SinkStatus::refused_batch(std::move(message));
  }
  // 42P01: the table is gone (dropped by someone): create it again on the next attempt.
  // 42P10: the unique index on event_id is gone (ON CONFLICT cannot work): check the table again.
  if (sqlstate == "42P01" || sqlstate == "26000" || sqlstate == "42P10") ready_ = false;
  return SinkStatus::transient_error(std::move(message));
}

std::string PostgresSink::why_waiting_failed(const char* waiting_for) const {
  if (PQstatus(conn_) != CONNECTION_OK) return PQerrorMessage(conn_);
  return std::string("no ") + waiting_for + " within " + std::to_string(timeout_.count()) + " ms";
}

SinkStatus PostgresSink::lost(const char* what, const std::string& why) {
  std::string message = scrub("postgres: " + std::string(what) + " on " + display_ + ": " + why);
  close();  // the outcome is unknown: the batch is re-sent on a new connection
  return SinkStatus::transient_error(std::move(message));
}

bool PostgresSink::flush_output(Clock::time_point deadline) {
  for (int f; (f = PQflush(conn_)) != 0;) {
    // Reading while waiting to write: a server that answers early (an error) must not deadlock
    // with a client that only writes.
    if (f < 0 || !wait_socket(conn_, POLLOUT | POLLIN, deadline, give_up_at_) ||
        !PQconsumeInput(conn_)) {
      return false;
    }
  }
  return true;
}

bool PostgresSink::await_result(Clock::time_point deadline) {
  while (PQisBusy(conn_)) {
    if (!wait_socket(conn_, POLLIN, deadline, give_up_at_) || !PQconsumeInput(conn_)) return false;
  }
  return true;
}

SinkStatus PostgresSink::collect(const char* what, Clock::time_point deadline) {
  SinkStatus status = SinkStatus::success();
  for (;;) {
    if (!await_result(deadline)) {
      return lost(what, why_waiting_failed("answer"));
    }
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) break;
    const ExecStatusType s = PQresultStatus(result);
    if (status.ok() && s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      last_sqlstate_ = state ? state : "";
      status = classify(what, last_sqlstate_, PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = status.ok() ? "" : status.message;
    return lost(what, message.empty() ? std::string(PQerrorMessage(conn_)) : message);
  }
  return status;
}

SinkStatus PostgresSink::run(const char* what, const std::string& sql, int params,
                             const char* const* values, bool prepared) {
  const auto deadline = Clock::now() + timeout_;
  last_sqlstate_.clear();
  // An empty `sql` collects the answer to a command the caller already sent (PQsendPrepare).
  const int sent =
      sql.empty() ? 1
      : prepared  ? PQsendQueryPrepared(conn_, sql.c_str(), params, values, nullptr, nullptr, 0)
      : params > 0
          ? PQsendQueryParams(conn_, sql.c_str(), params, nullptr, values, nullptr, nullptr, 0)
          : PQsendQuery(conn_, sql.c_str());
  if (!sent) return lost(what, PQerrorMessage(conn_));
  if (!flush_output(deadline)) return lost(what, why_waiting_failed("room to send"));
  return collect(what, deadline);
}

SinkStatus PostgresSink::copy_in(const char* what, std::string_view data) {
  const auto deadline = Clock::now() + timeout_;
  last_sqlstate_.clear();
  if (!PQsendQuery(conn_, copy_sql_.c_str())) return lost(what, PQerrorMessage(conn_));
  if (!flush_output(deadline)) return lost(what, why_waiting_failed("room to send"));
  // The server answers COPY with CopyInResponse, or with an error (the table is gone, say).
  if (!await_result(deadline)) return lost(what, why_waiting_failed("answer to COPY"));
  PGresult* start = PQgetResult(conn_);
  if (start == nullptr) return lost(what, PQerrorMessage(conn_));
  if (PQresultStatus(start) != PGRES_COPY_IN) {
    const char* state = PQresultErrorField(start, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state ? state : "";
    const std::string message = PQresultErrorMessage(start);
    PQclear(start);
    SinkStatus rest = collect(what, deadline);  // drains the query's remaining results
    if (conn_ == nullptr) return rest;          // lost meanwhile
    last_sqlstate_ = sqlstate;
    return classify(what, sqlstate, message);
  }
  PQclear(start);
  // In slices, so that libpq's output buffer stays small; in non-blocking mode a slice that does
  // not fit waits until the socket drains.
  constexpr std::size_t kSlice = 256 * 1024;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t n = std::min(kSlice, data.size() - at);
    const int put = PQputCopyData(conn_, data.data() + at, static_cast<int>(n));
    if (put < 0) return lost(what, PQerrorMessage(conn_));
    if (put == 0) {
      if (!flush_output(deadline)) return lost(what, why_waiting_failed("room to send"));
      continue;
    }
    at += n;
  }
  for (int end; (end = PQputCopyEnd(conn_, nullptr)) != 1;) {
    if (end < 0 || !flush_output(deadline)) return lost(what, why_waiting_failed("room to send"));
  }
  if (!flush_output(deadline)) return lost(what, why_waiting_failed("room to send"));
  // The server parses, inserts, checks the unique index and commits now: the writer takes and
  // formats its next batch meanwhile instead of leaving the server idle afterwards.
  while_waiting();
  return collect(what, deadline);
}

SinkStatus PostgresSink::open() {
  return guarded([&] { return open_unguarded(); }, [&] { return out_of_memory(); });
}

SinkStatus PostgresSink::write(std::span<const Row> rows) {
  return guarded([&] { return write_unguarded(rows); }, [&] { return out_of_memory(); });
}

SinkStatus PostgresSink::out_of_memory() noexcept {
  // The connection may be mid-exchange: start again from a new one (a statement that did reach
  // the server is re-sent, and ON CONFLICT makes that harmless).
  close();
  return SinkStatus::transient_error("out of memory");  // short: no allocation
}

SinkStatus PostgresSink::open_unguarded() {
  if (ready_) return SinkStatus::success();
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    SinkStatus status = connect();
    if (!status.ok()) return status;
  }
  // The table is checked on every new connection, not once: COPY is safe only while the unique
  // index on event_id exists, and someone may have dropped it (or the table) meanwhile.
  SinkStatus status = ensure_table();
  if (!status.ok()) {
    if (status.code != SinkStatus::Code::invalid) close();
    return status;
  }
  ready_ = true;
  return SinkStatus::success();
}

SinkStatus PostgresSink::query_column(const std::string& sql, const std::string& param,
                                      std::vector<std::string>& out) {
  out.clear();
  const char* values[] = {param.c_str()};
  if (!PQsendQueryParams(conn_, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0)) {
    return lost("reading the table's shape", PQerrorMessage(conn_));
  }
  const auto deadline = Clock::now() + timeout_;
  if (!flush_output(deadline))
    return lost("reading the table's shape", why_waiting_failed("room to send"));
  bool read = false;
  for (;;) {
    if (!await_result(deadline))
      return lost("reading the table's shape", why_waiting_failed("answer"));
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) break;
    if (!read && PQresultStatus(r) == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
      read = true;
    }
    PQclear(r);
  }
  if (!read) return lost("reading the table's shape", "the query failed");
  return SinkStatus::success();
}

SinkStatus PostgresSink::ensure_table() {
  const std::string t = quoted(table_);
  // One process at a time creates or adopts the table (an advisory lock for the transaction).
  SinkStatus status =
      run("creating the table", "BEGIN; SELECT pg_advisory_xact_lock(hashtext('evlog:" + table_ +
                                    "')); CREATE TABLE IF NOT EXISTS " + t +
                                    " (id bigserial PRIMARY KEY, event_id uuid UNIQUE NOT NULL, "
                                    "event_type text NOT NULL, user_id bigint, user_type text, "
                                    "metadata jsonb, created_at timestamptz NOT NULL)");
  if (!status.ok()) return status;
  std::vector<std::string> names;
  status = query_column(
      "SELECT column_name FROM information_schema.columns WHERE "
      "table_schema = current_schema() AND table_name = $1",
      table_, names);
  if (!status.ok()) return status;
  auto has = [&](std::string_view c) {
    return std::find(names.begin(), names.end(), c) != names.end();
  };
  for (const std::string_view required : kAdoptedColumns) {
    if (!has(required)) {
      run("rolling back", "ROLLBACK");
      return SinkStatus::invalid_config("postgres: table '" + table_ + "' on " + display_ +
                                        " cannot be adopted: it has no column '" +
                                        std::string(required) + "'");
    }
  }
  // The table's plain indexes (no predicate, no expression), each as its first two key columns,
  // with " unique" for a unique index of one column: "event_id unique", "event_type,created_at".
  std::vector<std::string> indexes;
  status = query_column(
      "SELECT (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = "
      "i.indkey[0]) || CASE WHEN i.indnkeyatts >= 2 THEN ',' || (SELECT attname FROM "
      "pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[1]) ELSE '' END || CASE "
      "WHEN i.indisunique AND i.indnkeyatts = 1 THEN ' unique' ELSE '' END FROM pg_index i WHERE "
      "i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) AND "
      "i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL",
      table_, indexes);
  if (!status.ok()) return status;
  auto has_index = [&](std::string_view prefix) {
    return std::any_of(indexes.begin(), indexes.end(),
                       [&](const std::string& i) { return i.starts_with(prefix); });
  };
  std::string adopt;
  if (!has("event_id")) {
    // The older shape: add the column and its unique index; old rows keep a NULL event_id.
    adopt = "ALTER TABLE " + t + " ADD COLUMN event_id uuid; CREATE UNIQUE INDEX IF NOT EXISTS " +
            quoted(table_ + "_event_id") + " ON " + t + " (event_id); ";
  } else if (!has_index("event_id unique")) {
    // Exactly-once rests on that index: without it a re-sent COPY would duplicate rows (and
    // ON CONFLICT (event_id) cannot work). Building it on someone's table is their decision.
    run("rolling back", "ROLLBACK");
    return SinkStatus::invalid_config("postgres: table '" + table_ + "' on " + display_ +
                                      " cannot be adopted: its event_id column has no unique "
                                      "index (CREATE UNIQUE INDEX ... ON " +
                                      table_ + " (event_id))");
  }
  // An index that already leads with (event_type, created_at), whatever its name, serves: a
  // second one would only double the cost of every insert.
  if (!has_index("event_type,created_at")) {
    adopt += "CREATE INDEX IF NOT EXISTS " + quoted(table_ + "_event_type_created_at") + " ON " +
             t + " (event_type, created_at); ";
  }
  status = run("adopting the table", adopt + "COMMIT");
  if (!status.ok()) return status;
  return prepare_insert();
}

SinkStatus PostgresSink::prepare_insert() {
  const std::string t = quoted(table_);
  copy_sql_ =
      "COPY " + t + " (event_id, event_type, user_id, user_type, metadata, created_at) FROM STDIN";
  const std::string insert =
      "INSERT INTO " + t +
      " (event_id, event_type, user_id, user_type, metadata, created_at) SELECT * FROM "
      "unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], "
      "$6::timestamptz[]) ON CONFLICT (event_id) DO NOTHING";
  if (!PQsendPrepare(conn_, kInsertName, insert.c_str(), 6, nullptr)) {
    return SinkStatus::transient_error(scrub(PQerrorMessage(conn_)));
  }
  return run("preparing the insert", "", 0, nullptr, false);
}

SinkStatus PostgresSink::write_unguarded(std::span<const Row> rows) {
  if (!ready_) {
    SinkStatus status = open();
    if (!status.ok()) return status;
  }
  // First as a plain COPY, which the unique index on event_id makes safe: a row already in the
  // table (a batch re-sent after its outcome was unknown) fails the whole COPY, and nothing of it
  // is committed. Only then is the batch sent again through the statement that skips such rows.
  SinkStatus status = copy_rows(rows);
  if (status.code == SinkStatus::Code::refused && last_sqlstate_ == "23505") {
    status = insert_skipping_duplicates(rows);
  }
  return status;
}

SinkStatus PostgresSink::copy_rows(std::span<const Row> rows) {
  copy_data_.clear();
  for (const Row& r : rows) {
    copy_data_.append(r.event_id);
    copy_data_.push_back('\t');
    append_copy_field(copy_data_, r.type);
    copy_data_.push_back('\t');
    if (r.user_id) {
      char digits[24];  // an int64 has at most 20 characters
      copy_data_.append(digits, std::to_chars(digits, digits + sizeof digits, *r.user_id).ptr);
    } else {
      copy_data_.append("\\N");
    }
    copy_data_.push_back('\t');
    if (r.user_type.empty()) {
      copy_data_.append("\\N");
    } else {
      append_copy_field(copy_data_, r.user_type);
    }
    copy_data_.push_back('\t');
    if (r.metadata.empty()) {
      copy_data_.append("\\N");
    } else {
      append_copy_field(copy_data_, r.metadata);
    }
    copy_data_.push_back('\t');
    copy_data_.append(r.created_at);
    copy_data_.push_back('\n');
  }
  SinkStatus status = copy_in("COPY", copy_data_);
  // A large batch's buffer is not kept for the lifetime of the logger.
  if (copy_data_.capacity() > kKeptCopyBuffer) std::string().swap(copy_data_);
  return status;
}

SinkStatus PostgresSink::insert_skipping_duplicates(std::span<const Row> rows) {
  std::string arrays[6];
  for (std::string& a : arrays) a.reserve(rows.size() * 40 + 2);
  for (std::string& a : arrays) a.push_back('{');
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    if (i > 0) {
      for (std::string& a : arrays) a.push_back(',');
    }
    arrays[0].append(r.event_id);
    append_element(arrays[1], r.type);
    arrays[2] += r.user_id ? std::to_string(*r.user_id) : "NULL";
    if (r.user_type.empty()) {
      arrays[3] += "NULL";
    } else {
      append_element(arrays[3], r.user_type);
    }
    if (r.metadata.empty()) {
      arrays[4] += "NULL";
    } else {
      append_element(arrays[4], r.metadata);
    }
    append_element(arrays[5], r.created_at);
  }
  for (std::string& a : arrays) a.push_back('}');
  const char* values[6];
  for (int i = 0; i < 6; ++i) values[i] = arrays[i].c_str();
  return run("INSERT", kInsertName, 6, values, true);
}

}  // namespace evlog::detail
