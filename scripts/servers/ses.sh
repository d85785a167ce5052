#!/usr/bin/env bash
# Local SES v2 (npm aws-ses-v2-local from tests/servers/node_modules). Sent mail is read back with GET /store.
#   ses.sh start STATE_DIR ENV_FILE   |   ses.sh stop STATE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
action=$1 state=$2
case "$action" in
  start)
    env_file=$3
    kill_pidfile "$state/ses.pid"
    bin=$root/tests/servers/node_modules/aws-ses-v2-local/dist/cli.js
    [ -f "$bin" ] || { echo "ses: $bin missing; run npm ci in tests/servers" >&2; exit 1; }
    port=$(free_port)
    nohup node "$bin" --host 127.0.0.1 --port "$port" >"$state/ses.log" 2>&1 &
    echo $! >"$state/ses.pid"
    wait_port "$port" 30 || { echo "ses: port $port not ready" >&2; exit 1; }
    echo "export EVENTHOOKS_SES_URL=http://127.0.0.1:$port" >>"$env_file"
    ;;
  stop)
    kill_pidfile "$state/ses.pid"
    ;;
  *) echo "usage: ses.sh start STATE_DIR ENV_FILE | stop STATE_DIR" >&2; exit 2 ;;
esac
