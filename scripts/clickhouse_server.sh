#!/usr/bin/env bash
# Throwaway ClickHouse 18.16 servers for the tests, on 127.0.0.1 and free ports (never 8123/9000,
# which a system service may hold), everything in DIR; run as root, the servers run as the
# unprivileged `clickhouse` user.
#   scripts/clickhouse_server.sh start DIR            one server; prints shell lines to eval:
#                                                     EVLOG_TEST_CLICKHOUSE (the app's URI),
#                                                     EVLOG_TEST_CLICKHOUSE_HTTP, _DIR
#   scripts/clickhouse_server.sh start-cluster DIR    a ZooKeeper (DIR/zk) and two servers (DIR/s1,
#                                                     DIR/s2): cluster `events` of two shards of one
#                                                     replica, macros {shard} 01/02 and {replica}
#                                                     r1, ON CLUSTER DDL; prints
#                                                     EVLOG_TEST_CLICKHOUSE_CLUSTER (URI on s1),
#                                                     EVLOG_TEST_CLICKHOUSE_S1_HTTP, _S2_HTTP,
#                                                     EVLOG_TEST_CLICKHOUSE_CLUSTER_DIR
#   scripts/clickhouse_server.sh stop-server SDIR     stops one server (SDIR: DIR, DIR/s1, DIR/s2);
#                                                     SIGTERM, SIGKILL after 5 s
#   scripts/clickhouse_server.sh restart-server SDIR  starts it again, same config and ports
#   scripts/clickhouse_server.sh stop DIR             stops all in DIR (s1, s2, then ZooKeeper) and
#                                                     removes DIR; succeeds on a half-started or
#                                                     stopped DIR, for use in a trap
set -euo pipefail

usage() {
  echo "usage: $0 start|start-cluster|stop-server|restart-server|stop DIR" >&2
  exit 2
}

die() {
  echo "clickhouse_server: $*" >&2
  exit 1
}

server_cmd=()
find_server() {
  local b
  for b in /usr/bin/clickhouse-server /usr/sbin/clickhouse-server; do
    [[ -x $b ]] && { server_cmd=("$b"); return; }
  done
  if b=$(command -v clickhouse-server); then
    server_cmd=("$b")
  elif b=$(command -v clickhouse); then
    server_cmd=("$b" server)
  else
    die "no clickhouse-server binary (apt-get install clickhouse-server)"
  fi
}

# The unprivileged owner of DIR that the servers run as. A command prefix rather than a function:
# a backgrounded function runs in a forked shell, and $! would be that shell's pid.
owner=
run_as=()
if [[ $(id -u) -eq 0 ]] && id clickhouse >/dev/null 2>&1; then
  owner=clickhouse
  run_as=(setpriv --reuid=clickhouse --regid=clickhouse --init-groups --)
fi

own() {  # own PATH...: hand what this script created in DIR to the servers' user
  [[ -z $owner ]] || chown -R "$owner:$owner" -- "$@"
}

free_ports() {  # free_ports N: N distinct ports nothing listens on, on one line
  local port tries=0 ports=()
  while ((${#ports[@]} < $1)); do
    ((++tries <= 500)) || die "no free ports found in 20000-31999"
    # Below the kernel's ephemeral range (32768+), where outgoing connections take their ports;
    # random, so that concurrent runs rarely collide. A server binds its ports only later, so
    # a port already chosen here still looks free.
    port=$((20000 + RANDOM % 12000))
    [[ " ${ports[*]} " == *" $port "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || ports+=("$port")
  done
  echo "${ports[*]}"
}

emit() {  # emit NAME VALUE: a line for eval, single-quoted
  local q="'\\''"
  printf "export %s='%s'\n" "$1" "${2//\'/$q}"
}

# A pid file can outlive its process and the pid be reused, so a process counts as ours only
# while its command line still names the file it was started with; and a zombie (reparented to a
# PID 1 that does not reap) has exited.
pid_running() {  # pid_running PID MARK
  local state
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

wait_gone() {  # wait_gone PID MARK SECONDS
  local deadline=$((SECONDS + $3))
  while pid_running "$1" "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# 18.16 can hang in its shutdown while a client keeps connecting (seen here: stuck for 15 s, then
# a segmentation fault in its own shutdown), so SIGKILL follows after 5 s.
stop_pid() {  # stop_pid PIDFILE MARK NAME: SIGTERM, wait, SIGKILL after 5 s; never fails
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  pid_running "$pid" "$2" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" "$2" 5 && return 0
  echo "clickhouse_server: $3 (pid $pid) still running 5 s after SIGTERM, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" "$2" 5 || true
}

wait_ready() {  # wait_ready PIDFILE MARK CHECK...: until CHECK succeeds, at most 30 s
  local pid deadline=$((SECONDS + 30))
  pid=$(cat "$1")
  until "${@:3}"; do
    # A server that exits at once (bad config, port taken) fails now, not in 30 s.
    pid_running "$pid" "$2" || return 1
    if ((SECONDS >= deadline)); then
      stop_pid "$1" "$2" "the server"
      return 1
    fi
    sleep 0.05
  done
}

http_ping() {  # http_ping PORT: the server answers GET /ping with "Ok."
  local reply
  reply=$(
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    timeout 2 cat <&3
  ) || return 1
  [[ $reply == *$'\r\n\r\nOk.'* ]]
}

# ZooKeeper answers `ruok` as soon as it runs, before it serves sessions; a ClickHouse server that
# starts then fails its first session, and 18.16 then crashes on its first ON CLUSTER statement
# (a NULL ZooKeeper handle in its DDL worker). `srvr` names the mode only once it serves.
zk_serving() {  # zk_serving PORT
  local reply
  reply=$(
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf srvr >&3
    timeout 2 cat <&3
  ) || return 1
  [[ $reply == *"Mode: standalone"* ]]
}

# The cluster works end to end: an ON CLUSTER statement through s1 runs on both servers. Run once
# at start, so that a cluster whose DDL worker did not come up is started again, not handed over.
cluster_ddl_works() {  # cluster_ddl_works HTTP_PORT
  local statement
  for statement in "CREATE DATABASE IF NOT EXISTS evlog_ready ON CLUSTER events" \
    "DROP DATABASE IF EXISTS evlog_ready ON CLUSTER events"; do
    curl -sS --fail-with-body --max-time 30 --data-binary "$statement" \
      "http://127.0.0.1:$1/" >/dev/null || return 1
  done
}

config_value() {  # config_value FILE TAG
  sed -n "s:.*<$2>\([^<]*\)</$2>.*:\1:p" "$1" | head -n 1
}

write_server_config() {  # write_server_config SDIR HTTP_PORT TCP_PORT [EXTRA_XML]
  local sdir=$1
  mkdir -p "$sdir/data" "$sdir/tmp" "$sdir/user_files" "$sdir/format_schemas" "$sdir/log"
  cat >"$sdir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$sdir/log/clickhouse-server.log</log>
        <errorlog>$sdir/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$2</http_port>
    <tcp_port>$3</tcp_port>
    <path>$sdir/data/</path>
    <tmp_path>$sdir/tmp/</tmp_path>
    <user_files_path>$sdir/user_files/</user_files_path>
    <format_schema_path>$sdir/format_schemas/</format_schema_path>
    <timezone>UTC</timezone>
    <!-- 18.16 has no default for it and exits with "Not found: mark_cache_size". The caches
         take memory only as they fill. -->
    <mark_cache_size>5368709120</mark_cache_size>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <max_concurrent_queries>200</max_concurrent_queries>
    <!-- On SIGTERM, 18.16 waits for every open connection to end by itself: an idle HTTP
         keep-alive connection lasts keep_alive_timeout (default 10 s), an idle native one (a
         Distributed table's, from the other server) until its poll_interval (default 10 s)
         runs out. Short ones keep stop-server to about a second. -->
    <keep_alive_timeout>1</keep_alive_timeout>
    <!-- Without users_config, users, profiles and quotas are read from this file. -->
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <profiles>
        <default>
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
${4:-}
</yandex>
EOF
}

node_xml() {  # node_xml INTERSERVER_PORT SHARD: what sets a cluster's server apart
  cat <<EOF
    <interserver_http_port>$1</interserver_http_port>
    <macros>
        <shard>$2</shard>
        <replica>r1</replica>
    </macros>
EOF
}

launch_server() {  # launch_server SDIR: start it in the background, keep its pid
  local sdir=$1
  # Only the shell knows the pid: 18.16 leaves its --pid-file empty. setpriv execs, so $! is the
  # server itself.
  "${run_as[@]}" "${server_cmd[@]}" --config-file="$sdir/config.xml" \
    </dev/null >>"$sdir/log/stdout.log" 2>&1 &
  echo $! >"$sdir/server.pid"
}

wait_server() {  # wait_server SDIR NAME
  local port
  port=$(config_value "$1/config.xml" http_port)
  wait_ready "$1/server.pid" "$1/config.xml" http_ping "$port" && return 0
  echo "clickhouse_server: $2 did not answer on 127.0.0.1:$port; its logs:" >&2
  cat "$1/log/clickhouse-server.err.log" "$1/log/stdout.log" >&2 2>/dev/null || true
  exit 1
}

prepare_dir() {  # prepare_dir DIR: an empty DIR the servers' user can write
  mkdir -p "$1"
  [[ -z $(ls -A "$1") ]] || die "$1 is not empty"
  own "$1"
  chmod 700 "$1"
  # The owner must also be able to reach DIR through its parents.
  "${run_as[@]}" test -w "$1" -a -x "$1" ||
    die "user ${owner:-$(id -un)} cannot write $1 (choose a DIR under /tmp)"
}

start_zookeeper() {  # start_zookeeper ZKDIR PORT
  local zkdir=$1 port=$2
  [[ -f /usr/share/java/zookeeper.jar ]] || die "no ZooKeeper (apt-get install zookeeper)"
  mkdir -p "$zkdir/data"
  cat >"$zkdir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$zkdir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
  own "$zkdir"
  # Debian's zkServer.sh runs QuorumPeerMain with zookeeper.jar, whose manifest lists the
  # libraries it needs; slf4j-simple (a dependency of the package) makes it log to stderr,
  # which would otherwise go nowhere.
  "${run_as[@]}" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -cp "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$zkdir/zoo.cfg" \
    </dev/null >"$zkdir/zookeeper.log" 2>&1 &
  echo $! >"$zkdir/zk.pid"
  wait_ready "$zkdir/zk.pid" "$zkdir/zoo.cfg" zk_serving "$port" && return 0
  echo "clickhouse_server: ZooKeeper did not answer on 127.0.0.1:$port; its log:" >&2
  cat "$zkdir/zookeeper.log" >&2 || true
  exit 1
}

stop_server() {  # stop_server SDIR
  stop_pid "$1/server.pid" "$1/config.xml" "clickhouse-server in $1"
}

start_single() {  # start_single DIR, in a subshell: exit 1 on failure
  local dir=$1 http tcp port_list
  port_list=$(free_ports 2)
  read -r http tcp <<<"$port_list"
  write_server_config "$dir" "$http" "$tcp"
  own "$dir"
  launch_server "$dir"
  wait_server "$dir" clickhouse-server
  emit EVLOG_TEST_CLICKHOUSE "clickhouse://default@127.0.0.1:$http/default"
  emit EVLOG_TEST_CLICKHOUSE_HTTP "http://127.0.0.1:$http"
  emit EVLOG_TEST_CLICKHOUSE_DIR "$dir"
}

start_cluster() {  # start_cluster DIR, in a subshell: exit 1 on failure
  local dir=$1 zk http1 tcp1 inter1 http2 tcp2 inter2 port_list shared_xml
  port_list=$(free_ports 7)
  read -r zk http1 tcp1 inter1 http2 tcp2 inter2 <<<"$port_list"
  start_zookeeper "$dir/zk" "$zk"
  # Both shards are 127.0.0.1: the distributed DDL queue tells them apart by tcp_port.
  shared_xml="    <zookeeper>
      <node>
          <host>127.0.0.1</host>
          <port>$zk</port>
      </node>
      <session_timeout_ms>30000</session_timeout_ms>
  </zookeeper>
  <remote_servers>
      <events>
          <shard>
              <internal_replication>true</internal_replication>
              <replica>
                  <host>127.0.0.1</host>
                  <port>$tcp1</port>
              </replica>
          </shard>
          <shard>
              <internal_replication>true</internal_replication>
              <replica>
                  <host>127.0.0.1</host>
                  <port>$tcp2</port>
              </replica>
          </shard>
      </events>
  </remote_servers>
  <distributed_ddl>
      <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>
  <interserver_http_host>127.0.0.1</interserver_http_host>
"
  write_server_config "$dir/s1" "$http1" "$tcp1" "$shared_xml$(node_xml "$inter1" 01)"
  write_server_config "$dir/s2" "$http2" "$tcp2" "$shared_xml$(node_xml "$inter2" 02)"
  own "$dir"
  launch_server "$dir/s1"
  launch_server "$dir/s2"
  wait_server "$dir/s1" "clickhouse-server s1"
  wait_server "$dir/s2" "clickhouse-server s2"
  cluster_ddl_works "$http1" || {
    echo "clickhouse_server: an ON CLUSTER statement failed on the new cluster; its logs:" >&2
    tail -n 20 "$dir"/s*/log/clickhouse-server.err.log >&2 || true
    exit 1
  }
  emit EVLOG_TEST_CLICKHOUSE_CLUSTER \
    "clickhouse://default@127.0.0.1:$http1/default?cluster=events"
  emit EVLOG_TEST_CLICKHOUSE_S1_HTTP "http://127.0.0.1:$http1"
  emit EVLOG_TEST_CLICKHOUSE_S2_HTTP "http://127.0.0.1:$http2"
  emit EVLOG_TEST_CLICKHOUSE_CLUSTER_DIR "$dir"
}

stop_all() {  # stop_all DIR: whatever runs in DIR, then DIR itself
  # s1 first: it may hold connections to s2; ZooKeeper last, the servers' sessions are in it.
  stop_server "$1/s1"
  stop_server "$1/s2"
  stop_server "$1"
  stop_pid "$1/zk/zk.pid" "$1/zk/zoo.cfg" ZooKeeper
  rm -rf -- "$1"
}

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
# Absolute: the configs name their paths, and stop-server/stop may run from elsewhere.
dir=$(realpath -m -- "$dir")

case $cmd in
  start | start-cluster)
    find_server
    prepare_dir "$dir"
    # Ports are chosen free, but another run may bind one before this server does: start again
    # on new ports (up to three times) rather than fail.
    for attempt in 1 2 3; do
      if [[ $cmd == start ]]; then
        (start_single "$dir") && exit 0
      else
        (start_cluster "$dir") && exit 0
      fi
      echo "clickhouse_server: attempt $attempt failed; trying other ports" >&2
      stop_all "$dir"
      prepare_dir "$dir"
    done
    die "no server started in $dir after 3 attempts"
    ;;
  stop-server)
    [[ -f $dir/config.xml ]] || die "no server in $dir"
    stop_server "$dir"
    ;;
  restart-server)
    [[ -f $dir/config.xml ]] || die "no server in $dir"
    find_server
    if [[ -f $dir/server.pid ]] && pid_running "$(cat "$dir/server.pid")" "$dir/config.xml"; then
      die "the server in $dir is still running"
    fi
    launch_server "$dir"
    wait_server "$dir" "clickhouse-server in $dir"
    ;;
  stop)
    stop_all "$dir"
    ;;
  *)
    usage
    ;;
esac
