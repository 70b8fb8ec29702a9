#!/usr/bin/env bash
# The hot path makes no system call in steady state: a request thread logging at a paced 10,000
# calls a second pays no futex wake per event (a sleeping writer is woken at most once per
# wake stride — a batch-worth of events — never per call) and no other system call at all.
# strace -f records every thread's calls; only the request thread's calls between its two
# markers count. The same trace shows the other side of the bargain: the writer, inserting a
# batch of a few hundred rows each tick, offers its core with sched_yield at least every 100 µs
# (the SQLite sink's kYieldEvery), so a request thread never waits behind a whole batch.
set -euo pipefail
probe=$1
calls=${2:-20000}
stride=4096  # the writer's wake stride with the default options (min(max_batch, capacity / 4))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

strace -f -qq -o "$dir/trace" "$probe" "$dir/hot.db" "$calls" >"$dir/out"
tid=$(sed -n 's/.*HOT_PATH_BEGIN tid=\([0-9]*\).*/\1/p' "$dir/out")
[[ -n $tid ]] || { echo "FAIL: the probe printed no marker"; cat "$dir/out"; exit 1; }
# The request thread's lines between its markers (strace -f prefixes each line with the tid).
# One line per call: "<... futex resumed>" ends a call strace printed as unfinished (another
# thread's line came between), and "--- SIG…" lines are signals, not calls.
awk -v tid="$tid" '
  $1 == tid && /HOT_PATH_BEGIN/ { on = 1; next }
  $1 == tid && /HOT_PATH_END/ { on = 0 }
  on && $1 == tid && $2 ~ /^[a-z_0-9]+\(/' "$dir/trace" >"$dir/hot"
total=$(wc -l <"$dir/hot")
futex=$(grep -c ' futex(' "$dir/hot" || true)
other=$((total - futex))
# A wake-up is one futex call (condition variable), or two when the writer holds the wake-up
# mutex at that moment (its unlock wakes us): at most two per stride crossed, and one spare.
allowed=$((2 * (calls / stride + 1)))
echo "$calls paced log() calls on thread $tid: $futex futex calls (at most $allowed allowed), $other other system calls (0 allowed)"
cat "$dir/out"
if ((other > 0 || futex > allowed)); then
  echo "FAIL: the hot path made system calls:"; head -50 "$dir/hot"; exit 1
fi
# The writer's batches (one a tick, max_delay / 2 = 50 ms, so about calls / 500 of them) each take
# well over 100 µs, under strace more so: at least one yield per batch.
yields=$(awk -v tid="$tid" '$1 != tid && $2 ~ /^sched_yield\(/' "$dir/trace" | wc -l)
batches=$((calls / 500))
echo "the writer yielded its core $yields times while inserting about $batches batches (at least $batches expected)"
if ((yields < batches)); then
  echo "FAIL: the writer inserted its batches without offering its core"; exit 1
fi
echo "1 passed, 0 failed"
