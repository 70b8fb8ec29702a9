#!/usr/bin/env bash
# R8 and what durability=full syncs. strace shows the order of the syscalls:
#   one:   with `full`, an fsync/fdatasync of the -wal file falls between the start of a committed
#          log() call and its acknowledgement; with `normal`, none does (the WAL is synced at
#          checkpoints only, the documented trade-off).
#   async: with `full`, 20 commits that hold only async events make no sync of the -wal file (the
#          load stays below SQLite's automatic checkpoint, so there is none to exclude).
#   mixed: with `full`, 20 async-only commits and 20 committed calls make at most one WAL sync per
#          committed call, and every committed call is answered after a WAL sync.
set -euo pipefail
probe=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

between() {  # the trace lines between the write(2) calls of markers $2 and $3
  awk -v from="$2" -v to="$3" '$0 ~ from {on=1; next} $0 ~ to {on=0} on' "$1"
}
wal_syncs() { grep -cE 'f(data)?sync\([0-9]+<[^>]*-wal>' || true; }

trace() {  # trace LEVEL LOAD: runs the probe under strace, leaves $dir/LEVEL-LOAD.trace
  local db="$dir/$1-$2.db"
  # LeakSanitizer cannot run under ptrace: in the ASan build the probe runs without it.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -y -qq -e trace=fsync,fdatasync,write,pwrite64 -o "$dir/$1-$2.trace" \
    "$probe" "$db" "$1" "$2" >/dev/null
}
fail() { echo "FAIL: $1"; cat "$2"; exit 1; }

passed=0
for level in full normal; do
  trace "$level" one
  t="$dir/$level-one.trace"
  grep -q 'ACKNOWLEDGED' "$t" || fail "no acknowledgement in the $level trace" "$t"
  syncs=$(between "$t" BEFORE_COMMITTED_LOG ACKNOWLEDGED | wal_syncs)
  echo "durability=$level, one committed call: $syncs WAL sync(s) before its acknowledgement"
  [[ $level == full && $syncs -lt 1 ]] && fail "durability=full acknowledged without syncing the WAL" "$t"
  [[ $level == normal && $syncs -ne 0 ]] && fail "durability=normal synced the WAL on commit" "$t"
  passed=$((passed + 1))
done

trace full async
t="$dir/full-async.trace"
grep -q 'LOAD_END' "$t" || fail "the async load did not finish" "$t"
load=$(between "$t" LOAD_BEGIN LOAD_END)
writes=$(grep -cE 'pwrite64\([0-9]+<[^>]*-wal>' <<<"$load" || true)
syncs=$(wal_syncs <<<"$load")
echo "durability=full, async-only load: $writes WAL writes, $syncs WAL sync(s)"
[[ $writes -ge 20 ]] || fail "the async load wrote fewer than 20 WAL frames: nothing was measured" "$t"
[[ $syncs -eq 0 ]] || fail "commits holding only async events synced the WAL" "$t"
passed=$((passed + 1))

trace full mixed
t="$dir/full-mixed.trace"
grep -q 'LOAD_END' "$t" || fail "the mixed load did not finish" "$t"
calls=$(between "$t" LOAD_BEGIN LOAD_END | grep -c 'CALL' || true)
syncs=$(between "$t" LOAD_BEGIN LOAD_END | wal_syncs)
echo "durability=full, mixed load: $calls committed calls, $syncs WAL sync(s)"
[[ $calls -eq 20 ]] || fail "expected 20 committed calls in the trace, saw $calls" "$t"
[[ $syncs -le $calls ]] || fail "more WAL syncs ($syncs) than commits holding a committed event" "$t"
# Each CALL ... ACK span holds a WAL sync: the answer follows it.
unsynced=$(awk '/CALL/ {on=1; n=0; next}
                on && /f(data)?sync\([0-9]+<[^>]*-wal>/ {n++}
                /ACK/ && on {on=0; if (n == 0) bad++}
                END {print bad + 0}' "$t")
[[ $unsynced -eq 0 ]] || fail "$unsynced committed call(s) answered without a WAL sync" "$t"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
