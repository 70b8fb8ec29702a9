// tools/evlog/bench_clickhouse.cpp — `evlog bench clickhouse`: events/s into ClickHouse through
// evlog beside the limit, a raw INSERT of the same rows over ClickHouse's HTTP interface (one
// kept-alive connection, TabSeparated, batches of evlog's max_batch) into a table of the same
// shape, measured in the same run on the same server or cluster, in rounds of alternating order.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <evlog/evlog.hpp>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "bench_against_raw.hpp"
#include "report.hpp"

namespace evlog::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kColumns =
    "event_id, event_type, user_id, user_type, metadata, created_at, created_at_us";
// The shape evlog's ClickHouse sink gives the table it creates (src/sinks/clickhouse).
constexpr const char* kColumnTypes =
    "(event_id UUID, event_type String, user_id Nullable(Int64), user_type Nullable(String), "
    "metadata Nullable(String), created_at DateTime('UTC'), created_at_us UInt32)";
constexpr const char* kKey =
    "PARTITION BY toYYYYMM(created_at) ORDER BY (event_type, created_at, event_id)";

struct ClickHouseBenchOptions {
  std::string database;
  int events = 200000;
  int threads = 2;
  int rounds = 3;
  int max_batch = 4096;
  std::string json;
};

// The parts of a clickhouse://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?cluster=NAME] URI that the
// raw side needs, read with libcurl's URL parser as the sink reads them.
struct Target {
  std::string user = "default";
  std::string password;
  std::string host;  // bracketed when an IPv6 literal, ready for a URL
  unsigned port = 8123;
  std::string database = "default";
  std::string cluster;  // empty: one server
  // " SYNC" when the server knows it (21.x on): DROP TABLE then waits for the data and the
  // replica's ZooKeeper entries to be removed, rather than leaving that to the next rounds.
  std::string drop_sync;
};

bool is_identifier(std::string_view s) {
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  return !s.empty() && s.size() <= 63 && (alpha(s[0]) || s[0] == '_') &&
         std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return {};
  std::string out = value;
  curl_free(value);
  return out;
}

// Throws std::runtime_error naming what is wrong, never the URI itself (it may hold a password).
Target parse_target(const std::string& uri) {
  const auto fail = [](const std::string& why) -> void {
    throw std::runtime_error("bench clickhouse: --database: " + why);
  };
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (!url) throw std::bad_alloc();
  if (curl_url_set(url.get(), CURLUPART_URL, uri.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
      url_part(url.get(), CURLUPART_SCHEME) != "clickhouse") {
    fail("give clickhouse://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?cluster=NAME]");
  }
  Target t;
  t.host = url_part(url.get(), CURLUPART_HOST);
  if (t.host.empty()) fail("the URI names no host");
  if (t.host.find(':') != std::string::npos && t.host.front() != '[') t.host = "[" + t.host + "]";
  if (const std::string port = url_part(url.get(), CURLUPART_PORT); !port.empty()) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), t.port);
    if (ec != std::errc() || end != port.data() + port.size() || t.port == 0 || t.port > 65535) {
      fail("the port is not 1-65535");
    }
  }
  if (std::string user = url_part(url.get(), CURLUPART_USER, CURLU_URLDECODE); !user.empty()) {
    t.user = std::move(user);
  }
  t.password = url_part(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE);
  std::string path = url_part(url.get(), CURLUPART_PATH, CURLU_URLDECODE);
  path.erase(0, path.find_first_not_of('/'));
  if (!path.empty()) t.database = path;
  if (!is_identifier(t.database)) fail("the database (the path) is not an identifier");
  for (std::string query = url_part(url.get(), CURLUPART_QUERY, CURLU_URLDECODE); !query.empty();) {
    const std::size_t amp = std::min(query.find('&'), query.size());
    const std::string pair = query.substr(0, amp);
    query.erase(0, std::min(amp + 1, query.size()));
    if (pair.starts_with("cluster=") && is_identifier(pair.substr(8))) {
      t.cluster = pair.substr(8);
    } else if (!pair.empty()) {
      fail("only ?cluster=NAME (an identifier) may follow the database");
    }
  }
  return t;
}

std::size_t keep_answer(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One kept-alive HTTP connection to the server: every query and every INSERT is a POST on it.
class Http {
 public:
  explicit Http(const Target& t)
      : easy_(curl_easy_init()),
        base_url_("http://" + t.host + ":" + std::to_string(t.port) + "/?database=" + t.database) {
    if (easy_ == nullptr) throw std::bad_alloc();
    // No "Expect: 100-continue": a round trip per batch for nothing, the server reads every body.
    headers_ = curl_slist_append(nullptr, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 300000L);  // ON CLUSTER DDL waits for every host
    curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(easy_, CURLOPT_USERNAME, t.user.c_str());
    curl_easy_setopt(easy_, CURLOPT_PASSWORD, t.password.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
  }
  ~Http() {
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // `base_url() + "&query=" + escape(…)`: a URL whose query text is in the URL, the body data.
  const std::string& base_url() const { return base_url_; }
  std::string escape(const std::string& text) {
    char* escaped = curl_easy_escape(easy_, text.c_str(), static_cast<int>(text.size()));
    if (escaped == nullptr) throw std::bad_alloc();
    std::string out = escaped;
    curl_free(escaped);
    return out;
  }

  // Runs `sql` and returns its answer (TabSeparated, the trailing newline removed).
  std::string query(const std::string& sql) {
    std::string answer = post(base_url_, sql);
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    return answer;
  }
  // Runs `sql`, whose answer is one integer.
  long long scalar(const std::string& sql) {
    const std::string answer = query(sql);
    long long value = 0;
    const auto [end, ec] = std::from_chars(answer.data(), answer.data() + answer.size(), value);
    if (ec != std::errc() || end != answer.data() + answer.size()) {
      throw std::runtime_error("clickhouse: not a number in the answer to " + sql + ": " +
                               answer.substr(0, 200));
    }
    return value;
  }
  // POSTs `body` to `url` (sent from where it lies, not copied) and returns the answer; throws
  // with the server's message unless it answers HTTP 200.
  std::string post(const std::string& url, std::string_view body) {
    std::string answer;
    error_[0] = '\0';
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &answer);
    const CURLcode result = curl_easy_perform(easy_);
    if (result != CURLE_OK) {
      throw std::runtime_error(std::string("clickhouse: ") +
                               (error_[0] != '\0' ? error_ : curl_easy_strerror(result)));
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
      while (!answer.empty() && answer.back() == '\n') answer.pop_back();
      throw std::runtime_error("clickhouse: HTTP " + std::to_string(status) + ": " +
                               answer.substr(0, 1000));
    }
    return answer;
  }

 private:
  CURL* easy_;
  curl_slist* headers_ = nullptr;
  std::string base_url_;
  char error_[CURL_ERROR_SIZE] = "";
};

// A bench table: on one server a ReplacingMergeTree of the sink's shape (evlog's side leaves the
// creation to the sink), on a cluster the Distributed table over ReplicatedReplacingMergeTree
// local tables (`NAME_local`), created ON CLUSTER as the sink expects them. drop() removes it; the
// destructor too, quietly, when a round stopped half-way.
class BenchTable {
 public:
  BenchTable(Http& http, const Target& t, std::string name, bool create)
      : http_(http), target_(t), name_(std::move(name)) {
    const std::string db = t.database + ".";
    if (t.cluster.empty()) {
      if (create) {
        http_.query("CREATE TABLE " + db + name_ + " " + kColumnTypes +
                    " ENGINE = ReplacingMergeTree " + kKey);
      }
      return;
    }
    const std::string local = name_ + "_local";
    const std::string on_cluster = " ON CLUSTER " + t.cluster;
    try {
      http_.query("CREATE TABLE " + db + local + on_cluster + " " + kColumnTypes +
                  " ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/" + local +
                  "', '{replica}') " + kKey);
      http_.query("CREATE TABLE " + db + name_ + on_cluster + " AS " + db + local +
                  " ENGINE = Distributed(" + t.cluster + ", " + t.database + ", " + local +
                  ", cityHash64(toString(event_id)))");
    } catch (const std::exception&) {
      quiet_drop();  // what was made of it (no destructor runs for a throwing constructor)
      throw;
    }
  }
  ~BenchTable() { quiet_drop(); }
  BenchTable(const BenchTable&) = delete;
  BenchTable& operator=(const BenchTable&) = delete;

  // Distinct rows in the table (FINAL: a row that landed twice counts once).
  long long count() { return http_.scalar("SELECT count() FROM " + name_ + " FINAL"); }
  void drop() {
    if (dropped_) return;
    dropped_ = true;
    const std::string db = target_.database + ".";
    if (target_.cluster.empty()) {
      http_.query("DROP TABLE IF EXISTS " + db + name_ + target_.drop_sync);
      return;
    }
    const std::string on_cluster = " ON CLUSTER " + target_.cluster;
    http_.query("DROP TABLE IF EXISTS " + db + name_ + on_cluster + target_.drop_sync);
    http_.query("DROP TABLE IF EXISTS " + db + name_ + "_local" + on_cluster + target_.drop_sync);
  }

 private:
  void quiet_drop() noexcept {
    try {
      drop();
    } catch (const std::exception&) {
      // Already failing: the error that stopped the round is the one to report.
    }
  }

  Http& http_;
  const Target& target_;
  std::string name_;
  bool dropped_ = false;
};

// The rows the raw side writes, as TabSeparated text, and where each batch of `max_batch` rows
// starts in it (the last offset is the end). The classroom's most common event, as evlog's side
// logs it: time-ordered UUIDv7 ids, created_at as Unix seconds and microseconds (no leading
// zeros), as the sink sends them.
struct RawRows {
  std::string text;
  std::vector<std::size_t> batch_starts;
};

RawRows raw_rows(int events, int max_batch) {
  std::mt19937_64 rng(std::random_device{}());
  RawRows rows;
  rows.text.reserve(static_cast<std::size_t>(events) * 110);
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  char line[256];
  for (int i = 0; i < events; ++i) {
    if (i % max_batch == 0) rows.batch_starts.push_back(rows.text.size());
    const long long us = now_us + i;
    const unsigned long long ms = static_cast<unsigned long long>(us / 1000);
    const unsigned long long r1 = rng(), r2 = rng();
    std::snprintf(line, sizeof line,
                  "%08llx-%04llx-7%03llx-%04llx-%012llx\tpage_view\t%d\tstudent\t"
                  "{\"path\":\"/tasks/3\"}\t%lld\t%lld\n",
                  ms >> 16, ms & 0xffff, r1 & 0xfff, 0x8000 | ((r1 >> 12) & 0x3fff),
                  r2 & 0xffffffffffffULL, i % 20 + 1, us / 1000000, us % 1000000);
    rows.text += line;
  }
  rows.batch_starts.push_back(rows.text.size());
  return rows;
}

// The limit: the rows, formatted beforehand, POSTed batch after batch on one kept-alive
// connection into a fresh table of the same shape.
Side measure_raw(Http& admin, const Target& t, const RawRows& data, const std::string& name) {
  BenchTable table(admin, t, name, true);
  const std::string url =
      admin.base_url() +
      "&query=" + admin.escape("INSERT INTO " + name + " (" + kColumns + ") FORMAT TabSeparated") +
      (t.cluster.empty() ? "" : "&insert_distributed_sync=1");
  const std::string_view text = data.text;
  const auto start = Clock::now();
  for (std::size_t b = 0; b + 1 < data.batch_starts.size(); ++b) {
    admin.post(url,
               text.substr(data.batch_starts[b], data.batch_starts[b + 1] - data.batch_starts[b]));
  }
  Side side;
  side.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  side.batches = data.batch_starts.size() - 1;
  side.rows = table.count();
  table.drop();
  return side;
}

// evlog's side (log_page_views()) into a fresh table: created by the sink on one server when the
// logger is built, before the clock starts; made here on a cluster, as an operator makes it.
Side measure_evlog(Http& admin, const Target& t, const ClickHouseBenchOptions& o,
                   const std::string& name, std::uint64_t& written) {
  BenchTable table(admin, t, name, !t.cluster.empty());
  evlog::Options options;
  options.database = o.database;
  options.table = name;
  options.max_batch = static_cast<std::size_t>(o.max_batch);
  Side side = log_page_views(options, o.events, o.threads, written);
  side.rows = table.count();
  table.drop();
  return side;
}

bool run_bench_clickhouse(const ClickHouseBenchOptions& o) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Target target = parse_target(o.database);
  Http admin(target);
  const std::string version = admin.query("SELECT version()");
  if (std::atoi(version.c_str()) >= 21) target.drop_sync = " SYNC";
  std::string where = "one server";
  if (!target.cluster.empty()) {
    const long long shards =
        admin.scalar("SELECT count(DISTINCT shard_num) FROM system.clusters WHERE cluster = '" +
                     target.cluster + "'");
    if (shards == 0) {
      throw std::runtime_error("bench clickhouse: the server knows no cluster '" + target.cluster +
                               "'");
    }
    where = "cluster " + target.cluster + " (" + std::to_string(shards) + " shards)";
  }
  std::printf(
      "evlog bench clickhouse: ClickHouse %s, %s; %d events per side, %d producer threads, "
      "batches of %d rows, %d rounds\n",
      version.c_str(), where.c_str(), o.events, o.threads, o.max_batch, o.rounds);
  const RawRows data = raw_rows(o.events, o.max_batch);
  char run[16];
  std::snprintf(run, sizeof run, "%08x", static_cast<unsigned>(std::random_device{}()));
  // Fresh names in every round and run: a replicated table's path in ZooKeeper is named after it.
  const auto suffix = [&](int round) {
    return std::string("_") + run + "_" + std::to_string(round);
  };
  const RoundsResult result = run_rounds({
      .bench = "clickhouse",
      .raw_name = "raw INSERT",
      .raw_key = "raw_insert",
      .raw_what = "a raw insert of the same rows",
      .events = o.events,
      .rounds = o.rounds,
      .raw =
          [&](int round) {
            return measure_raw(admin, target, data, "bench_ch_raw" + suffix(round));
          },
      .evlog =
          [&](int round, std::uint64_t& written) {
            return measure_evlog(admin, target, o, "bench_ch_evlog" + suffix(round), written);
          },
  });
  if (!o.json.empty()) {
    write_json(o.json, {{"bench", "clickhouse"},
                        {"server_version", version},
                        {"cluster", target.cluster},
                        {"events", o.events},
                        {"threads", o.threads},
                        {"max_batch", o.max_batch},
                        {"rounds", result.rounds},
                        {"median_ratio", result.median},
                        {"summary", {result.summary}}});
  }
  return result.ok;
}

}  // namespace

void add_bench_clickhouse(CLI::App& bench, std::function<bool()>& chosen) {
  auto o = std::make_shared<ClickHouseBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "clickhouse", "events/s into ClickHouse through evlog vs a raw HTTP insert of the same rows");
  cmd->add_option("--database", o->database,
                  "clickhouse://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?cluster=NAME]")
      ->required();
  add_round_options(*cmd, o->events, o->threads, o->rounds);
  cmd->add_option("--max-batch", o->max_batch,
                  "evlog's Options::max_batch, and the rows per raw INSERT")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--json", o->json, "Write every figure to this file");
  cmd->callback([o, &chosen] { chosen = [o] { return run_bench_clickhouse(*o); }; });
}

}  // namespace evlog::cli
