#!/usr/bin/env bash
# `evlog bench postgres` as a person runs it against a server: it exits 0, every round wrote every
# event on both sides (the command checks the row counts itself and exits non-zero otherwise), the
# --json file holds each round and the median, and its tables are gone afterwards. The figures
# themselves are not judged here: a shared machine makes any threshold flaky.
set -euo pipefail
evlog=$1
fail() { echo "FAIL: $*"; exit 1; }
[[ -n ${EVLOG_TEST_PG:-} ]] || fail "EVLOG_TEST_PG is not set: run through make test"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

out=$("$evlog" bench postgres --database "$EVLOG_TEST_PG" --events 5000 --rounds 2 \
  --json "$dir/pg.json" 2>&1) || fail "exited non-zero: $out"
echo "$out"
grep -q 'evlog wrote the events at [0-9]*% of the rate of a raw COPY' <<<"$out" || fail "no summary line"
# Read back with the server's own JSON functions: one false (or no row) fails.
checks=$(psql "$EVLOG_TEST_PG" -At -v j="$(cat "$dir/pg.json")" <<'SQL'
SELECT (d->>'bench') = 'postgres' AND (d->>'events')::int = 5000
       AND jsonb_array_length(d->'rounds') = 2 AND (d->>'median_ratio')::float > 0
FROM (SELECT :'j'::jsonb AS d) doc
UNION ALL
SELECT (r#>>'{raw_copy,rows}')::int = 5000 AND (r#>>'{evlog,rows}')::int = 5000
       AND (r#>>'{evlog,written}')::int = 5000 AND (r#>>'{evlog,batches}')::int >= 2
       AND (r->>'ratio')::float > 0
FROM jsonb_array_elements((SELECT :'j'::jsonb)->'rounds') r;
SQL
) || fail "the --json file cannot be read: $checks"
[[ $(tr -d '\n' <<<"$checks") == ttt ]] || fail "the --json file is not what it should be: $checks"
left=$(psql "$EVLOG_TEST_PG" -Atc "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_pg_%'")
[[ $left == 0 ]] || fail "$left bench tables left behind"
echo "bench postgres: 2 rounds, 5,000 events per side, counts and --json checked"
