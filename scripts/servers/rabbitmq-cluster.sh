#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on loopback for the scale-out outbox tests and benchmark (docs/scale-out.md): Debian's
# rabbitmq-server, each node with its own node name, AMQP and distribution ports and data dir, one epmd and one
# Erlang cookie of their own (never a system broker's). The nodes boot in parallel; nodes 2 and 3 then join 1.
#   rabbitmq-cluster.sh start STATE_DIR ENV_FILE    start (or restart with the same ports and data), write env
#   rabbitmq-cluster.sh stop  STATE_DIR             stop every node and the epmd
#   rabbitmq-cluster.sh stop-node  STATE_DIR N      stop node N (1-3) the way an operator does: the queues'
#                                                   leaders on it move to the other nodes
#   rabbitmq-cluster.sh kill-node  STATE_DIR N      SIGKILL node N (a crash)
#   rabbitmq-cluster.sh start-node STATE_DIR N      start node N again (it rejoins the cluster)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

action=${1:?usage: rabbitmq-cluster.sh start|stop|stop-node|kill-node|start-node STATE_DIR [ENV_FILE|N]}
state=${2:?state dir}
mkdir -p "$state"
state=$(cd "$state" && pwd)
rmq_bin=/usr/lib/rabbitmq/bin   # not /usr/sbin: that wrapper switches to the rabbitmq user when run as root
nodes=(1 2 3)

load_ports() {
  if [ ! -f "$state/ports.env" ]; then
    {
      for i in "${nodes[@]}"; do
        echo "AMQP_PORT_$i=$(free_port)"
        echo "DIST_PORT_$i=$(free_port)"
      done
      echo "EPMD_PORT=$(free_port)"
      echo "AMQP_USER=eventhooks"
      echo "AMQP_PASSWORD=$(openssl rand -hex 12)"
    } >"$state/ports.env"
  fi
  # shellcheck disable=SC1091
  source "$state/ports.env"
}

amqp_port() { local v="AMQP_PORT_$1"; echo "${!v}"; }
dist_port() { local v="DIST_PORT_$1"; echo "${!v}"; }
node_name() { echo "eventhooks-c$1-$AMQP_PORT_1@localhost"; }

common_env() {
  export HOME="$state/home"   # the shared Erlang cookie lives here
  export ERL_EPMD_PORT=$EPMD_PORT
  export RABBITMQ_CONF_ENV_FILE=/dev/null
  mkdir -p "$HOME"
  if [ ! -f "$HOME/.erlang.cookie" ]; then
    # Made before any node starts: three nodes booting at once would each write their own.
    openssl rand -hex 20 | tr -d '\n' >"$HOME/.erlang.cookie"
    chmod 400 "$HOME/.erlang.cookie"
  fi
}

ctl() {
  local i=$1; shift
  "$rmq_bin/rabbitmqctl" -n "$(node_name "$i")" "$@"
}

start_node() {
  local i=$1
  local d="$state/node$i"
  mkdir -p "$d/mnesia" "$d/log"
  cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$(amqp_port "$i")
default_user = $AMQP_USER
default_pass = $AMQP_PASSWORD
default_vhost = /
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.file.level = warning
log.console = false
CONF
  echo "[]." >"$d/advanced.config"
  echo "[]." >"$d/enabled_plugins"
  if [ -f "$d/broker.pid" ] && kill -0 "$(cat "$d/broker.pid")" 2>/dev/null; then return 0; fi
  (
    export RABBITMQ_NODENAME
    RABBITMQ_NODENAME=$(node_name "$i")
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT
    RABBITMQ_NODE_PORT=$(amqp_port "$i")
    export RABBITMQ_DIST_PORT
    RABBITMQ_DIST_PORT=$(dist_port "$i")
    export RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
    export RABBITMQ_PLUGINS_EXPAND_DIR="$d/plugins-expand" RABBITMQ_PID_FILE="$d/rabbitmq.pid"
    setsid "$rmq_bin/rabbitmq-server" >>"$d/rabbitmq.log" 2>&1 </dev/null &
    echo $! >"$d/broker.pid"
  )
}

await_node() {
  local i=$1
  if ! wait_port "$(amqp_port "$i")" 120; then
    echo "rabbitmq node $i did not open its port; see $state/node$i/rabbitmq.log and $state/node$i/log" >&2
    return 1
  fi
  ctl "$i" await_startup --timeout 60 >/dev/null
}

kill_node() {
  local i=$1 sig=$2 f="$state/node$1/broker.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill "-$sig" -- "-$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

start() {
  local env_file=${1:?env file}
  load_ports
  common_env
  for i in "${nodes[@]}"; do start_node "$i"; done
  for i in "${nodes[@]}"; do await_node "$i"; done
  # Joining wipes the joining node's data: only a node that is not in the cluster yet joins (a restart of a
  # state dir already clustered keeps its data).
  for i in 2 3; do
    if ! ctl 1 cluster_status --formatter json 2>/dev/null | grep -q "$(node_name "$i")"; then
      ctl "$i" stop_app >/dev/null
      ctl "$i" join_cluster "$(node_name 1)" >/dev/null
      ctl "$i" start_app >/dev/null
    fi
  done
  cat >"$state/ctl.sh" <<EOF
#!/usr/bin/env bash
# rabbitmqctl for node N of this test cluster: ctl.sh N ARGS...
export HOME='$HOME' ERL_EPMD_PORT=$EPMD_PORT RABBITMQ_CONF_ENV_FILE=/dev/null
n=\$1; shift
exec $rmq_bin/rabbitmqctl -n "eventhooks-c\$n-$AMQP_PORT_1@localhost" "\$@"
EOF
  chmod +x "$state/ctl.sh"
  local urls="" ports=""
  for i in "${nodes[@]}"; do
    urls+="${urls:+,}amqp://$AMQP_USER:$AMQP_PASSWORD@127.0.0.1:$(amqp_port "$i")/"
    ports+="${ports:+,}$(amqp_port "$i")"
  done
  {
    echo "export EVENTHOOKS_CLUSTER_URLS=$urls"
    echo "export EVENTHOOKS_CLUSTER_PORTS=$ports"
    echo "export EVENTHOOKS_CLUSTER_PASSWORD=$AMQP_PASSWORD"
    echo "export EVENTHOOKS_CLUSTER_NODES=$(node_name 1),$(node_name 2),$(node_name 3)"
    echo "export EVENTHOOKS_CLUSTER_CTL=$state/ctl.sh"
    echo "export EVENTHOOKS_CLUSTER_STATE_DIR=$state"
    echo "export EVENTHOOKS_CLUSTER_SCRIPT=$here/rabbitmq-cluster.sh"
  } >>"$env_file"
}

case "$action" in
  start) start "${3:?env file}" ;;
  stop-node)
    load_ports; common_env
    ctl "${3:?node}" stop >/dev/null 2>&1 || true
    kill_node "$3" TERM
    ;;
  kill-node) load_ports; kill_node "${3:?node}" KILL ;;
  start-node) load_ports; common_env; start_node "${3:?node}"; await_node "$3" ;;
  stop)
    load_ports
    for i in "${nodes[@]}"; do kill_node "$i" TERM & done
    wait
    epmd=$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n1 || true)
    [ -n "$epmd" ] && ERL_EPMD_PORT=$EPMD_PORT "$epmd" -kill >/dev/null 2>&1 || true
    ;;
  *) echo "usage: rabbitmq-cluster.sh start|stop|stop-node|kill-node|start-node STATE_DIR [ENV_FILE|N]" >&2; exit 2 ;;
esac
