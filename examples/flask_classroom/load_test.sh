#!/usr/bin/env bash
# Load comparison of the Flask classroom app's five CLASSROOM_LOGGING modes, under Debian's
# gunicorn on loopback only:
#   examples/flask_classroom/load_test.sh [PYTHONPATH of the evlog package, default build/release/python]
# ROUNDS rounds; in each, every mode in turn (the order changing from round to round as a Williams
# design: over ten rounds each mode runs once in each position and right after each other mode
# twice): a fresh copy of a seeded database, gunicorn with WORKERS sync workers (the app imported
# in each worker) on 127.0.0.1, then three workloads, each a WARMUP-second wrk run that is not
# timed and a DURATION-second run with CONNECTIONS connections:
#   page_load_paced  GET /tasks at an offered rate: each connection waits PACE_MS ms between
#                    requests (default 40-80: ≈ 500 requests/s, a fraction of what the server takes)
#   page_load        GET /tasks back to back (the server saturated: its capacity)
#   task_complete    POST /tasks/{id}/complete back to back (the app's commit plus a critical event)
# Every request logs one event. After gunicorn stops (SIGTERM, as a service manager stops it), the
# rows in the table are counted against the events of the requests answered (every run, warm-ups
# included, and the login): what is missing was lost. A request still in flight when wrk stops is
# answered without being counted, so a table may hold a few rows more than counted (at most one a
# connection a run).
# Prints every run, a Markdown table of the per-mode medians over the rounds with the events
# answered and lost, and the targets with their verdicts; the paced p99 one with a 95 % interval
# from a paired bootstrap over the rounds (from 4 rounds).
#   ROUNDS (3), DURATION (10), WARMUP (2), CONNECTIONS (32), THREADS (2), WORKERS (4), PORT (18190),
#   PACE_MS (40-80)
# Exit status: 0, or 1 when a server failed, a request failed, or evlog lost an event (a missed
# speed target is reported, not an error).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
evlog_path=${1:-$root/build/release/python}
[[ -f $evlog_path/evlog/__init__.py ]] || { echo "usage: $0 [PYTHONPATH of the evlog package]" >&2; exit 2; }
for tool in wrk sqlite3 curl /usr/bin/gunicorn; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (make test's bootstrap installs it)" >&2; exit 2; }
done
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
workers=${WORKERS:-4}
port=${PORT:-18190}
export PACE_MS=${PACE_MS:-40-80}
base=http://127.0.0.1:$port
modes=(off sync queue selective evlog)
# A Williams design for five modes: ten orders; each mode runs once in each position in five of
# them, and right after each other mode exactly twice in all ten.
orders=(01423 12034 23140 34201 40312 32410 43021 04132 10243 21304)
workloads=(page_load_paced page_load task_complete)
load=$root/examples/classroom/load  # the wrk scripts, shared with the C++ app (same routes)

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../classroom/load/rounds_lib.sh
source "$load/rounds_lib.sh"  # median, paired_ratio, paced_interval

export PYTHONPATH=$here:$evlog_path
/usr/bin/python3 -m flask_classroom seed --database "$work/seed.db" >/dev/null


declare -A runs  # mode,workload,field -> the values of every round, space-separated
declare -A answered_total lost_total
failed=0
for ((round = 1; round <= rounds; round++)); do
  order=${orders[(round - 1) % ${#orders[@]}]}
  for ((i = 0; i < ${#modes[@]}; i++)); do
    mode=${modes[${order:i:1}]}
    db=$work/$mode-$round.db
    cp "$work/seed.db" "$db"
    CLASSROOM_DATABASE=$db CLASSROOM_LOGGING=$mode /usr/bin/gunicorn -w "$workers" \
      -b "127.0.0.1:$port" --chdir "$here" 'flask_classroom:create_app()' >"$work/$mode.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
      curl -s -o /dev/null "$base/login" && break
      sleep 0.05
    done
    cookie=$(curl -s -D - -o /dev/null -d 'username=student1&password=classroom' "$base/login" |
             sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p' | tr -d '\r')
    [[ -n $cookie ]] || { echo "$mode: could not log in:" >&2; cat "$work/$mode.log" >&2; exit 1; }
    answered=1  # the login
    for workload in "${workloads[@]}"; do
      if ((warmup > 0)); then
        line=$(COOKIE=$cookie wrk -t"$threads" -c"$connections" -d"${warmup}s" \
                 -s "$load/$workload.lua" "$base" | grep '^RESULT')
        read -r _ _ _ errors requests <<<"${line#RESULT }"
        answered=$((answered + requests))
        ((errors == 0)) || { echo "  ($errors wrk errors in the warm-up)" >&2; failed=1; }
      fi
      line=$(COOKIE=$cookie wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
               -s "$load/$workload.lua" "$base" | grep '^RESULT')
      read -r p50 p99 rps errors requests <<<"${line#RESULT }"
      answered=$((answered + requests))
      runs[$mode,$workload,p50]+="$p50 "
      runs[$mode,$workload,p99]+="$p99 "
      runs[$mode,$workload,rps]+="$rps "
      echo "round $round, $mode, $workload: p50 $p50 ms, p99 $p99 ms, $rps req/s, $errors errors"
      if ((errors > 0)); then
        echo "  ($errors wrk errors: connect/read/write/timeout or a status other than 2xx/3xx)" >&2
        failed=1
      fi
    done
    kill -TERM "$server_pid"
    if ! wait "$server_pid"; then
      echo "gunicorn ($mode) exited with an error:" >&2
      cat "$work/$mode.log" >&2
      exit 1
    fi
    server_pid=
    rows=$(sqlite3 "$db" 'SELECT COUNT(*) FROM analytics_events')
    if [[ $mode == off ]]; then
      lost=0
    else
      lost=$((answered > rows ? answered - rows : 0))
    fi
    answered_total[$mode]=$((${answered_total[$mode]:-0} + answered))
    lost_total[$mode]=$((${lost_total[$mode]:-0} + lost))
    echo "  $mode: $answered events answered, $rows rows in the table, $lost lost"
    if [[ $mode == evlog ]] && ((lost > 0)); then
      echo "  evlog LOST $lost events" >&2
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
echo "Medians over $rounds rounds (gunicorn -w $workers, $connections connections, ${duration} s per run, PACE_MS $PACE_MS):"
echo
echo "| CLASSROOM_LOGGING | paced page load p50 (ms) | p99 (ms) | req/s | saturated page load req/s | p99 (ms) | task_complete req/s | p99 (ms) | events answered | lost |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in "${modes[@]}"; do
  lost=${lost_total[$mode]}
  [[ $mode == off ]] && lost="—"
  echo "| $mode | ${med[$mode,page_load_paced,p50]} | ${med[$mode,page_load_paced,p99]} |" \
       "${med[$mode,page_load_paced,rps]} | ${med[$mode,page_load,rps]} |" \
       "${med[$mode,page_load,p99]} | ${med[$mode,task_complete,rps]} |" \
       "${med[$mode,task_complete,p99]} | ${answered_total[$mode]} | $lost |"
done
echo
read -r low high <<<"$(paced_interval)"
awk -v lost="${lost_total[evlog]}" -v rounds="$rounds" -v low="$low" -v high="$high" \
    -v so="${med[off,page_load,rps]}" -v ss="${med[sync,page_load,rps]}" \
    -v se="${med[evlog,page_load,rps]}" \
    -v ts="${med[sync,task_complete,rps]}" -v tl="${med[selective,task_complete,rps]}" \
    -v te="${med[evlog,task_complete,rps]}" \
    -v ps="${med[sync,task_complete,p99]}" -v pl="${med[selective,task_complete,p99]}" \
    -v pe="${med[evlog,task_complete,p99]}" \
    -v qe="${med[evlog,page_load_paced,p99]}" -v qo="${med[off,page_load_paced,p99]}" 'BEGIN {
  verdict = "met"
  printf "evlog lost %d events in %d rounds (target 0): %s\n", lost, rounds, (lost == 0) ? "met" : "MISSED"
  printf "saturated page load, evlog req/s / off: %.2f (target >= 0.95): %s\n", se / so,
         (se >= 0.95 * so) ? "met" : "MISSED"
  printf "saturated page load, evlog req/s / sync: %.2f (target >= 1.5): %s\n", se / ss,
         (se >= 1.5 * ss) ? "met" : "MISSED"
  printf "task_complete, evlog req/s / sync: %.2f (target >= 1.5): %s\n", te / ts,
         (te >= 1.5 * ts) ? "met" : "MISSED"
  printf "task_complete, evlog req/s / selective: %.2f (target >= 1.3): %s\n", te / tl,
         (te >= 1.3 * tl) ? "met" : "MISSED"
  printf "task_complete p99, evlog %.1f ms, sync %.1f, selective %.1f (target: no worse than either): %s\n",
         pe, ps, pl, (pe <= ps && pe <= pl) ? "met" : "MISSED"
  printf "paced page-load p99, evlog / off: %.3f (target <= 1.15): %s\n", qe / qo,
         (qe <= 1.15 * qo) ? "met" : "MISSED"
  if (rounds < 4) {
    printf "  (too few rounds, %d, for an interval over the rounds)\n", rounds
  } else {
    printf "  95 %% interval over the rounds (paired bootstrap): %.3f to %.3f%s\n", low, high,
           (low <= 1.15 && high > 1.15) ? ": spans 1.15, so this run does not settle it" : ""
  }
}'
echo "paced page-load p99 against off's in the same round, median over the rounds: evlog $(paired_ratio evlog)"
exit "$failed"
