#!/usr/bin/env bash
# Cost of the metrics counters on the delivery hot path (docs/metrics.md), each figure next to its reference
# in the same run:
#  1. bench_metrics: what settle() adds per attempt (latency bucket and sum, the hook's outcome counter), 1
#     thread and 2 threads on one hook (the contended case), and one scrape's rendering for 20 hooks;
#  2. bench_dispatch deliver: the engine's own cost per delivery (4 no-op hooks, in-memory outbox, 2 workers),
#     the figure those nanoseconds are added to;
#  3. with BASE=REV (e.g. BASE=1b954a0, the commit before the metrics): that commit's library built in
#     build/bench-base with this bench_dispatch.cpp, and `deliver` of both builds alternating, PAIRS pairs,
#     medians: the before/after of the whole change (counters added, the latency ring's mutex removed).
# Prints markdown tables. Usage: [BASE=REV] [PAIRS=7] scripts/bench-metrics.sh [BUILD_DIR] [EVENTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
events=${2:-100000}
pairs=${PAIRS:-7}

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

micro=$("$build/bench/bench_metrics" --benchmark_format=csv 2>/dev/null | grep '^"BM_')
ns_of() { awk -F, -v n="\"$1\"" '$1 == n {printf "%.1f", $3}' <<<"$micro"; }
one=$(ns_of BM_SettleCounters/real_time/threads:1)
two=$(ns_of BM_SettleCounters/real_time/threads:2)
render=$(awk -F, '$1 == "\"BM_RenderPrometheus\"" {printf "%.1f", $3 / 1000}' <<<"$micro")
engine=$(kv "$("$build/bench/bench_dispatch" deliver "$events" 2>/dev/null)" ns_per_delivery)

echo "| metrics counters, per settled attempt | ns | share of the engine's own cost per delivery |"
echo "|---|---:|---:|"
printf '| engine alone: claim, lane, no-op send, settle in the in-memory outbox (reference, %s events x 4 hooks) | %s | 100 %% |\n' \
  "$events" "$engine"
awk -v a="$one" -v e="$engine" 'BEGIN {printf "| counters, 1 thread | %s | %.1f %% |\n", a, 100*a/e}'
awk -v a="$two" -v e="$engine" 'BEGIN {printf "| counters, 2 threads settling for one hook (contended) | %s | %.1f %% |\n", a, 100*a/e}'
echo
echo "| one scrape: render_prometheus(), 20 hooks x 3 error codes | ${render} us |"
echo "|---|---:|"

if [ -n "${BASE:-}" ]; then
  base_src=$root/build/bench-base/src
  base_build=$root/build/bench-base/build
  if [ ! -e "$base_src/.git" ]; then
    git -C "$root" worktree add --detach "$base_src" "$BASE" >/dev/null 2>&1
  fi
  git -C "$base_src" checkout -q --detach "$BASE"
  cp "$root/bench/bench_dispatch.cpp" "$base_src/bench/bench_dispatch.cpp"
  cmake -S "$base_src" -B "$base_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEVENTHOOKS_BUILD_TESTS=OFF \
    -DEVENTHOOKS_BUILD_PYTHON=OFF >/dev/null
  nice -n 10 cmake --build "$base_build" -j2 --target bench_dispatch >/dev/null
  git -C "$base_src" checkout -q -- bench/bench_dispatch.cpp
  before=() after=()
  for _ in $(seq "$pairs"); do
    before+=("$(kv "$("$base_build/bench/bench_dispatch" deliver "$events" 2>/dev/null)" per_s)")
    after+=("$(kv "$("$build/bench/bench_dispatch" deliver "$events" 2>/dev/null)" per_s)")
  done
  b=$(printf '%s\n' "${before[@]}" | median)
  a=$(printf '%s\n' "${after[@]}" | median)
  echo
  echo "| engine alone, deliveries/s ($events events x 4 hooks, $pairs alternating pairs, median) | deliveries/s | runs |"
  echo "|---|---:|---|"
  printf '| before: %s (no metrics counters) | %s | %s |\n' "$(git -C "$root" rev-parse --short "$BASE")" "$b" "${before[*]}"
  awk -v a="$a" -v b="$b" -v r="${after[*]}" -v h="$(git -C "$root" rev-parse --short HEAD)" \
    'BEGIN {printf "| after: %s (counters) | %s (%+.1f %%) | %s |\n", h, a, 100*(a-b)/b, r}'
fi
