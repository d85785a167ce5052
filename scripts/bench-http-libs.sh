#!/usr/bin/env bash
# The HTTP server libraries `eventhooks serve` could be built on, measured before choosing (docs/serve.md): each
# answers POST /v1/events with serve's 202 and nothing else to do (bench/bench_http_server.cpp), under wrk with
# 32 keep-alive connections and serve's request (bench/serve_post.lua), next to nginx answering the same 202.
# Rounds alternate between the servers; the table has the medians.
# Usage: scripts/bench-http-libs.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build/release}" && pwd)
secs=${2:-5}
rounds=${3:-3}
source "$root/scripts/servers/lib.sh"
cmake --build "$build" --target bench_http_server >/dev/null
server=$build/bench/bench_http_server
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  kill_pidfile "$work/nginx.pid"
  rm -rf "$work"
}
trap cleanup EXIT
export EVENTHOOKS_BENCH_KEY=bench-$RANDOM$RANDOM
ref_url=$(start_nginx_sink "$work" 202 '{"id":"01938a4c-7f1a-7c3e-9d2b-5a6e4f3c2b1a","hooks":["bench"]}')

# wrk_run URL: "REQ_PER_S P99_MS"
wrk_run() {
  wrk -t2 -c32 -d"${secs}s" --latency -s "$root/bench/serve_post.lua" "$1" | awk '
    /Requests\/sec/ {rps = $2}
    /^ +99%/ {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else {sub(/s/, "", v); v *= 1000}; p99 = v}
    /Non-2xx/ {bad = 1}
    END {if (bad) {print "non-2xx answers" > "/dev/stderr"; exit 1}; printf "%s %s\n", rps, p99}'
}
# server_round KIND [THREADS]: "REQ_PER_S P99_MS" of bench_http_server KIND.
server_round() {
  local port
  port=$(free_port)
  "$server" "$1" "$port" ${2:+"$2"} >/dev/null 2>&1 &
  pid=$!
  wait_port "$port" 10
  wrk_run "http://127.0.0.1:$port/v1/events"
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}

kinds=("httplib 64" "mhd-epoll 2" "mhd-threads")
declare -A rates p99s
for r in $(seq "$rounds"); do
  read -r rps p99 < <(wrk_run "$ref_url")
  rates[nginx]+="$rps " p99s[nginx]+="$p99 "
  for k in "${kinds[@]}"; do
    # shellcheck disable=SC2086
    read -r rps p99 < <(server_round $k)
    rates[$k]+="$rps " p99s[$k]+="$p99 "
  done
done
ref=$(median_of ${rates[nginx]})
echo "| server answering 202, 32 keep-alive connections, wrk -t2 | requests/s | ratio to nginx | p99 |"
echo "|---|---:|---:|---:|"
printf '| nginx (reference) | %.0f | 100 %% | %.2f ms |\n' "$ref" "$(median_of ${p99s[nginx]})"
for k in "${kinds[@]}"; do
  case $k in
    "httplib 64") label="cpp-httplib 0.11 (Debian), thread pool of 64, a thread per connection" ;;
    "mhd-epoll 2") label="libmicrohttpd 0.9.75 (Debian), 2 epoll event-loop threads" ;;
    mhd-threads) label="libmicrohttpd 0.9.75 (Debian), a thread per connection" ;;
  esac
  awk -v a="$(median_of ${rates[$k]})" -v r="$ref" -v p="$(median_of ${p99s[$k]})" -v l="$label" \
    'BEGIN {printf "| %s | %.0f | %.0f %% | %.2f ms |\n", l, a, 100 * a / r, p}'
done
echo
echo "Medians of $rounds alternating rounds of ${secs} s each."
