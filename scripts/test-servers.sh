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
    # In parallel (the 3-node cluster alone takes tens of seconds to boot): each server writes an env file of its
    # own, joined into ENV_FILE once all are up.
    : >"$env_file"
    pids=()
    for n in "${names[@]}"; do
      mkdir -p "$state/$n"
      echo "test-servers: starting $n"
      bash "$root/scripts/servers/$n.sh" start "$state/$n" "$state/$n.env.part" >"$state/$n.start.log" 2>&1 &
      pids+=($!)
    done
    failed=0
    for i in "${!names[@]}"; do
      n=${names[$i]}
      if ! wait "${pids[$i]}"; then
        echo "test-servers: $n failed to start; its output and log:" >&2
        cat "$state/$n.start.log" >&2
        tail -n 40 "$state/$n"/*.log >&2 2>/dev/null || true
        failed=1
      fi
    done
    [ $failed = 0 ] || exit 1
    for n in "${names[@]}"; do cat "$state/$n.env.part" >>"$env_file"; rm -f "$state/$n.env.part"; done
    ;;
  stop)
    for n in "${names[@]}"; do
      [ -d "$state/$n" ] && bash "$root/scripts/servers/$n.sh" stop "$state/$n" || true
    done
    ;;
  *) echo "usage: test-servers.sh start|stop [NAME...]" >&2; exit 2 ;;
esac
