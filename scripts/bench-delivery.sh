#!/usr/bin/env bash
# Delivery engine figures of issue 5, each next to its reference in the same run:
#  1. fire() latency on the caller's thread in async mode (p50/p99/p99.9; goal p99 <= 10 us);
#  2. durable enqueue rate into the SQLite outbox next to a raw SQLite insert loop with the same journal settings
#     (WAL, synchronous=FULL, one durable insert per event; goal >= 50 % of raw);
#  3. end-to-end deliveries/s to a local nginx keep-alive sink: in-process Dispatcher on a SQLite outbox, and the
#     `eventhooks worker --once` process draining a stored backlog.
# Prints markdown tables. Usage: scripts/bench-delivery.sh [BUILD_DIR] [EVENTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
events=${2:-20000}
bench=$build/bench/bench_dispatch
cli=$build/eventhooks
source "$root/scripts/servers/lib.sh"
work=$(mktemp -d)
trap 'kill_pidfile "$work/nginx.pid"; rm -rf "$work"' EXIT

url=$(start_nginx_sink "$work")

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

echo "| fire() on the caller's thread, async mode (200,000 events, 2 hooks) | p50 | p99 | p99.9 |"
echo "|---|---:|---:|---:|"
for mode in fire fire-queue-only; do
  r=$("$bench" "$mode" 200000 2>/dev/null)
  label="2 workers delivering meanwhile"
  [ "$mode" = fire-queue-only ] && label="dispatcher not started (the caller's own cost)"
  awk -v l="$label" -v a="$(kv "$r" p50_ns)" -v b="$(kv "$r" p99_ns)" -v c="$(kv "$r" p999_ns)" \
    'BEGIN {printf "| %s | %.2f us | %.2f us | %.2f us |\n", l, a/1000, b/1000, c/1000}'
done
echo

enq=$("$bench" enqueue "$work/enq" 5000 8)
raw=$(kv "$enq" raw_per_s)
one=$(kv "$enq" outbox_1thread_per_s)
many=$(kv "$enq" outbox_8threads_per_s)
echo "| durable enqueue, WAL + synchronous=FULL (5,000 events) | events/s | vs raw |"
echo "|---|---:|---:|"
printf '| raw SQLite autocommit INSERT loop (reference) | %.0f | 100 %% |\n' "$raw"
awk -v a="$one" -v r="$raw" 'BEGIN {printf "| outbox enqueue(), 1 thread | %.0f | %.0f %% |\n", a, 100*a/r}'
awk -v a="$many" -v r="$raw" 'BEGIN {printf "| outbox enqueue(), 8 threads (group commit) | %.0f | %.0f %% |\n", a, 100*a/r}'
echo

e2e=$("$bench" e2e "$url" "$work/e2e" "$events")
"$bench" fill "$work/cli" "$events" "$url"
t0=$(date +%s.%N)
"$cli" worker --once -c "$work/cli/hooks.yaml" --threads 4 2>/dev/null >/dev/null
t1=$(date +%s.%N)
echo "| end to end to a local nginx sink ($events events stored first) | deliveries/s |"
echo "|---|---:|"
printf '| Dispatcher in-process, SQLite outbox, 4 threads | %.0f |\n' "$(kv "$e2e" per_s)"
awk -v n="$events" -v a="$t0" -v b="$t1" \
  'BEGIN {printf "| `eventhooks worker --once --threads 4` process (startup included) | %.0f |\n", n/(b-a)}'
