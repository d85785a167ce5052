#!/usr/bin/env bash
# Starts or stops every server the integration tests need, on loopback, with ports of their own.
#   scripts/test-servers.sh start [NAME...]   writes build/test-servers/env.sh (source it before ctest)
#   scripts/test-servers.sh stop  [NAME...]
# Each server is scripts/servers/NAME.sh, called as `NAME.sh start STATE_DIR ENV_FILE` / `NAME.sh stop STATE_DIR`.
# `start` waits until the server answers and appends `export VAR=value` lines to ENV_FILE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${EVENTHOOKS_TEST_STATE:-$root/build/test-servers}
env_file=$state/env.sh
action=${1:?usage: test-servers.sh start|stop [NAME...]}
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$root"/scripts/servers/*.sh; do
    n=$(basename "$f" .sh); [ "$n" = lib ] || names+=("$n")
  done
fi
mkdir -p "$state"
case "$action" in
  start)
    : >"$env_file"
    for n in "${names[@]}"; do
      mkdir -p "$state/$n"
      echo "test-servers: starting $n"
      if ! bash "$root/scripts/servers/$n.sh" start "$state/$n" "$env_file"; then
        echo "test-servers: $n failed to start; its log:" >&2
        tail -n 40 "$state/$n"/*.log >&2 2>/dev/null || true
        exit 1
      fi
    done
    ;;
  stop)
    for n in "${names[@]}"; do
      [ -d "$state/$n" ] && bash "$root/scripts/servers/$n.sh" stop "$state/$n" || true
    done
    ;;
  *) echo "usage: test-servers.sh start|stop [NAME...]" >&2; exit 2 ;;
esac
