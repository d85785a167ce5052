#!/usr/bin/env bash
# `eventhooks serve` figures of issue 11, each next to its reference in the same run:
#  1. ingest: accepted events/s and p99 latency of the 202 with 32 keep-alive connections (wrk, bench/serve_post.lua)
#     against `serve --no-deliver` on a SQLite outbox on disk, with `synchronous: full` (every 202 fsynced:
#     survives a power loss) and `normal` (every 202 committed: survives kill -9), next to wrk against nginx
#     answering 202 with a body of the same size. The disk's own fsync latency is printed with them (dd
#     oflag=dsync). After each serve round the outbox is counted: it must hold a job for every 202 wrk received
#     (at most 32 more: requests wrk cut off at the end);
#  2. end to end: events posted for SECONDS to `serve` delivering to a local nginx sink, deliveries/s until the
#     outbox is drained, next to `eventhooks worker --once` draining a backlog of the same size to the same sink.
# Prints markdown tables. Usage: scripts/bench-serve.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build/release}" && pwd)
secs=${2:-5}
rounds=${3:-3}
cli=$build/eventhooks
source "$root/scripts/servers/lib.sh"
# On disk, not tmpfs: the point is that every 202 waited for an fsync.
work=$(mktemp -d "$build/bench-serve.XXXXXX")
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  kill_pidfile "$work/nginx202/nginx.pid"
  kill_pidfile "$work/sink/nginx.pid"
  rm -rf "$work"
}
trap cleanup EXIT
export EVENTHOOKS_BENCH_KEY=bench-$RANDOM$RANDOM
mkdir -p "$work/nginx202" "$work/sink"
ref_url=$(start_nginx_sink "$work/nginx202" 202 '{"id":"01938a4c-7f1a-7c3e-9d2b-5a6e4f3c2b1a","hooks":["bench"]}')
sink_url=$(start_nginx_sink "$work/sink")

# config DIR [SYNCHRONOUS]: a serve config with its outbox in DIR, delivering to the nginx sink.
config() {
  mkdir -p "$1"
  cat >"$1/hooks.yaml" <<YAML
serve:
  api_keys: [$EVENTHOOKS_BENCH_KEY]
outbox:
  path: $1/outbox.db
  synchronous: ${2:-full}
hooks:
  bench:
    type: WebHook
    url: $sink_url
YAML
}
# start_serve DIR ARGS...: serve on a free port; sets serve_pid and serve_url. Not called as $(...): the
# command substitution would wait for the background server's stdout to close, and lose serve_pid.
start_serve() {
  local dir=$1 port
  shift
  port=$(free_port)
  "$cli" serve -c "$dir/hooks.yaml" --listen "127.0.0.1:$port" "$@" >/dev/null 2>"$dir/serve.log" &
  serve_pid=$!
  wait_port "$port" 10
  serve_url="http://127.0.0.1:$port"
}
stop_serve() {
  kill -TERM "$serve_pid"
  wait "$serve_pid" || true
  serve_pid=
}
# wrk_run URL: "REQ_PER_S P99_MS REQUESTS NON2XX"
wrk_run() {
  wrk -t2 -c32 -d"${secs}s" --latency -s "$root/bench/serve_post.lua" "$1" | awk '
    /Requests\/sec/ {rps = $2}
    /^ +99%/ {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else {sub(/s/, "", v); v *= 1000}; p99 = v}
    /requests in/ {n = $1}
    /Non-2xx/ {bad = $5}
    END {printf "%s %s %s %d\n", rps, p99, n, bad}'
}
jobs_in() { sqlite3 "$1" "SELECT count(*) FROM jobs"; }

# serve_round SYNCHRONOUS ROUND: one wrk run against `serve --no-deliver`; prints "REQ_PER_S P99_MS" after
# checking that the outbox holds a job for every 202.
serve_round() {
  local dir=$work/ingest-$1-$2 url rps p99 n bad stored
  config "$dir" "$1"
  start_serve "$dir" --no-deliver
  url=$serve_url
  read -r rps p99 n bad < <(wrk_run "$url/v1/events")
  stop_serve
  stored=$(jobs_in "$dir/outbox.db")
  if [ "$bad" != 0 ] || [ "$stored" -lt "$n" ] || [ "$stored" -gt $((n + 32)) ]; then
    echo "bench-serve: $1 round $2: wrk saw $n answers ($bad not 2xx) but the outbox holds $stored jobs" >&2
    exit 1
  fi
  echo "$rps $p99"
}
fsync_ms() {
  dd if=/dev/zero of="$work/dsync" bs=4k count=100 oflag=dsync 2>&1 | awk '/copied/ {printf "%.2f", $(NF-3) * 1000 / 100}'
  rm -f "$work/dsync"
}

ref_rates=() ref_p99=() full_rates=() full_p99=() normal_rates=() normal_p99=() dsync=()
for r in $(seq "$rounds"); do
  read -r rps p99 _ _ < <(wrk_run "$ref_url")
  ref_rates+=("$rps") ref_p99+=("$p99")
  read -r rps p99 < <(serve_round full "$r") || true
  [ -n "${rps:-}" ] || exit 1
  full_rates+=("$rps") full_p99+=("$p99")
  read -r rps p99 < <(serve_round normal "$r") || true
  [ -n "${rps:-}" ] || exit 1
  normal_rates+=("$rps") normal_p99+=("$p99")
  dsync+=("$(fsync_ms)")
done
echo "| ingest, 32 keep-alive connections, wrk -t2 | requests/s | ratio | p99 latency |"
echo "|---|---:|---:|---:|"
ref=$(median_of "${ref_rates[@]}")
printf '| nginx answering 202 (reference) | %.0f | 100 %% | %.2f ms |\n' "$ref" "$(median_of "${ref_p99[@]}")"
awk -v a="$(median_of "${full_rates[@]}")" -v r="$ref" -v p="$(median_of "${full_p99[@]}")" \
  'BEGIN {printf "| `eventhooks serve --no-deliver`, `synchronous: full` (each 202 fsynced) | %.0f | %.0f %% | %.2f ms |\n", a, 100*a/r, p}'
awk -v a="$(median_of "${normal_rates[@]}")" -v r="$ref" -v p="$(median_of "${normal_p99[@]}")" \
  'BEGIN {printf "| `eventhooks serve --no-deliver`, `synchronous: normal` (each 202 committed) | %.0f | %.0f %% | %.2f ms |\n", a, 100*a/r, p}'
echo
echo "Medians of $rounds alternating rounds of ${secs} s each; after every serve round the outbox held a job for"
echo "each 202. The disk's fsync latency meanwhile (4 KiB write with O_DSYNC, median): $(median_of "${dsync[@]}") ms."
echo

# End to end: post for SECONDS while serve delivers, then until the outbox is drained.
dir=$work/e2e
config "$dir"
start_serve "$dir" --threads 4
url=$serve_url
t0=$(date +%s.%N)
wrk_run "$url/v1/events" >/dev/null
until [ "$(sqlite3 "$dir/outbox.db" "SELECT count(*) FROM jobs WHERE state = 0")" = 0 ]; do sleep 0.05; done
t1=$(date +%s.%N)
delivered=$(sqlite3 "$dir/outbox.db" "SELECT count(*) FROM jobs WHERE state = 2")
stop_serve
# The worker drains a backlog of the same size, stored first (bench_dispatch fill, to the same sink).
"$build/bench/bench_dispatch" fill "$work/cli" "$delivered" "$sink_url"
w0=$(date +%s.%N)
"$cli" worker --once -c "$work/cli/hooks.yaml" --threads 4 2>/dev/null >/dev/null
w1=$(date +%s.%N)
echo "| end to end to a local nginx sink | events | deliveries/s |"
echo "|---|---:|---:|"
awk -v n="$delivered" -v a="$t0" -v b="$t1" -v s="$secs" \
  'BEGIN {printf "| `eventhooks serve --threads 4`: POSTed by wrk for %s s while delivering, until drained | %d | %.0f |\n", s, n, n/(b-a)}'
awk -v n="$delivered" -v a="$w0" -v b="$w1" \
  'BEGIN {printf "| `eventhooks worker --once --threads 4` draining a stored backlog (startup included) | %d | %.0f |\n", n, n/(b-a)}'
