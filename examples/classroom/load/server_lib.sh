# Sourced by load_test.sh and server_cost.sh (not run on its own). Needs $bin (evlog-classroom),
# $port and $base set. Gives $work, a temporary directory removed at exit with any server still
# running, and start_server.

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_server DATABASE MODE LOG [ARGS...]: serves DATABASE on 127.0.0.1:$port with --logging
# MODE (stdout and stderr to LOG), waits until it answers, and logs in as student1. Sets
# $server_pid and $cookie (the session cookie, NAME=VALUE).
start_server() {
  local database=$1 mode=$2 log=$3
  shift 3
  "$bin" serve --database "$database" --host 127.0.0.1 --port "$port" --logging "$mode" "$@" \
    >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "$base/login" && break
    sleep 0.05
  done
  cookie=$(curl -s -D - -o /dev/null -d 'username=student1&password=classroom' "$base/login" |
           sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p' | tr -d '\r')
}
