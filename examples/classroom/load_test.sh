#!/usr/bin/env bash
# Load comparison of the four --logging modes, on loopback only:
#   examples/classroom/load_test.sh [path/to/evlog-classroom]
# ROUNDS rounds (best a multiple of 4); in each, every mode in turn, the order changing from round
# to round (over four rounds each mode runs once in each position and once right after each other
# mode): a fresh copy of a seeded database, a server on 127.0.0.1, then three workloads, each a
# WARMUP-second wrk run that is not counted (the server's connection pool and caches fill) and a
# DURATION-second run with CONNECTIONS connections that is:
#   page_load_paced  GET /tasks at an offered rate (each connection waits 2-6 ms between requests:
#                    ≈ 7,000 requests/s, a fraction of what the server can take)
#   page_load        GET /tasks back to back (the server saturated: its capacity)
#   task_complete    POST /tasks/{id}/complete back to back (the app's commit plus a critical
#                    event)
# After each server stops, its analytics rows are checked against what it says it wrote. Prints every run, a Markdown table of the per-mode medians over the rounds, and
# the issue's two targets with their verdicts (on the medians), the paced one with a 95 % interval
# from a paired bootstrap over the rounds.
#   ROUNDS (default 3), DURATION (10), WARMUP (2), CONNECTIONS (32), THREADS (2), PORT (18090)
# Exit status: 0, or 1 when a server failed, a request failed or a table did not hold the rows
# its server wrote (a missed target is reported, not an error). Also prints, for the paced page
# load, each mode's p99 against off's in the same round (median over the rounds), with async as a
# control: it writes page views exactly as evlog does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$(command -v evlog-classroom || true)}
if [[ -z $bin || ! -x $bin ]]; then
  echo "usage: $0 path/to/evlog-classroom" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is missing (apt-get install sqlite3)" >&2; exit 2; }
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18090}
base=http://127.0.0.1:$port
modes=(off sync async evlog)
# The order of the modes in each round (indices into modes), four rounds in turn: a balanced Latin
# square, so that over four rounds each mode runs once in each position and right after each other
# mode once. A mode that runs after another can be slowed by what the other left behind (its files
# being written back, its server still exiting); a plain rotation would always put evlog after
# async and off after evlog.
orders=(0132 1203 2310 3021)
workloads=(page_load_paced page_load task_complete)

# shellcheck source=load/server_lib.sh
source "$here/load/server_lib.sh"
# shellcheck source=load/rounds_lib.sh
source "$here/load/rounds_lib.sh"

# evlog_written_total and evlog_batches_total from the server's /metrics (0 0 without evlog).
written_and_batches() {
  curl -s -H 'Authorization: Bearer load-test-token-0123456789abcdef' "$base/metrics" | awk '
    /^evlog_written_total/ {w = $2} /^evlog_batches_total/ {b = $2} END {print w + 0, b + 0}'
}


"$bin" seed --database "$work/seed.db" >/dev/null
declare -A runs  # mode,workload,field -> the values of every round, space-separated
failed=0
for ((round = 1; round <= rounds; round++)); do
  for ((i = 0; i < ${#modes[@]}; i++)); do
    mode=${modes[${orders[(round - 1) % 4]:i:1}]}
    db=$work/$mode-$round.db
    cp "$work/seed.db" "$db"
    start_server "$db" "$mode" "$work/$mode.log" --token load-test-token-0123456789abcdef
    for workload in "${workloads[@]}"; do
      if ((warmup > 0)); then
        COOKIE=$cookie wrk -t"$threads" -c"$connections" -d"${warmup}s" \
          -s "$here/load/$workload.lua" "$base" >/dev/null
      fi
      before=$(written_and_batches)
      line=$(COOKIE=$cookie wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
               -s "$here/load/$workload.lua" "$base" | grep '^RESULT')
      read -r p50 p99 rps errors _ <<<"${line#RESULT }"
      runs[$mode,$workload,p50]+="$p50 "
      runs[$mode,$workload,p99]+="$p99 "
      runs[$mode,$workload,rps]+="$rps "
      echo "round $round, $mode, $workload: p50 $p50 ms, p99 $p99 ms, $rps req/s, $errors errors"
      if [[ $mode == async || $mode == evlog ]]; then
        read -r w0 b0 <<<"$before"
        read -r w1 b1 <<<"$(written_and_batches)"
        awk -v w=$((w1 - w0)) -v b=$((b1 - b0)) 'BEGIN {
          printf "  %d events written in %d commits: %.1f a commit\n", w, b, (b > 0) ? w / b : 0 }'
      fi
      if ((errors > 0)); then
        echo "  ($errors wrk errors: connect/read/write/timeout or a status other than 2xx/3xx)" >&2
        failed=1
      fi
    done
    kill -TERM "$server_pid"
    if ! wait "$server_pid"; then
      echo "server ($mode) exited with an error:" >&2
      cat "$work/$mode.log" >&2
      exit 1
    fi
    server_pid=
    rows=$(sqlite3 "$db" 'SELECT COUNT(*) FROM analytics_events')
    written=$(sed -n 's/.*(written \([0-9]*\), lost \([0-9]*\), dropped \([0-9]*\)).*/\1 \2 \3/p' \
                "$work/$mode.log")
    case $mode in
      off) expected=0 ;;
      sync) expected=$rows ;;  # inserted on the request threads: nothing to compare with
      *) read -r expected lost dropped <<<"$written"
         if ((lost + dropped > 0)); then
           echo "  $mode: $lost lost and $dropped dropped events (counted)"
         fi ;;
    esac
    echo "  $mode: analytics_events rows after shutdown: $rows (the server wrote $expected)"
    if [[ $rows != "$expected" ]]; then
      echo "  $mode: MISMATCH: the table holds $rows rows, the server reported $expected" >&2
      failed=1
    fi
    rm -f "$db" "$db-wal" "$db-shm"
  done
done


declare -A med
for mode in "${modes[@]}"; do
  for workload in "${workloads[@]}"; do
    for field in p50 p99 rps; do
      # shellcheck disable=SC2086  # the values are space-separated on purpose
      med[$mode,$workload,$field]=$(median ${runs[$mode,$workload,$field]})
    done
  done
done

echo
echo "Medians over $rounds rounds ($connections connections, ${duration} s per run):"
echo
echo "| --logging | paced page load p50 (ms) | p99 (ms) | req/s | saturated page load p50 (ms) | p99 (ms) | req/s | task_complete p50 (ms) | p99 (ms) | req/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in "${modes[@]}"; do
  row="| $mode |"
  for workload in "${workloads[@]}"; do
    row+=" ${med[$mode,$workload,p50]} | ${med[$mode,$workload,p99]} | ${med[$mode,$workload,rps]} |"
  done
  echo "$row"
done
echo
read -r low high <<<"$(paced_interval)"
awk -v e="${med[evlog,page_load_paced,p99]}" -v o="${med[off,page_load_paced,p99]}" \
    -v low="$low" -v high="$high" -v rounds="$rounds" \
    -v se="${med[evlog,page_load,p99]}" -v so="${med[off,page_load,p99]}" \
    -v te="${med[evlog,task_complete,rps]}" -v ts="${med[sync,task_complete,rps]}" 'BEGIN {
  ratio = e / o
  printf "paced page-load p99, evlog / off: %.3f (target <= 1.10): %s\n", ratio,
         (ratio <= 1.10) ? "met" : "MISSED"
  if (rounds < 4) {
    printf "  (too few rounds, %d, for an interval over the rounds)\n", rounds
  } else {
    printf "  95 %% interval over the rounds (paired bootstrap): %.3f to %.3f%s\n", low, high,
           (low <= 1.10 && high > 1.10) ? ": spans 1.10, so this run does not settle it" : ""
  }
  printf "saturated page-load p99, evlog / off: %.3f (reported; the writer takes its share of a\n", se / so
  printf "  saturated CPU)\n"
  ratio = te / ts
  printf "task_complete req/s, evlog / sync: %.2fx (target >= 1.5x): %s\n", ratio,
         (ratio >= 1.5) ? "met" : "MISSED"
}'
echo "paced page-load p99 against off's in the same round, median over the rounds:"
echo "  evlog $(paired_ratio evlog), async $(paired_ratio async) (reported; async writes page views through"
echo "  the same logger as evlog, which has no critical page views: for page views the two run"
echo "  the same code)"
exit "$failed"
