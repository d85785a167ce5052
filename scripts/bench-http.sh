#!/usr/bin/env bash
# WebHook figures of issue 2, measured against references in the same run:
#  1. deliveries/s from one process (bench_webhook) to a local nginx keep-alive sink, at concurrency 1 and 32,
#     next to wrk POSTing the same body to the same sink with the same connection count;
#  2. one-shot `eventhooks trigger` wall time (hyperfine) and peak RSS next to curl POSTing the same body.
# Prints a markdown table. Usage: scripts/bench-http.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
secs=${2:-5}
rounds=${3:-5}
source "$root/scripts/servers/lib.sh"
work=$(mktemp -d)
trap 'kill_pidfile "$work/nginx.pid"; rm -rf "$work"' EXIT

url=$(start_nginx_sink "$work")

body=$(bench_body)
printf '%s' "$body" >"$work/body.json"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

echo "| concurrency | wrk (req/s) | WebHook, N threads calling trigger() (req/s) | ratio | WebHook, one thread, N deliver_async() in flight (req/s) | ratio | WebHook, event loops: N chains of deliver_async() on the client's -t I/O threads (req/s) | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in 1 32; do
  # wrk drives its connections from -t threads (2 at c=32), each an event loop that writes a connection's next
  # request when its response is in. The async row uses the HttpClient's default of one I/O thread and one
  # caller thread refilling the window (a second I/O thread measured slower there: it competes with the caller
  # and nginx). The loop row is wrk's model: as many I/O threads as wrk has threads, each completion starting
  # the next delivery from its callback, no other thread.
  threads=$(( c < 2 ? 1 : 2 ))
  wrk_rates=() sync_rates=() async_rates=() loop_rates=()
  for _ in $(seq "$rounds"); do
    wrk_rates+=("$(wrk -t"$threads" -c"$c" -d"${secs}s" -s "$work/post.lua" "$url" | awk '/Requests\/sec/ {print $2}')")
    line=$("$build/bench/bench_webhook" "$url" "$c" "$secs" "$work/body.json")
    sync_rates+=("${line##*rate=}")
    line=$("$build/bench/bench_webhook" "$url" "async:$c" "$secs" "$work/body.json")
    async_rates+=("${line##*rate=}")
    line=$("$build/bench/bench_webhook" "$url" "loop:$c:$threads" "$secs" "$work/body.json")
    loop_rates+=("${line##*rate=}")
  done
  ratio_row "$c" "$(median_of "${wrk_rates[@]}")" "$(median_of "${sync_rates[@]}")" \
    "$(median_of "${async_rates[@]}")" "$(median_of "${loop_rates[@]}")"
done
echo
echo "Medians of $rounds alternating rounds of ${secs} s each (wrk, threads, async, loop in turn)."
echo

# One-shot: a whole process that posts once.
cat >"$work/hook.yaml" <<YAML
hooks:
  bench:
    type: WebHook
    url: $url
YAML
cli="$build/eventhooks"
hyperfine -N --warmup 5 --runs 100 --export-json "$work/oneshot.json" \
  -n eventhooks "$cli trigger -c $work/hook.yaml --data @$work/body.json" \
  -n curl "curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @$work/body.json $url" \
  >/dev/null
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
eh_rss=$(rss "$cli" trigger -c "$work/hook.yaml" --data "@$work/body.json")
curl_rss=$(rss curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$work/body.json" "$url")
echo
echo "| one-shot POST | mean wall time (ms) | peak RSS (MiB) |"
echo "|---|---:|---:|"
/usr/bin/python3 - "$work/oneshot.json" "$eh_rss" "$curl_rss" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = {"eventhooks": int(sys.argv[2]) / 1024, "curl": int(sys.argv[3]) / 1024}
for name in ("eventhooks", "curl"):
    r = res[name]
    print(f"| {name} | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} | {rss[name]:.1f} |")
print(f"\neventhooks / curl wall time: {res['eventhooks']['mean']/res['curl']['mean']:.2f}x")
PY
