#!/usr/bin/env bash
# `evlog inspect` and `evlog replay` as a person runs them on what a crashed process left:
#   - inspect lists every record of a good spill file and exits 0;
#   - inspect reports a flipped byte with its offset and exits non-zero;
#   - replay writes every event of the files no live process holds, exactly once, deletes them,
#     and exits 0; a second replay finds nothing and writes nothing twice.
set -euo pipefail
evlog=$1
probe=$2
n=500
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db=$dir/app.db
fail() { echo "FAIL: $*"; exit 1; }

"$probe" "$db" "$dir/spill" "$n" >/dev/null
files=("$dir"/spill/spill-*.evs)
[[ -e ${files[0]} ]] || fail "the probe left no spill file"

records=0
for f in "${files[@]}"; do
  out=$("$evlog" inspect "$f") || fail "inspect exited non-zero on a good file: $out"
  records=$((records + $(grep -c ' left ' <<<"$out" || true)))
done
((records == n)) || fail "inspect listed $records records, expected $n"
echo "inspect: $n records in ${#files[@]} file(s), exit 0"

# A copy with one byte flipped in the middle of the first file's records.
mkdir "$dir/corrupt"
cp "${files[0]}" "$dir/corrupt/bad.evs"
size=$(stat -c %s "$dir/corrupt/bad.evs")
offset=$((size / 2))
printf '\xff' | dd of="$dir/corrupt/bad.evs" bs=1 seek="$offset" conv=notrunc status=none
if out=$("$evlog" inspect -q "$dir/corrupt/bad.evs"); then
  fail "inspect exited 0 on a corrupt file: $out"
fi
grep -q '^corrupt: offset [0-9]' <<<"$out" || fail "inspect did not report the corrupt span: $out"
echo "inspect: corrupt file reported ($(grep '^corrupt' <<<"$out" | head -1)), exit non-zero"

out=$("$evlog" replay --spill-dir "$dir/spill" --database "$db" 2>&1) || fail "replay exited non-zero: $out"
rows=$(sqlite3 "$db" "SELECT count(*), count(DISTINCT event_id), count(DISTINCT user_id) FROM analytics_events WHERE event_type = 'left'")
[[ $rows == "$n|$n|$n" ]] || fail "after replay the table has count|ids|users = $rows, expected $n|$n|$n ($out)"
left=$(find "$dir/spill" -name 'spill-*.evs' | wc -l)
((left == 0)) || fail "$left spill file(s) left after replay"
echo "replay: $n rows, no duplicate, spill files deleted, exit 0"

"$evlog" replay --spill-dir "$dir/spill" --database "$db" >/dev/null 2>&1 || fail "second replay failed"
rows=$(sqlite3 "$db" "SELECT count(*) FROM analytics_events WHERE event_type = 'left'")
((rows == n)) || fail "a second replay changed the table: $rows rows"
echo "1 passed, 0 failed"
