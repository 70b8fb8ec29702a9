#!/usr/bin/env bash
# Builds and runs every test: a normal (optimised) build, then AddressSanitizer + UBSan, then
# ThreadSanitizer. Stops at the first failing configuration.
#   EVLOG_CONFIGS="release asan tsan"  which configurations to run (default: all three)
#   EVLOG_SOAK_SECONDS (150), EVLOG_FUZZ_SECONDS (45 per target): the bounded soak and fuzz runs
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
configs=${EVLOG_CONFIGS:-release asan tsan}
start=$SECONDS

# A throwaway PostgreSQL server for the PostgreSQL suites, stopped on exit (also on failure).
# If it cannot start, the run fails: PostgreSQL tests are never skipped.
pg_dir=$(mktemp -d /tmp/evlog-pg.XXXXXX)
trap 'scripts/pg_server.sh stop "$pg_dir"' EXIT
echo "=== starting a throwaway PostgreSQL server"
eval "$(scripts/pg_server.sh start "$pg_dir")"

run_config() {
  local preset=$1
  echo "=== [$preset] configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build "build/$preset" -j"$jobs"
  # The soak runs once, on its own, in the release configuration (below); the memory check
  # (`bench`) measures RSS, which the sanitizers' shadow memory would only distort.
  local exclude=(-LE 'soak')
  case $preset in
    release) export EVLOG_TEST_SCALE=1 ;;
    # GCC 12's libasan installs no fork handlers: a child can inherit its allocator locked by
    # another thread and hang (docs/testing.md). The Python fork suite forks four children while
    # the writer and the interpreter allocate (PYTHONMALLOC=malloc); it runs in the release
    # configuration only. The C++ fork tests, which fork at quiet moments, run here too.
    asan) export EVLOG_TEST_SCALE=0.2; exclude=(-LE 'soak|bench|e2e' -E '^python_test_fork$') ;;
    # ThreadSanitizer does not support threads started after fork(): tests that fork are
    # labelled `fork` and run in the other two configurations.
    tsan) export EVLOG_TEST_SCALE=0.1; exclude=(-LE 'soak|bench|fork') ;;
  esac
  echo "=== [$preset] test"
  ctest --preset "$preset" -j"$jobs" --timeout 600 "${exclude[@]}"
  if [[ $preset == release ]]; then
    check_installed_package
    echo "=== [release] soak (R24) for ${EVLOG_SOAK_SECONDS:-150} s; scripts/soak.sh 600 runs it longer"
    scripts/soak.sh "${EVLOG_SOAK_SECONDS:-150}" build/release
    echo "=== fuzzing (R11), ${EVLOG_FUZZ_SECONDS:-45} s per target"
    scripts/fuzz.sh "${EVLOG_FUZZ_SECONDS:-45}"
  fi
}

# The installed library, headers and package config work for a user's own CMake project.
check_installed_package() {
  echo "=== [package] install, then build and run a program against the installed evlog"
  local prefix=build/install consumer=build/consumer
  rm -rf "$prefix" "$consumer"
  cmake --install build/release --prefix "$prefix" >/dev/null
  test -x "$prefix/bin/evlog"
  cmake -S examples/find_package -B "$consumer" -DCMAKE_PREFIX_PATH="$PWD/$prefix" >/dev/null
  cmake --build "$consumer" -j"$jobs" >/dev/null
  local db
  db=$(mktemp -d)/consumer.db
  "$consumer/hello_evlog" "$db"
  rm -rf "$(dirname "$db")"
  echo "=== [package] the Python package: cmake --install and pip install ."
  scripts/check_python_install.sh build/release
  echo "=== [package] a plain Release build, a subproject, a SQLite-only install"
  scripts/check_builds.sh build
}

for config in $configs; do
  run_config "$config"
done
echo "=== all configurations passed in $((SECONDS - start)) s"
