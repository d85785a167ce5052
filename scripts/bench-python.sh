#!/usr/bin/env bash
# WebHook deliveries/s from Python (issue 14), three ways against the same local nginx keep-alive sink in the
# same run, in alternating rounds: the C++ API (bench_webhook: N threads calling trigger()), Python threads
# calling trigger() on the module, and the pure-Python reference (bench/python_webhook.py says what it is).
# Prints a markdown table. Usage: scripts/bench-python.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
secs=${2:-5}
rounds=${3:-3}
source "$root/scripts/servers/lib.sh"
work=$(mktemp -d)
trap 'kill_pidfile "$work/nginx.pid"; rm -rf "$work"' EXIT

url=$(start_nginx_sink "$work")
body=$(bench_body)
printf '%s' "$body" >"$work/body.json"
py() { PYTHONPATH="$build/python" /usr/bin/python3 "$root/bench/python_webhook.py" "$@"; }

echo "| threads | C++ API, trigger() (req/s) | Python module, trigger_outcome() (req/s) | vs C++ | pure-Python reference, requests (req/s) | module / reference |"
echo "|---:|---:|---:|---:|---:|---:|"
for c in 1 4; do
  cpp=() mod=() ref=()
  for _ in $(seq "$rounds"); do
    line=$("$build/bench/bench_webhook" "$url" "$c" "$secs" "$work/body.json"); cpp+=("${line##*rate=}")
    line=$(py module "$url" "$c" "$secs" "$work/body.json"); mod+=("${line##*rate=}")
    line=$(py reference "$url" "$c" "$secs" "$work/body.json"); ref+=("${line##*rate=}")
  done
  c_med=$(median_of "${cpp[@]}") m_med=$(median_of "${mod[@]}") r_med=$(median_of "${ref[@]}")
  awk -v c="$c" -v a="$c_med" -v m="$m_med" -v r="$r_med" \
    'BEGIN { printf "| %d | %.0f | %.0f | %.0f %% | %.0f | %.1f× |\n", c, a, m, 100 * m / a, r, m / r }'
done
echo
echo "Medians of $rounds alternating rounds of ${secs} s each (C++, module, reference in turn)."
