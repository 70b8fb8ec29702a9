#!/usr/bin/env bash
# Load comparison of the four --logging modes, in one run, on loopback only:
#   examples/classroom/load_test.sh [path/to/evlog-classroom]
# For each mode: a fresh copy of a seeded database, a server on 127.0.0.1, then wrk with
# CONNECTIONS connections for DURATION seconds on page loads (GET /tasks) and again on
# task_complete POSTs. Prints request p50/p99 and requests/s per mode, and a Markdown table.
#   DURATION (default 10), CONNECTIONS (32), THREADS (2), PORT (18090)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$(command -v evlog-classroom || true)}
if [[ -z $bin || ! -x $bin ]]; then
  echo "usage: $0 path/to/evlog-classroom" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
duration=${DURATION:-10}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18090}
base=http://127.0.0.1:$port

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" seed --database "$work/seed.db" >/dev/null
declare -A result
for mode in off sync async evlog; do
  cp "$work/seed.db" "$work/$mode.db"
  "$bin" serve --database "$work/$mode.db" --host 127.0.0.1 --port "$port" --logging "$mode" \
    >"$work/$mode.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "$base/login" && break
    sleep 0.05
  done
  cookie=$(curl -s -D - -o /dev/null -d 'username=student1&password=classroom' "$base/login" |
           sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p' | tr -d '\r')
  for workload in page_load task_complete; do
    line=$(COOKIE=$cookie wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
             -s "$here/load/$workload.lua" "$base" | grep '^RESULT')
    result[$mode,$workload]=${line#RESULT }
    echo "$mode $workload: p50/p99 ms, req/s, errors: ${result[$mode,$workload]}"
  done
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "server ($mode) exited with an error" >&2; exit 1; }
  server_pid=
  rows=$(sqlite3 "$work/$mode.db" 'SELECT COUNT(*) FROM analytics_events' 2>/dev/null || echo "?")
  echo "$mode: analytics_events rows after shutdown: $rows"
done

echo
echo "| --logging | page load p50 (ms) | page load p99 (ms) | page load req/s | task_complete p50 (ms) | task_complete p99 (ms) | task_complete req/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in off sync async evlog; do
  read -r pp50 pp99 prps _ <<<"${result[$mode,page_load]}"
  read -r tp50 tp99 trps _ <<<"${result[$mode,task_complete]}"
  echo "| $mode | $pp50 | $pp99 | $prps | $tp50 | $tp99 | $trps |"
done
