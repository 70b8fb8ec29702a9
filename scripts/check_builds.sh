#!/usr/bin/env bash
# The ways a user builds evlog, beside the project's own presets, each built and used:
#   1. plain:       cmake -DCMAKE_BUILD_TYPE=Release, no preset (so no -Werror), build what it
#                   installs, install
#   2. subproject:  examples/add_subdirectory adds evlog with add_subdirectory and without
#                   PostgreSQL or ClickHouse: only the library is built, and the program runs
#   3. SQLite-only: a library built without PostgreSQL or ClickHouse and installed; a consumer
#                   that cannot find libpq or libcurl at all still finds evlog (the package
#                   config asks only for what the build used)
#   scripts/check_builds.sh [BUILD_ROOT, default build]
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-build}
jobs=$(nproc)
work=$(mktemp -d /tmp/evlog-builds.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "--- plain Release build, no preset"
# Configured as a user does, with nothing but the build type; what it installs is built (the test
# and benchmark executables are built and run by the preset builds, which CI times).
cmake -S . -B "$root/plain" -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=(--target evlog evlog_cli evlog_classroom)
grep -q '^EVLOG_BUILD_PYTHON:BOOL=ON' "$root/plain/CMakeCache.txt" && targets+=(evlog_python)
cmake --build "$root/plain" -j"$jobs" "${targets[@]}" >"$work/plain.log" 2>&1 ||
  { tail -40 "$work/plain.log" >&2; fail "the plain build failed"; }
warnings=$(grep -c 'warning:' "$work/plain.log" || true)
grep -A4 'warning:' "$work/plain.log" | head -40 || true  # shown, not fatal: no -Werror here
cmake --install "$root/plain" --prefix "$work/plain-prefix" >/dev/null
for f in bin/evlog include/evlog/evlog.hpp lib/cmake/evlog/evlogConfig.cmake share/doc/evlog/LICENSE; do
  [[ -e $work/plain-prefix/$f ]] || fail "the plain install has no $f"
done
"$work/plain-prefix/bin/evlog" --help >/dev/null
echo "plain: built, installed, evlog --help runs ($warnings compiler warnings)"

echo "--- evlog as a subproject, without PostgreSQL or ClickHouse"
cmake -S examples/add_subdirectory -B "$root/subproject" -DCMAKE_BUILD_TYPE=Release \
  -DEVLOG_SOURCE_DIR="$PWD" >/dev/null
cmake --build "$root/subproject" -j"$jobs" >"$work/sub.log" 2>&1 || { tail -40 "$work/sub.log" >&2; fail "the subproject build failed"; }
for extra in evlog/evlog evlog/tests evlog/bench evlog/examples evlog/python; do
  [[ ! -e $root/subproject/$extra ]] || fail "a subproject build made $extra, not only the library"
done
grep -q "libpq" <(ldd "$root/subproject/subproject_app") && fail "the SQLite-only app links libpq"
grep -q "libcurl" <(ldd "$root/subproject/subproject_app") && fail "the SQLite-only app links libcurl"
"$root/subproject/subproject_app" "$work/sub.db"
echo "subproject: only the library and the app were built; no libpq, no libcurl"

echo "--- SQLite-only library, installed, found by a consumer that has no PostgreSQL"
cmake -S . -B "$root/sqlite-only" -DCMAKE_BUILD_TYPE=Release -DEVLOG_WITH_POSTGRES=OFF \
  -DEVLOG_WITH_CLICKHOUSE=OFF -DEVLOG_BUILD_TESTS=OFF -DEVLOG_BUILD_BENCH=OFF -DEVLOG_BUILD_TOOLS=OFF \
  -DEVLOG_BUILD_EXAMPLES=OFF -DEVLOG_BUILD_PYTHON=OFF >/dev/null
cmake --build "$root/sqlite-only" -j"$jobs" >/dev/null
cmake --install "$root/sqlite-only" --prefix "$work/sqlite-prefix" >/dev/null
cmake -S examples/find_package -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/sqlite-prefix" \
  -DCMAKE_DISABLE_FIND_PACKAGE_PostgreSQL=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_CURL=TRUE \
  --no-warn-unused-cli >/dev/null ||
  fail "a consumer without PostgreSQL or libcurl cannot find the SQLite-only evlog"
cmake --build "$work/consumer" -j"$jobs" >/dev/null
"$work/consumer/hello_evlog" "$work/consumer.db"
echo "SQLite-only: installed and found without PostgreSQL or libcurl"
