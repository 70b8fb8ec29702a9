#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests, on 127.0.0.1 and a free port.
#   scripts/pg_server.sh start DIR   initdb into DIR (as the unprivileged `postgres` user when run
#                                    as root), start it, create role `evlog` (password auth) and
#                                    database `evlog`; prints shell lines to eval:
#                                    EVLOG_TEST_PG (the app's URI, with its password),
#                                    EVLOG_TEST_PG_ADMIN (superuser over the socket), EVLOG_TEST_PG_DATA
#   scripts/pg_server.sh stop DIR    stops it (immediate) and removes DIR
# EVLOG_PG_FSYNC=on starts it with fsync=on (a server as it runs in production, for benchmarks
# and durability tests); the default is fsync=off, which keeps the tests fast.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $bin/initdb ]] || { echo "pg_server: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

as_owner() {  # run as the unprivileged owner of the data directory
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# Below the kernel's ephemeral range (32768+ by default), where connect() takes its local ports:
# a port in that range can be taken, while the server is down for a restart, by any outgoing
# connection (even a client's reconnect to this very port, connected to itself), and the server
# then cannot bind it again. Apart from 20000-31999, which scripts/clickhouse_server.sh uses.
free_port() {
  local port
  for port in $(seq 15432 15531); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "pg_server: no free port in 15432-15531" >&2
  exit 1
}

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case $cmd in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    port=$(free_port)
    fsync=${EVLOG_PG_FSYNC:-off}
    [[ $fsync == on || $fsync == off ]] || { echo "pg_server: EVLOG_PG_FSYNC must be on or off" >&2; exit 2; }
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
          -c fsync=$fsync -c max_connections=200" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE evlog LOGIN PASSWORD 'evlog-test-secret'" -c "CREATE DATABASE evlog OWNER evlog" >/dev/null
    echo "export EVLOG_TEST_PG='postgresql://evlog:evlog-test-secret@127.0.0.1:$port/evlog'"
    echo "export EVLOG_TEST_PG_ADMIN='host=$dir port=$port user=postgres dbname=evlog'"
    echo "export EVLOG_TEST_PG_DATA='$dir/data'"
    echo "export EVLOG_TEST_PG_BIN='$bin'"
    ;;
  stop)
    if [[ -d $dir/data ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
