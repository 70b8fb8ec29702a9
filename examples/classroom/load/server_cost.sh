#!/usr/bin/env bash
# What one workload costs the server, read from outside it:
#   examples/classroom/load/server_cost.sh path/to/evlog-classroom [MODE] [WORKLOAD]
# MODE: off|sync|async|evlog (default evlog); WORKLOAD: a script in this directory without .lua
# (default page_load). Starts a server on a fresh seeded database, runs WORKLOAD for 2 s
# unmeasured, then for DURATION seconds (5) with 32 connections, and prints:
#   - wrk's p50/p99 and requests/s;
#   - the server's CPU time per request (utime + stime from /proc/PID/stat over the run), and the
#     part of it spent by evlog's writer thread (named evlog-writer; how much of that in the
#     kernel) in the modes that have one;
#   - the kernel's TCP counters over the run (nstat): accept-queue overflows and retransmission
#     timeouts, which show a listen backlog too small for the connections opened at once.
# Needs wrk and curl; nstat (iproute2) is used when present.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: $0 path/to/evlog-classroom [MODE] [WORKLOAD]}
mode=${2:-evlog}
workload=${3:-page_load}
duration=${DURATION:-5}
port=${PORT:-18095}
base=http://127.0.0.1:$port
[[ -f $here/$workload.lua ]] || { echo "no workload $workload in $here" >&2; exit 2; }

# shellcheck source=server_lib.sh
source "$here/server_lib.sh"

"$bin" seed --database "$work/app.db" >/dev/null
start_server "$work/app.db" "$mode" "$work/server.log"
export COOKIE=$cookie

# utime + stime of the whole process, in clock ticks (fields 14 and 15 after the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$server_pid/stat" | awk '{print $12 + $13}'; }
# utime and stime of the thread named evlog-writer; nothing without one.
writer_ticks() {
  local task
  for task in "/proc/$server_pid"/task/*; do
    if [[ $(cat "$task/comm" 2>/dev/null) == evlog-writer ]]; then
      sed 's/.*) //' "$task/stat" | awk '{print $12, $13}'
      return
    fi
  done
}

wrk -t2 -c32 -d2s -s "$here/$workload.lua" "$base" >/dev/null
have_nstat=false
if command -v nstat >/dev/null; then have_nstat=true; nstat -n >/dev/null; fi
t0=$(cpu_ticks)
w0=$(writer_ticks)
line=$(wrk -t2 -c32 -d"${duration}s" --latency -s "$here/$workload.lua" "$base" | grep '^RESULT')
t1=$(cpu_ticks)
w1=$(writer_ticks)
read -r p50 p99 rps errors _ <<<"${line#RESULT }"
echo "$mode $workload: p50 $p50 ms, p99 $p99 ms, $rps req/s, $errors errors"
awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$duration" 'BEGIN {
  printf "server CPU: %.2f s in %s s, %.1f us per request\n", t / hz, d, t / hz * 1e6 / (r * d) }'
if [[ -n $w0 && -n $w1 ]]; then
  read -r wu0 ws0 <<<"$w0"
  read -r wu1 ws1 <<<"$w1"
  awk -v u=$((wu1 - wu0)) -v s=$((ws1 - ws0)) -v hz="$(getconf CLK_TCK)" -v r="$rps" \
      -v d="$duration" 'BEGIN {
    t = u + s
    printf "  of which the evlog-writer thread: %.2f s (%.0f %% in the kernel), %.1f us per request\n",
           t / hz, (t > 0) ? 100 * s / t : 0, t / hz * 1e6 / (r * d) }'
fi
if $have_nstat; then
  nstat 2>/dev/null | awk '
    /^TcpExtListenOverflows/ {o = $2} /^TcpExtTCPTimeouts/ {t = $2}
    END {printf "TCP over the run: %d accept-queue overflows, %d retransmission timeouts\n", o, t}'
fi
