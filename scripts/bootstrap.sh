#!/usr/bin/env bash
# Installs the Debian packages evlog needs to build and test, when they are missing.
# Idempotent: a machine that has them all runs no apt-get at all.
set -euo pipefail

packages=(
  build-essential cmake g++ clang libclang-rt-14-dev clang-format
  libsqlite3-dev sqlite3 libisal-dev
  libpq-dev postgresql
  libcurl4-openssl-dev clickhouse-server zookeeper
  libsimdjson-dev libcli11-dev libcpp-httplib-dev libmicrohttpd-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev
  strace util-linux
  libssl-dev chromium wrk curl
  python3 python3-dev pybind11-dev python3-pytest
  python3-venv python3-pip python3-setuptools python3-wheel python3-flask gunicorn procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
