#!/usr/bin/env bash
# bench/syscalls.sh — system calls per 1,000,000 log() calls: runs the paced single-thread latency
# cell (10,000 calls/s, 44-byte metadata, busy-wait pacing, writer draining into SQLite, no spdlog)
# under `strace -c -f` and prints futex calls, and all calls, per 1 M events. The count covers
# every thread of the process: the writer's own waits and SQLite's I/O included. The cell paces one
# thread at 10,000 calls/s, so calls / 10,000 is the run's length in seconds.
# Usage: bench/syscalls.sh [path/to/evlog] [calls]   (defaults: build/release/evlog, 200000)
# Not part of `make test` (it takes calls / 10,000 seconds, 20 s by default).
set -euo pipefail
evlog=${1:-build/release/evlog}
calls=${2:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

strace -c -f -o "$work/strace.txt" "$evlog" bench latency --modes paced --producers 1 \
  --metadata 44 --paced-calls "$calls" --no-spdlog --database "$work/syscalls.db" >"$work/out.txt"
grep -E '^(mode|paced)' "$work/out.txt" | cut -c1-80
echo "top system calls, every thread (strace -c -f):"
sed -n '3,10p' "$work/strace.txt"
awk -v calls="$calls" '
  $NF == "futex" { futex = $4 }
  $NF == "total" { total = $4 }
  END {
    printf "log() calls: %d\n", calls
    printf "futex calls: %d in all, %.0f per 1,000,000 events, %.0f a second of the run\n", \
      futex, futex * 1e6 / calls, futex / (calls / 10000)
    printf "all system calls: %d in all, %.0f per 1,000,000 events\n", total, total * 1e6 / calls
  }' "$work/strace.txt"
