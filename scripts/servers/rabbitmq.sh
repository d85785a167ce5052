#!/usr/bin/env bash
# Debian's rabbitmq-server for the AMQP tests, started by hand on loopback with a node name, ports, epmd and
# data dir of its own (so it never meets a system broker), plain AMQP + TLS (test CA made at first start).
#   rabbitmq.sh start STATE_DIR ENV_FILE   start (or restart with the same ports and data), wait, write env
#   rabbitmq.sh stop  STATE_DIR            stop the broker and its epmd
#   rabbitmq.sh kill  STATE_DIR            SIGKILL the broker (a crash: the restart test's "broker dies")
# The tests call `kill` then `start` with the same STATE_DIR to restart the broker in the middle of a stream;
# ports, user and password are kept in STATE_DIR/ports.env so the restarted broker is the same endpoint.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

action=${1:?usage: rabbitmq.sh start|stop|kill STATE_DIR [ENV_FILE]}
state=${2:?state dir}
mkdir -p "$state"
state=$(cd "$state" && pwd)
rmq_bin=/usr/lib/rabbitmq/bin   # not /usr/sbin: that wrapper switches to the rabbitmq user when run as root

load_ports() {
  if [ ! -f "$state/ports.env" ]; then
    {
      echo "AMQP_PORT=$(free_port)"
      echo "AMQPS_PORT=$(free_port)"
      echo "DIST_PORT=$(free_port)"
      echo "EPMD_PORT=$(free_port)"
      echo "AMQP_USER=eventhooks"
      echo "AMQP_PASSWORD=$(openssl rand -hex 12)"
    } >"$state/ports.env"
  fi
  # shellcheck disable=SC1091
  source "$state/ports.env"
  NODE="eventhooks-$AMQP_PORT@localhost"
}

broker_env() {
  export HOME="$state/home"   # the Erlang cookie lives here, shared by the node and rabbitmqctl
  export ERL_EPMD_PORT=$EPMD_PORT
  export RABBITMQ_NODENAME=$NODE
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT
  export RABBITMQ_MNESIA_BASE="$state/mnesia"
  export RABBITMQ_LOG_BASE="$state/log"
  export RABBITMQ_CONFIG_FILE="$state/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$state/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$state/enabled_plugins"
  export RABBITMQ_PLUGINS_EXPAND_DIR="$state/plugins-expand"
  export RABBITMQ_PID_FILE="$state/rabbitmq.pid"
  export RABBITMQ_CONF_ENV_FILE=/dev/null
  mkdir -p "$HOME" "$state/mnesia" "$state/log"
}

make_tls() {
  local d=$state/tls
  [ -f "$d/server.pem" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=eventhooks test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  # Only the name "localhost": a client connecting to 127.0.0.1 must fail host name verification.
  printf 'subjectAltName=DNS:localhost\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
  # A second, unrelated CA: a client trusting it must refuse the broker's certificate.
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=eventhooks other CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
  chmod 644 "$d"/*.pem "$d"/*.key
}

write_config() {
  cat >"$state/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
listeners.ssl.default = 127.0.0.1:$AMQPS_PORT
ssl_options.cacertfile = $state/tls/ca.pem
ssl_options.certfile = $state/tls/server.pem
ssl_options.keyfile = $state/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
default_user = $AMQP_USER
default_pass = $AMQP_PASSWORD
default_vhost = /
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.file.level = info
log.console = false
EOF
  echo "[]." >"$state/advanced.config"
  echo "[]." >"$state/enabled_plugins"
}

start() {
  local env_file=${1:?env file}
  load_ports
  broker_env
  make_tls
  write_config
  if [ -f "$state/broker.pid" ] && kill -0 "$(cat "$state/broker.pid")" 2>/dev/null; then
    : # already running
  else
    setsid "$rmq_bin/rabbitmq-server" >>"$state/rabbitmq.log" 2>&1 </dev/null &
    echo $! >"$state/broker.pid"
  fi
  if ! wait_port "$AMQP_PORT" 120 || ! wait_port "$AMQPS_PORT" 30; then
    echo "rabbitmq did not open its ports; see $state/rabbitmq.log and $state/log" >&2
    return 1
  fi
  # The listener opens before boot has fully finished; await_startup waits for the rest.
  "$rmq_bin/rabbitmqctl" -n "$NODE" await_startup --timeout 60 >/dev/null
  cat >"$state/ctl.sh" <<EOF
#!/usr/bin/env bash
# rabbitmqctl for this test broker.
export HOME='$HOME' ERL_EPMD_PORT=$EPMD_PORT RABBITMQ_CONF_ENV_FILE=/dev/null
exec $rmq_bin/rabbitmqctl -n '$NODE' "\$@"
EOF
  chmod +x "$state/ctl.sh"
  {
    echo "export EVENTHOOKS_AMQP_HOST=127.0.0.1"
    echo "export EVENTHOOKS_AMQP_PORT=$AMQP_PORT"
    echo "export EVENTHOOKS_AMQPS_PORT=$AMQPS_PORT"
    echo "export EVENTHOOKS_AMQP_CA_FILE=$state/tls/ca.pem"
    echo "export EVENTHOOKS_AMQP_OTHER_CA_FILE=$state/tls/other-ca.pem"
    echo "export EVENTHOOKS_AMQP_USER=$AMQP_USER"
    echo "export EVENTHOOKS_AMQP_PASSWORD=$AMQP_PASSWORD"
    echo "export EVENTHOOKS_AMQP_NODE=$NODE"
    echo "export EVENTHOOKS_AMQP_CTL=$state/ctl.sh"
    echo "export EVENTHOOKS_AMQP_STATE_DIR=$state"
    echo "export EVENTHOOKS_AMQP_SCRIPT=$here/rabbitmq.sh"
  } >>"$env_file"
}

broker_pids() {
  # The whole process group started by setsid: the shell script, beam, its port programs.
  [ -f "$state/broker.pid" ] || return 0
  local pid; pid=$(cat "$state/broker.pid")
  echo "$pid"
}

kill_broker() {
  local sig=$1 pid
  pid=$(broker_pids)
  [ -n "$pid" ] || return 0
  kill "-$sig" -- "-$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$state/broker.pid"
}

case "$action" in
  start) start "${3:?env file}" ;;
  kill)
    load_ports
    kill_broker KILL
    ;;
  stop)
    load_ports
    kill_broker TERM
    epmd=$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n1 || true)
    [ -n "$epmd" ] && ERL_EPMD_PORT=$EPMD_PORT "$epmd" -kill >/dev/null 2>&1 || true
    ;;
  *) echo "usage: rabbitmq.sh start|stop|kill STATE_DIR [ENV_FILE]" >&2; exit 2 ;;
esac
