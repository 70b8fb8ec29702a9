#!/usr/bin/env bash
# The two ways a user installs the Python package, each checked by using it from outside the
# source tree with Debian's /usr/bin/python3:
#   1. `cmake --install` of a build: under PREFIX/<the interpreter's site directory>, which for
#      the default prefix /usr/local is /usr/local/lib/python3.11/dist-packages, a directory
#      /usr/bin/python3 searches; with another prefix, PYTHONPATH finds it.
#   2. `pip install --no-build-isolation .` into a virtual environment that sees Debian's
#      packages (no package index is reached).
# Both must install the same files.
#   scripts/check_python_install.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: $0 BUILD_DIR}
python=/usr/bin/python3
work=$(mktemp -d /tmp/evlog-pyinstall.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# What a program does with the installed package: log, commit, flush, read back.
use_it() {
  local interpreter=$1 db=$work/use-$RANDOM.db
  (cd "$work" && "$interpreter" - "$db" <<'PY'
import sqlite3, sys, evlog
with evlog.Logger(sys.argv[1], critical_types={"task_complete"}) as logger:
    assert logger.log("page_view", 1, "student", {"path": "/"}).ok
    assert logger.log("task_complete", 1, "student").outcome == "committed"
assert sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM analytics_events").fetchone()[0] == 2
print(evlog.__file__)
PY
  )
}

# 1. cmake --install into a prefix, then into the default prefix's layout (staged by DESTDIR).
rel=$(cmake -L -N "$build" | sed -n 's/^EVLOG_PYTHON_INSTALL_DIR:STRING=//p')
[[ $rel == lib/python3.*/dist-packages ]] || fail "Debian's python3 gets '$rel', not lib/python3.X/dist-packages"
cmake --install "$build" --prefix "$work/prefix" --component python >/dev/null
site=$work/prefix/$rel
ls "$site"/evlog/_evlog*.so >/dev/null || fail "no extension module under $site/evlog"
where=$(PYTHONPATH=$site use_it "$python") || fail "the package installed under $site does not work"
[[ $where == "$site/evlog/__init__.py" ]] || fail "imported $where, not the installed package"
echo "cmake --install: $site works"

DESTDIR=$work/stage cmake --install "$build" --prefix /usr/local --component python >/dev/null
default_site=/usr/local/$rel
[[ -f $work/stage$default_site/evlog/__init__.py ]] || fail "the default prefix does not give $default_site"
"$python" -c "import sys; sys.exit(0 if '$default_site' in sys.path else 1)" ||
  fail "$python does not search $default_site"
echo "cmake --install: the default prefix gives $default_site, which $python searches"

# 2. pip install . from a copy of the source tree (pip builds in the tree it is given).
mkdir "$work/src"
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$work/src"
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index "$work/src" >"$work/pip.log" 2>&1 ||
  { tail -40 "$work/pip.log" >&2; fail "pip install failed"; }
where=$(use_it "$work/venv/bin/python") || fail "the package pip installed does not work"
[[ $where == "$work/venv/lib/"*"/evlog/__init__.py" ]] || fail "imported $where, not pip's package"
pip_files=$(cd "$(dirname "$where")" && find . -type f ! -path '*/__pycache__/*' | sort)
cmake_files=$(cd "$site/evlog" && find . -type f ! -path '*/__pycache__/*' | sort)
[[ $pip_files == "$cmake_files" ]] ||
  fail "pip and cmake --install give different packages:"$'\n'"$pip_files"$'\n--\n'"$cmake_files"
echo "pip install .: $(dirname "$where") works, the same files as cmake --install"
