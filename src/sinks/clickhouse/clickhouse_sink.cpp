#include "sinks/clickhouse/clickhouse_sink.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "evlog/error.hpp"
#include "sinks/sink_support.hpp"

namespace evlog::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMinTimeout{2000};
constexpr std::size_t kKeptAnswer = 64 * 1024;
constexpr std::string_view kColumns =
    "event_id, event_type, user_id, user_type, metadata, created_at, created_at_us";

// The columns and types the table must have (system.columns spells the types this way on every
// version). created_at is whole seconds in UTC (DateTime: no DateTime64 on older servers),
// created_at_us the microseconds within that second.
const std::map<std::string, std::string, std::less<>>& expected_columns() {
  static const std::map<std::string, std::string, std::less<>> columns = {
      {"event_id", "UUID"},
      {"event_type", "String"},
      {"user_id", "Nullable(Int64)"},
      {"user_type", "Nullable(String)"},
      {"metadata", "Nullable(String)"},
      {"created_at", "DateTime('UTC')"},
      {"created_at_us", "UInt32"},
  };
  return columns;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0]) && s[0] != '_') return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One part of a parsed URL, decoded, or empty when the URL has none.
std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return {};
  std::string out = value;
  curl_free(value);
  return out;
}

// A string field of TabSeparated: backslash, tab, newline, carriage return and NUL escaped; the
// rest (UTF-8 included) copied as it is.
void append_tsv_field(std::string& out, std::string_view value) {
  for (std::size_t at = 0;;) {
    const std::size_t special = value.find_first_of(std::string_view("\\\t\n\r\0", 5), at);
    out.append(value.substr(at, special - at));
    if (special == std::string_view::npos) return;
    const char c = value[special];
    out.push_back('\\');
    out.push_back(c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\0' ? '0' : '\\');
    at = special + 1;
  }
}

template <class Int>
void append_int(std::string& out, Int value) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

int digits_at(std::string_view s, std::size_t at, std::size_t n) {
  int value = 0;
  for (std::size_t i = at; i < at + n; ++i) value = value * 10 + (s[i] - '0');
  return value;
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (the writer's format) as Unix seconds and microseconds. Sent as a
// number, a DateTime is read the same whatever the server's time zone.
void append_created_at(std::string& out, std::string_view t) {
  using namespace std::chrono;
  const sys_days date = year{digits_at(t, 0, 4)} /
                        month{static_cast<unsigned>(digits_at(t, 5, 2))} /
                        day{static_cast<unsigned>(digits_at(t, 8, 2))};
  const std::int64_t seconds = date.time_since_epoch().count() * 86400LL +
                               digits_at(t, 11, 2) * 3600LL + digits_at(t, 14, 2) * 60LL +
                               digits_at(t, 17, 2);
  append_int(out, seconds);
  out.push_back('\t');
  append_int(out, digits_at(t, 20, 6));  // no leading zeros: UInt32 in TabSeparated refuses them
}

// The "Code: N" that starts every error body ClickHouse sends, or 0.
int error_code(std::string_view body) {
  constexpr std::string_view kCode = "Code: ";
  const std::size_t at = body.find(kCode);
  if (at == std::string_view::npos || at > 64) return 0;
  int code = 0;
  const char* first = body.data() + at + kCode.size();
  std::from_chars(first, body.data() + body.size(), code);
  return code;
}

// The row a parse error names ("(at row 3)", counted from 1), or kUnknownRow.
std::size_t refused_row(std::string_view body, std::size_t rows) {
  constexpr std::string_view kAtRow = "(at row ";
  const std::size_t at = body.find(kAtRow);
  if (at == std::string_view::npos) return SinkStatus::kUnknownRow;
  std::size_t row = 0;
  const char* first = body.data() + at + kAtRow.size();
  if (std::from_chars(first, body.data() + body.size(), row).ec != std::errc() || row == 0 ||
      row > rows) {
    return SinkStatus::kUnknownRow;
  }
  return row - 1;
}

// Errors about the data of the batch (ClickHouse's error codes, stable across versions): the rows
// are refused, and the writer splits the batch until each refused row stands alone.
bool is_data_error(int code) {
  switch (code) {
    case 6:    // CANNOT_PARSE_TEXT
    case 26:   // CANNOT_PARSE_QUOTED_STRING
    case 27:   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 38:   // CANNOT_PARSE_DATE
    case 41:   // CANNOT_PARSE_DATETIME
    case 53:   // TYPE_MISMATCH
    case 69:   // ARGUMENT_OUT_OF_BOUND
    case 70:   // CANNOT_CONVERT_TYPE
    case 72:   // CANNOT_PARSE_NUMBER
    case 117:  // INCORRECT_DATA
    case 131:  // TOO_LARGE_STRING_SIZE
    case 349:  // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    case 395:  // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO: throwIf() in a column's expression, how a
               // table refuses a value where CONSTRAINT is not known
    case 469:  // VIOLATED_CONSTRAINT (newer servers)
      return true;
    default:
      return false;
  }
}

// One TabSeparated field as its text: "DateTime(\\'UTC\\')" is DateTime('UTC').
std::string tsv_unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    const char c = field[++i];
    out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? '\0' : c);
  }
  return out;
}

// Splits TabSeparated text into rows of unescaped fields.
std::vector<std::vector<std::string>> tsv_rows(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    std::vector<std::string> fields;
    for (;;) {
      const std::size_t tab = line.find('\t');
      fields.push_back(tsv_unescape(line.substr(0, tab)));
      if (tab == std::string_view::npos) break;
      line.remove_prefix(tab + 1);
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

// The last expression of an engine's ORDER BY clause: "event_id" of
// "… ORDER BY (event_type, created_at, event_id) SETTINGS …".
std::string last_sorting_column(std::string_view engine_full) {
  const std::size_t at = engine_full.find("ORDER BY ");
  if (at == std::string_view::npos) return {};
  std::string_view key = engine_full.substr(at + 9);
  for (std::string_view stop : {" SETTINGS ", " SAMPLE BY ", " TTL "}) {
    key = key.substr(0, key.find(stop));
  }
  while (!key.empty() && (key.back() == ')' || key.back() == ' ')) key.remove_suffix(1);
  const std::size_t comma = key.find_last_of(",(");
  if (comma != std::string_view::npos) key.remove_prefix(comma + 1);
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  return std::string(key);
}

std::size_t keep_answer(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (answer->size() < kKeptAnswer) {
    answer->append(data, std::min(n, kKeptAnswer - answer->size()));
  }
  return n;  // the rest is read and dropped, so that the connection stays usable
}

}  // namespace

ClickHouseTarget parse_clickhouse_uri(std::string_view uri) {
  init_curl_once();
  const auto fail = [](const std::string& why) {
    // Never the URI itself: it may hold a password.
    throw Error("Options::database: not a usable clickhouse:// URI: " + why);
  };
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (!url) throw std::bad_alloc();
  const std::string text(uri);
  switch (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME)) {
    case CURLUE_OK:
      break;
    case CURLUE_BAD_PORT_NUMBER:
      fail("the port is not 1-65535");
      break;
    case CURLUE_NO_HOST:
    case CURLUE_BAD_HOSTNAME:
      fail("the host is missing or not a valid name");
      break;
    case CURLUE_BAD_LOGIN:
    case CURLUE_BAD_USER:
    case CURLUE_BAD_PASSWORD:
      fail("the user or password is not valid (percent-encode reserved characters)");
      break;
    default:
      fail("it cannot be parsed (give clickhouse://USER[:PASSWORD]@HOST[:PORT][/DATABASE])");
  }
  ClickHouseTarget t;
  if (url_part(url.get(), CURLUPART_SCHEME) != "clickhouse") fail("the scheme is not clickhouse");
  t.host = url_part(url.get(), CURLUPART_HOST);
  if (t.host.empty()) fail("it names no host");
  if (const std::string port = url_part(url.get(), CURLUPART_PORT); !port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      fail("the port is not 1-65535");
    }
    t.port = value;
  }
  if (std::string user = url_part(url.get(), CURLUPART_USER, CURLU_URLDECODE); !user.empty()) {
    t.user = std::move(user);
  }
  t.password = url_part(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE);
  std::string path = url_part(url.get(), CURLUPART_PATH, CURLU_URLDECODE);
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (!path.empty()) t.database = path;
  if (!is_identifier(t.database)) {
    fail("the database (the path) must be 1-63 characters of [A-Za-z_][A-Za-z0-9_]*");
  }
  std::string query = url_part(url.get(), CURLUPART_QUERY, CURLU_URLDECODE);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string pair = query.substr(0, amp);
    query.erase(0, amp == std::string::npos ? query.size() : amp + 1);
    if (pair.starts_with("cluster=")) {
      t.cluster = pair.substr(8);
      if (!is_identifier(t.cluster)) {
        fail("cluster must be 1-63 characters of [A-Za-z_][A-Za-z0-9_]*");
      }
    } else if (!pair.empty()) {
      fail("the parameter '" + pair.substr(0, pair.find('=')) +
           "' is not one evlog knows (only cluster=NAME)");
    }
  }
  if (!url_part(url.get(), CURLUPART_FRAGMENT).empty()) fail("it has a #fragment");
  t.display = "clickhouse://" + t.user + "@" + t.host + ":" + std::to_string(t.port) + "/" +
              t.database + (t.cluster.empty() ? "" : "?cluster=" + t.cluster);
  return t;
}

ClickHouseSink::ClickHouseSink(std::string_view uri, std::string table,
                               std::chrono::milliseconds timeout)
    : target_(parse_clickhouse_uri(uri)),
      table_(std::move(table)),
      timeout_(std::max(timeout, kMinTimeout)) {
  // An IPv6 literal keeps its brackets in a URL.
  const std::string host =
      target_.host.find(':') != std::string::npos ? "[" + target_.host + "]" : target_.host;
  base_url_ =
      "http://" + host + ":" + std::to_string(target_.port) + "/?database=" + target_.database;
  std::string insert =
      "INSERT INTO " + table_ + " (" + std::string(kColumns) + ") FORMAT TabSeparated";
  char* escaped = curl_easy_escape(nullptr, insert.c_str(), static_cast<int>(insert.size()));
  if (escaped == nullptr) throw std::bad_alloc();
  insert_url_ = base_url_ + "&query=" + escaped;
  curl_free(escaped);
  // An acknowledged batch is on every shard it touched, not only queued for them.
  if (!target_.cluster.empty()) insert_url_ += "&insert_distributed_sync=1";
}

ClickHouseSink::~ClickHouseSink() {
  close();
}

void ClickHouseSink::close() noexcept {
  if (easy_ != nullptr) {
    if (multi_ != nullptr) curl_multi_remove_handle(static_cast<CURLM*>(multi_), easy_);
    curl_easy_cleanup(static_cast<CURL*>(easy_));
  }
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
  easy_ = nullptr;
  multi_ = nullptr;
  ready_ = false;
}

void ClickHouseSink::abandon() noexcept {
  // The kept-alive socket belongs to the parent too: closing it here would not harm the parent
  // (HTTP has no goodbye message), but freeing curl's state could, so it is left as it is.
  easy_ = nullptr;
  multi_ = nullptr;
  ready_ = false;
}

std::string ClickHouseSink::scrub(std::string message) const {
  if (!target_.password.empty()) {
    for (std::size_t at; (at = message.find(target_.password)) != std::string::npos;) {
      message.replace(at, target_.password.size(), "****");
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

ClickHouseSink::Answer ClickHouseSink::request(const std::string& url, std::string_view body,
                                               bool overlap) {
  Answer answer;
  if (easy_ == nullptr) {
    multi_ = curl_multi_init();
    easy_ = curl_easy_init();
    if (multi_ == nullptr || easy_ == nullptr) throw std::bad_alloc();
    CURL* e = static_cast<CURL*>(easy_);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, target_.user.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, target_.password.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
  }
  CURL* e = static_cast<CURL*>(easy_);
  CURLM* m = static_cast<CURLM*>(multi_);
  // No "Expect: 100-continue": it would cost a round trip per batch for nothing, as the server
  // reads every body it is sent.
  curl_slist headers{const_cast<char*>("Expect:"), nullptr};
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, &headers);
  // The body is sent from where it lies (it does not change during the request), in as few
  // send() calls as the socket takes, instead of through curl's 64 KiB upload buffer.
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_multi_add_handle(m, e);

  bool waited = false;
  bool gave_up = false;
  for (int running = 1;;) {
    if (curl_multi_perform(m, &running) != CURLM_OK || running == 0) break;
    // The whole body is sent: the server parses and inserts it now, and the writer takes and
    // formats its next batch meanwhile.
    curl_off_t sent = 0;
    if (overlap && !waited && curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK &&
        sent == static_cast<curl_off_t>(body.size())) {
      waited = true;
      while_waiting();
      continue;
    }
    // Relaxed: a deadline, read again every slice; nothing else is published through it.
    const Clock::time_point give_up{Clock::duration(give_up_at_.load(std::memory_order_relaxed))};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
    if (left.count() <= 0) {
      gave_up = true;
      break;
    }
    curl_multi_poll(m, nullptr, 0, static_cast<int>(std::min<std::int64_t>(left.count(), 50)),
                    nullptr);
  }
  CURLcode result = CURLE_OK;
  bool finished = false;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(m, &queued)) {
    if (message->msg == CURLMSG_DONE && message->easy_handle == e) {
      result = message->data.result;
      finished = true;
    }
  }
  curl_multi_remove_handle(m, e);  // an unfinished transfer's connection is closed here
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, nullptr);
  if (gave_up || !finished) {
    answer.body = gave_up ? "gave up waiting: the logger is shutting down" : "the transfer stopped";
    return answer;
  }
  if (result != CURLE_OK) {
    answer.body = error[0] != '\0' ? error : curl_easy_strerror(result);
    return answer;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &answer.http_status);
  answer.kind = answer.http_status == 200 ? Answer::Kind::ok : Answer::Kind::error;
  if (answer.kind == Answer::Kind::error) answer.code = error_code(answer.body);
  return answer;
}

SinkStatus ClickHouseSink::classify(const char* what, const Answer& answer) {
  std::string message = "clickhouse: " + std::string(what) + " on " + target_.display + ": ";
  if (answer.kind == Answer::Kind::lost) {
    return SinkStatus::transient_error(scrub(message + answer.body));
  }
  // A parse error echoes the offending row's text; at most the first 1,000 characters are kept.
  message += "HTTP " + std::to_string(answer.http_status) + ": " + answer.body.substr(0, 1000);
  message = scrub(std::move(message));
  if (is_data_error(answer.code)) return SinkStatus::refused_batch(std::move(message));
  // The table or database is gone (dropped by someone), or the table lost a column: check the
  // table again (and create it, on one server) at the next attempt.
  if (answer.code == 60 || answer.code == 81 || answer.code == 16) ready_ = false;
  return SinkStatus::transient_error(std::move(message));
}

SinkStatus ClickHouseSink::query(const char* what, const std::string& sql, std::string* out) {
  const Answer answer = request(base_url_, sql, false);
  if (answer.kind != Answer::Kind::ok) return classify(what, answer);
  if (out != nullptr) *out = answer.body;
  return SinkStatus::success();
}

SinkStatus ClickHouseSink::open() {
  return guarded([&] { return open_unguarded(); }, [&] { return out_of_memory(); });
}

SinkStatus ClickHouseSink::write(std::span<const Row> rows) {
  return guarded([&] { return write_unguarded(rows); }, [&] { return out_of_memory(); });
}

SinkStatus ClickHouseSink::out_of_memory() noexcept {
  close();
  return SinkStatus::transient_error("out of memory");  // short: no allocation
}

SinkStatus ClickHouseSink::open_unguarded() {
  if (ready_) return SinkStatus::success();
  // The connection, the credentials and the database, checked with the one query every version
  // answers the same way.
  SinkStatus status = query("connecting", "SELECT version()");
  if (!status.ok()) return status;
  status = target_.cluster.empty() ? ensure_table() : check_cluster_table();
  if (!status.ok()) return status;
  ready_ = true;
  return SinkStatus::success();
}

SinkStatus ClickHouseSink::ensure_table() {
  // ReplacingMergeTree with event_id last in the sorting key: a row that lands twice collapses,
  // and FINAL counts exactly. Partitioned by month, ordered for the usual query (a type over a
  // time range).
  SinkStatus status = query(
      "creating the table",
      "CREATE TABLE IF NOT EXISTS " + table_ +
          " (event_id UUID, event_type String, user_id Nullable(Int64), user_type "
          "Nullable(String), metadata Nullable(String), created_at DateTime('UTC'), "
          "created_at_us UInt32) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(created_at) "
          "ORDER BY (event_type, created_at, event_id)");
  if (!status.ok()) return status;
  std::string tables;
  status = query("reading the table's shape",
                 "SELECT engine, engine_full FROM system.tables WHERE database = '" +
                     target_.database + "' AND name = '" + table_ + "'",
                 &tables);
  if (!status.ok()) return status;
  const auto found = tsv_rows(tables);
  const std::string refusal = "clickhouse: table '" + target_.database + "." + table_ + "' on " +
                              target_.display + " cannot be used: ";
  if (found.empty() || found[0].size() < 2) {
    return SinkStatus::transient_error(refusal + "it is not in system.tables");
  }
  if (found[0][0] != "ReplacingMergeTree" && found[0][0] != "ReplicatedReplacingMergeTree") {
    return SinkStatus::invalid_config(refusal + "its engine is " + found[0][0] +
                                      ", not ReplacingMergeTree (a re-sent row would count twice)");
  }
  if (last_sorting_column(found[0][1]) != "event_id") {
    return SinkStatus::invalid_config(refusal +
                                      "its sorting key (ORDER BY) does not end with event_id");
  }
  return check_columns(refusal);
}

SinkStatus ClickHouseSink::check_columns(const std::string& refusal) {
  std::string columns;
  SinkStatus status = query("reading the table's shape",
                            "SELECT name, type FROM system.columns WHERE database = '" +
                                target_.database + "' AND table = '" + table_ + "'",
                            &columns);
  if (!status.ok()) return status;
  std::map<std::string, std::string, std::less<>> have;
  for (auto& row : tsv_rows(columns)) {
    if (row.size() >= 2) have[row[0]] = row[1];
  }
  for (const auto& [name, type] : expected_columns()) {
    const auto it = have.find(name);
    if (it == have.end()) {
      return SinkStatus::invalid_config(refusal + "it has no column '" + name + "' (" + type + ")");
    }
    if (it->second != type) {
      return SinkStatus::invalid_config(refusal + "its column '" + name + "' is " + it->second +
                                        ", not " + type);
    }
  }
  return SinkStatus::success();
}

SinkStatus ClickHouseSink::check_cluster_table() {
  const std::string refusal = "clickhouse: table '" + target_.database + "." + table_ + "' on " +
                              target_.display + " cannot be used: ";
  std::string text;
  SinkStatus status = query("reading the cluster",
                            "SELECT count(DISTINCT shard_num) FROM system.clusters WHERE "
                            "cluster = '" +
                                target_.cluster + "'",
                            &text);
  if (!status.ok()) return status;
  const int shards = std::atoi(text.c_str());
  if (shards == 0) {
    return SinkStatus::invalid_config(refusal + "the server knows no cluster '" + target_.cluster +
                                      "' (remote_servers in its configuration)");
  }
  status = query("reading the table's shape",
                 "SELECT engine, engine_full FROM system.tables WHERE database = '" +
                     target_.database + "' AND name = '" + table_ + "'",
                 &text);
  if (!status.ok()) return status;
  const auto found = tsv_rows(text);
  if (found.empty() || found[0].size() < 2) {
    return SinkStatus::invalid_config(
        refusal +
        "it does not exist; create the Distributed table and its local tables ON "
        "CLUSTER as the docs show (docs/clickhouse.md, \"A cluster\")");
  }
  if (found[0][0] != "Distributed") {
    return SinkStatus::invalid_config(refusal + "its engine is " + found[0][0] +
                                      ", not Distributed over the cluster '" + target_.cluster +
                                      "'");
  }
  // engine_full: Distributed(cluster, database, table[, sharding key])
  std::string args = found[0][1];
  const std::size_t open = args.find('(');
  args = open == std::string::npos ? "" : args.substr(open + 1);
  std::vector<std::string> parts;
  for (std::size_t at = 0; parts.size() < 3 && at < args.size();) {
    std::size_t comma = args.find(',', at);
    if (comma == std::string::npos) comma = args.find(')', at);
    std::string part = args.substr(at, comma - at);
    std::erase_if(part, [](char c) { return c == ' ' || c == '\'' || c == '`'; });
    parts.push_back(part);
    at = comma == std::string::npos ? args.size() : comma + 1;
  }
  if (parts.size() < 3 || parts[0] != target_.cluster) {
    return SinkStatus::invalid_config(refusal + "it is a Distributed table over another cluster (" +
                                      (parts.empty() ? std::string("?") : parts[0]) + ", not " +
                                      target_.cluster + ")");
  }
  const std::string local_db = parts[1].empty() ? target_.database : parts[1];
  const std::string& local = parts[2];
  // The local table on one replica of every shard: its engine and sorting key.
  status =
      query("reading the shards' tables",
            "SELECT engine, engine_full FROM cluster('" + target_.cluster +
                "', system.tables) WHERE database = '" + local_db + "' AND name = '" + local + "'",
            &text);
  if (!status.ok()) return status;
  const auto locals = tsv_rows(text);
  if (static_cast<int>(locals.size()) < shards) {
    return SinkStatus::invalid_config(refusal + "the local table '" + local_db + "." + local +
                                      "' is missing on " +
                                      std::to_string(shards - static_cast<int>(locals.size())) +
                                      " of the cluster's " + std::to_string(shards) + " shards");
  }
  for (const auto& row : locals) {
    if (row.size() < 2 || row[0] != "ReplicatedReplacingMergeTree" ||
        last_sorting_column(row[1]) != "event_id") {
      return SinkStatus::invalid_config(
          refusal + "the local table '" + local_db + "." + local +
          "' must be a "
          "ReplicatedReplacingMergeTree whose sorting key ends with event_id on every shard (one "
          "is " +
          (row.empty() ? std::string("?") : row[0]) + ")");
    }
  }
  return check_columns(refusal);
}

void ClickHouseSink::format_rows(std::span<const Row> rows, std::string& out) const {
  out.clear();
  for (const Row& r : rows) {
    out.append(r.event_id);
    out.push_back('\t');
    append_tsv_field(out, r.type);
    out.push_back('\t');
    if (r.user_id) {
      append_int(out, *r.user_id);
    } else {
      out.append("\\N");
    }
    out.push_back('\t');
    if (r.user_type.empty()) {
      out.append("\\N");
    } else {
      append_tsv_field(out, r.user_type);
    }
    out.push_back('\t');
    if (r.metadata.empty()) {
      out.append("\\N");
    } else {
      append_tsv_field(out, r.metadata);
    }
    out.push_back('\t');
    append_created_at(out, r.created_at);
    out.push_back('\n');
  }
}

SinkStatus ClickHouseSink::insert(std::string_view body) {
  const Answer answer = request(insert_url_, body, true);
  if (answer.kind == Answer::Kind::ok) return SinkStatus::success();
  SinkStatus status = classify("INSERT", answer);
  if (status.code == SinkStatus::Code::refused) {
    const std::size_t rows = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
    status.row = refused_row(answer.body, rows);
  }
  return status;
}

SinkStatus ClickHouseSink::write_unguarded(std::span<const Row> rows) {
  if (!ready_) {
    SinkStatus status = open();
    if (!status.ok()) return status;
  }
  // A batch whose outcome is unknown goes first, byte-identical, when this batch starts with its
  // rows (the writer retries a failed batch from its start, perhaps with more rows after it).
  std::size_t offset = 0;  // rows sent ahead of this request
  if (!unknown_ids_.empty()) {
    const std::size_t n = unknown_ids_.size() / 36;
    bool same = rows.size() >= n;
    for (std::size_t i = 0; same && i < n; ++i) {
      same = rows[i].event_id == std::string_view(unknown_ids_).substr(i * 36, 36);
    }
    if (same) {
      SinkStatus status = insert(unknown_body_);
      if (!status.ok()) return status;
      rows = rows.subspan(n);
      offset = n;
    }
    unknown_body_.clear();
    unknown_ids_.clear();
    if (rows.empty()) return SinkStatus::success();
  }
  format_rows(rows, body_);
  SinkStatus status = insert(body_);
  if (status.code == SinkStatus::Code::transient) {
    // Perhaps inserted, perhaps not: keep the exact bytes for the next attempt.
    unknown_body_ = body_;
    for (const Row& r : rows) unknown_ids_.append(r.event_id);
  }
  if (status.code == SinkStatus::Code::refused && status.row != SinkStatus::kUnknownRow) {
    status.row += offset;  // the writer counts from the start of the batch it gave
  }
  if (body_.capacity() > kKeptBuffer) std::string().swap(body_);
  return status;
}

}  // namespace evlog::detail
