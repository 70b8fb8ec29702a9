#!/bin/sh
# Every C++ file of the repository is as clang-format (.clang-format) would write it; `make format`
# rewrites them. Usage: scripts/check_format.sh [CLANG_FORMAT] (run from anywhere).
set -eu
clang_format=${1:-clang-format}
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.hpp')
else
  files=$(find . -path ./build -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print)
fi
# shellcheck disable=SC2086  # one word per file name; the repository's names have no spaces
"$clang_format" --dry-run -Werror $files
echo "format: $(echo "$files" | wc -l) files as clang-format writes them"
