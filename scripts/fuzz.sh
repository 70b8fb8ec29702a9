#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs each for a bounded
# time from its seed corpus in fuzz/corpus/<target>/. Fails on a crash, a leak, a timeout or a
# failed check; the input that did it is left in the work directory and printed.
#   scripts/fuzz.sh [SECONDS]   time per target (default 60)
#   EVLOG_FUZZ_DIR=DIR          where to build and keep new inputs (default: a fresh temp dir,
#                               removed at the end unless a target failed)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if [[ -n ${EVLOG_FUZZ_DIR:-} ]]; then
  work=$EVLOG_FUZZ_DIR
  mkdir -p "$work"
  own_work=false
else
  work=$(mktemp -d -t evlog-fuzz-XXXXXX)
  own_work=true
fi
cxx=${CXX_FUZZ:-clang++}
# shellcheck disable=SC2054  # the commas belong to -fsanitize=, not array separators
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer -Iinclude -Isrc)

echo "=== building fuzz targets in $work"
"$cxx" "${flags[@]}" fuzz/spill_reader_fuzz.cpp src/spill/spill_reader.cpp \
  src/spill/spill_format.cpp src/spill/crc32c.cpp src/core/payload_pool.cpp -lisal \
  -o "$work/spill_reader_fuzz"
"$cxx" "${flags[@]}" fuzz/metadata_fuzz.cpp src/core/validate.cpp -lsimdjson \
  -o "$work/metadata_fuzz"

status=0
for target in spill_reader metadata; do
  echo "=== fuzzing $target for ${seconds} s"
  mkdir -p "$work/$target-corpus" "$work/$target-artifacts"
  # New inputs go to the work directory; the seed corpus in the repository is only read.
  if ! "$work/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$target-artifacts/" \
      "$work/$target-corpus" "fuzz/corpus/$target" >"$work/$target.log" 2>&1; then
    status=1
    echo "!!! $target failed; the end of its log ($work/$target.log):"
    tail -40 "$work/$target.log"
    ls -l "$work/$target-artifacts/"
  else
    grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)" "$work/$target.log" || true
    echo "=== $target: no crash, no leak"
  fi
done
if [[ $status == 0 && $own_work == true ]]; then
  rm -rf "$work"
fi
exit $status
