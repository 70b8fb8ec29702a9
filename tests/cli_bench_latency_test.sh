#!/usr/bin/env bash
# `evlog bench latency` plans its cells from --modes, --producers and --metadata. The sleep-paced
# cell exists only with 1 producer and 44 B of metadata (or the only size given): asked for without
# them it must say so rather than print a table without it. Figures are not judged here.
set -euo pipefail
evlog=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { "$evlog" bench latency --no-spdlog --calls 1000 --paced-calls 1000 --database "$dir/b.db" "$@" 2>&1; }

out=$(run --producers 2 --modes sleep tight --metadata 17) || fail "exited non-zero: $out"
echo "$out"
grep -q '^sleep: no cell' <<<"$out" || fail "no note that the sleep cell was left out"
grep -qE '^tight +2 +17 ' <<<"$out" || fail "no tight cell for 2 producers, 17 B"
grep -qE '^sleep +[0-9]' <<<"$out" && fail "a sleep cell with 2 producers"

out=$(run --producers 1 2 --modes sleep --metadata 44 100) || fail "exited non-zero: $out"
echo "$out"
grep -qE '^sleep +1 +44 ' <<<"$out" || fail "no sleep cell for 1 producer, 44 B"
[[ $(grep -cE '^sleep +[0-9]' <<<"$out") == 1 ]] || fail "more than the one sleep cell"
grep -q '^sleep: no cell' <<<"$out" && fail "a note although the sleep cell ran"
echo "PASS"
