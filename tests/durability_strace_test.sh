#!/usr/bin/env bash
# R8: committed delivery acknowledges only after the commit, and with durability=full only after
# the WAL is synced. strace shows the order of the syscalls: with `full`, an fsync/fdatasync of
# the -wal file falls between the start of the committed log() call and its acknowledgement; with
# `normal`, none does (the WAL is synced at checkpoints only — the documented trade-off).
set -euo pipefail
probe=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

between_markers() {  # the trace lines between the two markers' write(2) calls
  awk '/BEFORE_COMMITTED_LOG/ {on=1; next} /ACKNOWLEDGED/ {on=0} on' "$1"
}

for level in full normal; do
  db="$dir/$level.db"
  # LeakSanitizer cannot run under ptrace: in the ASan build the probe runs without it.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -y -qq -e trace=fsync,fdatasync,write -o "$dir/$level.trace" "$probe" "$db" "$level" \
    >/dev/null
  grep -q 'ACKNOWLEDGED' "$dir/$level.trace" || { echo "no acknowledgement in the $level trace"; exit 1; }
  syncs=$(between_markers "$dir/$level.trace" | { grep -cE 'f(data)?sync\([0-9]+<[^>]*-wal>' || true; })
  echo "durability=$level: $syncs WAL sync(s) between the call and its acknowledgement"
  if [[ $level == full && $syncs -lt 1 ]]; then
    echo "FAIL: durability=full acknowledged without syncing the WAL"; cat "$dir/$level.trace"; exit 1
  fi
  if [[ $level == normal && $syncs -ne 0 ]]; then
    echo "FAIL: durability=normal synced the WAL on commit"; cat "$dir/$level.trace"; exit 1
  fi
done
echo "1 passed, 0 failed"
