#!/usr/bin/env bash
# `evlog bench clickhouse` as a person runs it against a server: it exits 0, every round wrote
# every event on both sides (the command checks the row counts itself and exits non-zero
# otherwise), the --json file holds each round and the median, and its tables are gone afterwards.
# The figures themselves are not judged here: a shared machine makes any threshold flaky.
#   cli_bench_clickhouse_test.sh EVLOG            one server: $EVLOG_TEST_CLICKHOUSE (the URI) and
#                                                 $EVLOG_TEST_CLICKHOUSE_HTTP (its HTTP base)
#   cli_bench_clickhouse_test.sh EVLOG cluster    the two-shard cluster: $EVLOG_TEST_CLICKHOUSE_CLUSTER,
#                                                 $EVLOG_TEST_CLICKHOUSE_S1_HTTP, …_S2_HTTP
# Without those variables it starts its own throwaway server (or cluster) with
# scripts/clickhouse_server.sh, and stops it on exit.
set -euo pipefail
evlog=$1
mode=${2:-server}
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
server_dir=
cleanup() {
  [[ -z $server_dir ]] || "$(dirname "$0")/../scripts/clickhouse_server.sh" stop "$server_dir"
  rm -rf "$dir"
}
trap cleanup EXIT

if [[ $mode == cluster ]]; then
  if [[ -z ${EVLOG_TEST_CLICKHOUSE_CLUSTER:-} ]]; then
    server_dir=$(mktemp -d /tmp/evlog-chbench.XXXXXX)  # the servers' user must reach it
    lines=$("$(dirname "$0")/../scripts/clickhouse_server.sh" start-cluster "$server_dir") ||
      fail "cannot start a cluster"
    eval "$lines"
  fi
  uri=$EVLOG_TEST_CLICKHOUSE_CLUSTER
  cluster=${uri##*cluster=}
  https=("$EVLOG_TEST_CLICKHOUSE_S1_HTTP" "$EVLOG_TEST_CLICKHOUSE_S2_HTTP")
else
  if [[ -z ${EVLOG_TEST_CLICKHOUSE:-} ]]; then
    server_dir=$(mktemp -d /tmp/evlog-chbench.XXXXXX)  # the server's user must reach it
    lines=$("$(dirname "$0")/../scripts/clickhouse_server.sh" start "$server_dir") ||
      fail "cannot start a server"
    eval "$lines"
  fi
  uri=$EVLOG_TEST_CLICKHOUSE
  cluster=
  https=("$EVLOG_TEST_CLICKHOUSE_HTTP")
fi

out=$("$evlog" bench clickhouse --database "$uri" --events 5000 --rounds 2 \
  --json "$dir/ch.json" 2>&1) || fail "exited non-zero: $out"
echo "$out"
grep -q 'evlog wrote the events at [0-9]*% of the rate of a raw insert' <<<"$out" || fail "no summary line"
# Read back with Python's json module: it prints what does not hold, nothing when all does.
checks=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
if d.get("bench") != "clickhouse" or d.get("events") != 5000: bad.append("bench/events")
if d.get("cluster") != sys.argv[2]: bad.append("cluster")
if len(d.get("rounds", [])) != 2: bad.append("not 2 rounds")
if not d.get("median_ratio", 0) > 0: bad.append("median_ratio")
for r in d.get("rounds", []):
    raw, ev = r["raw_insert"], r["evlog"]
    if raw["rows"] != 5000 or ev["rows"] != 5000 or ev["written"] != 5000:
        bad.append("round %d: rows" % r["round"])
    if raw["batches"] < 2 or ev["batches"] < 2 or not r["ratio"] > 0:
        bad.append("round %d: batches/ratio" % r["round"])
print("; ".join(bad))
' "$dir/ch.json" "$cluster") || fail "the --json file cannot be read: $checks"
[[ -z $checks ]] || fail "the --json file is not what it should be: $checks"
# On every server: the bench's tables, the Distributed ones and their local tables alike.
for http in "${https[@]}"; do
  left=$(curl -sS --fail-with-body "$http/" \
    --data-binary "SELECT count() FROM system.tables WHERE name LIKE 'bench_ch_%'") ||
    fail "cannot ask $http for its tables: $left"
  [[ $left == 0 ]] || fail "$left bench tables left behind on $http"
done
echo "bench clickhouse ($mode): 2 rounds, 5,000 events per side, counts and --json checked"
