#!/usr/bin/env bash
# The network policy's cost per connection (issue 11, docs/network.md), next to references in the same run:
# socket()+close(), which every new connection pays anyway, and a whole webhook POST on a new loopback
# connection (Connection: close), default policy vs deny_private with 127.0.0.1 allowed.
# Prints a markdown table of medians. Usage: scripts/bench-network.sh [BUILD_DIR] [REPETITIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
reps=${2:-9}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/bench/bench_network" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$json" 2>/dev/null
/usr/bin/python3 - "$json" <<'PY'
import json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        rows[b["run_name"]] = b["real_time"] if b["time_unit"] == "ns" else b["real_time"] * {"us": 1e3, "ms": 1e6}[b["time_unit"]]
ref = rows.get("BM_Reference_SocketAndClose")
rt = rows.get("BM_RoundTrip_NewConnection/0/real_time")
print("| measurement | median (ns) | vs socket()+close() | vs a POST on a new connection |")
print("|---|---:|---:|---:|")
for name, ns in rows.items():
    print(f"| {name} | {ns:,.1f} | {ns / ref * 100:.1f} % | {ns / rt * 100:.3f} % |")
PY
echo
echo "Medians of $reps repetitions (Google Benchmark). BM_Check_*: one ConnectGuard::admit() as libcurl's"
echo "open-socket callback runs it (sockaddr to address, the policy's verdict); RoundTrip/0 default policy,"
echo "RoundTrip/1 deny_private + allow 127.0.0.1/32."
