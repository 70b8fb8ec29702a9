#!/usr/bin/env bash
# Runs the soak (R24, tests/reliability/soak_test.cpp) for SECONDS (default 180), printing a
# sample of RSS, open descriptors and spill bytes every 5 s and a summary at the end.
#   scripts/soak.sh [SECONDS] [BUILD_DIR]   e.g. scripts/soak.sh 600 for ten minutes
# BUILD_DIR defaults to build/release; the soak_test target must be built there.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
build=${2:-build/release}
binary="$build/tests/reliability/soak_test"
if [[ ! -x $binary ]]; then
  echo "soak.sh: $binary not found; build the soak_test target first" >&2
  exit 2
fi
EVLOG_SOAK_SECONDS=$seconds "$binary" --gtest_color=no
