#!/usr/bin/env bash
# `evlog bench commit` as a person runs it: it exits 0 (the command checks its own row counts and
# exits non-zero when a side lost or doubled a row), prints its verdict lines, and the --json file
# holds every cell with the figures the README's table shows: events/s, mean and percentiles, and
# the fewest and most calls a thread made. The figures themselves are not judged here: a shared
# machine makes any threshold flaky.
set -euo pipefail
evlog=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

out=$("$evlog" bench commit --database "$dir/bench.db" --seconds 1 --threads 1 3 \
  --json "$dir/commit.json" 2>&1) || fail "exited non-zero: $out"
echo "$out"
grep -q 'calls/thread' <<<"$out" || fail "no calls/thread column"
# Read the file back with SQLite's JSON functions: every row of the result must be 1.
checks=$(sqlite3 :memory: -cmd ".parameter set :j '$(tr -d '\n' <"$dir/commit.json")'" "
  SELECT json_extract(:j, '$.bench') = 'commit' AND json_array_length(:j, '$.cells') = 4;
  SELECT s.key IN ('sync_per_event', 'evlog_group_commit')
         AND json_extract(s.value, '$.events_per_s') > 0
         AND json_extract(s.value, '$.mean_ns') > 0
         AND json_extract(s.value, '$.latency.p50_ns') > 0
         AND json_extract(s.value, '$.fewest_calls_per_thread') >= 1
         AND json_extract(s.value, '$.fewest_calls_per_thread')
             <= json_extract(s.value, '$.most_calls_per_thread')
         AND (json_extract(c.value, '$.threads') > 1
              OR json_extract(s.value, '$.fewest_calls_per_thread')
                 = json_extract(s.value, '$.most_calls_per_thread'))
         AND json_extract(s.value, '$.rows') > 0
  FROM json_each(:j, '$.cells') c, json_each(c.value) s
  WHERE s.key IN ('sync_per_event', 'evlog_group_commit');
  SELECT json_extract(c.value, '$.evlog_group_commit.rows')
         = json_extract(c.value, '$.evlog_group_commit.written')
  FROM json_each(:j, '$.cells') c;") || fail "the --json file cannot be read: $checks"
expected=$(printf '1%.0s' $(seq 13))  # the document, 8 sides, 4 cells
[[ $(tr -d '\n' <<<"$checks") == "$expected" ]] || fail "the --json file is not what it should be: $checks"
echo "bench commit: 4 cells, both sides' counts and --json checked"
