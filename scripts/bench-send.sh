#!/usr/bin/env bash
# One-shot `eventhooks send URL` (no config file: parse the URL, build the hook, one POST) next to curl
# POSTing the same body to the same local nginx sink: wall time (hyperfine) and peak RSS (/usr/bin/time).
# Two URLs: json:// (a WebHook) and ntfy:// (an NtfyHook, its JSON publish form). Prints a markdown table.
# Usage: scripts/bench-send.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
runs=${2:-100}
source "$root/scripts/servers/lib.sh"
work=$(mktemp -d)
trap 'kill_pidfile "$work/nginx.pid"; rm -rf "$work"' EXIT

url=$(start_nginx_sink "$work")
hostport=${url#http://}
hostport=${hostport%%/*}
body='{"event": "deploy_finished", "service": "api", "ok": true, "host": "web-01", "duration_ms": 8123}'
printf '%s' "$body" >"$work/body.json"
cli="$build/eventhooks"

hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/oneshot.json" \
  -n "send json://" "$cli send json://$hostport/hook --data @$work/body.json" \
  -n "send ntfy://" "$cli send ntfy://$hostport/ops --title Deploy --data @$work/body.json" \
  -n curl "curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @$work/body.json $url" \
  >/dev/null
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
json_rss=$(rss "$cli" send "json://$hostport/hook" --data "@$work/body.json")
ntfy_rss=$(rss "$cli" send "ntfy://$hostport/ops" --title Deploy --data "@$work/body.json")
curl_rss=$(rss curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$work/body.json" "$url")
echo "| one-shot POST | mean wall time (ms) | peak RSS (MiB) | / curl |"
echo "|---|---:|---:|---:|"
/usr/bin/python3 - "$work/oneshot.json" "$json_rss" "$ntfy_rss" "$curl_rss" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = {"send json://": int(sys.argv[2]) / 1024, "send ntfy://": int(sys.argv[3]) / 1024, "curl": int(sys.argv[4]) / 1024}
base = res["curl"]["mean"]
for name in ("send json://", "send ntfy://", "curl"):
    r = res[name]
    print(f"| `{name}` | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} | {rss[name]:.1f} | {r['mean']/base:.2f}x |")
PY
