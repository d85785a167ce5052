#!/usr/bin/env bash
# RabbitMQ figures of issue 4: persistent messages/s with publisher confirms from one process to the local
# broker — RabbitMqHook driven by N threads (bench_amqp) next to a plain rabbitmq-c loop keeping N unconfirmed
# messages in flight (bench_amqp_reference), same broker, same run, alternating. N = 256 is the issue's figure.
# Starts a broker (scripts/servers/rabbitmq.sh) unless EVENTHOOKS_AMQP_PORT says one is running.
# Prints a markdown table. Usage: scripts/bench-amqp.sh [BUILD_DIR] [MESSAGES] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
messages=${2:-20000}
rounds=${3:-3}
for exe in bench_amqp bench_amqp_reference; do
  [ -x "$build/bench/$exe" ] || { echo "missing $build/bench/$exe (build with -DEVENTHOOKS_BUILD_BENCH=ON)" >&2; exit 1; }
done

if [ -z "${EVENTHOOKS_AMQP_PORT:-}" ]; then
  state=$(mktemp -d)
  trap 'bash "$root/scripts/servers/rabbitmq.sh" stop "$state/rabbitmq" >/dev/null 2>&1; rm -rf "$state"' EXIT
  bash "$root/scripts/servers/rabbitmq.sh" start "$state/rabbitmq" "$state/env.sh" >/dev/null
  # shellcheck disable=SC1091
  source "$state/env.sh"
fi

queue=eventhooks-bench-$$
rate() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }
best() { sort -n | tail -n1; }

echo "Persistent messages/s with publisher confirms, $messages messages per run into a fresh durable queue, best of $rounds."
echo
echo "| in flight | RabbitMqHook, N threads calling trigger() | RabbitMqHook, 1 thread, deliver_async() window N | rabbitmq-c loop (window = N) | trigger() ratio | deliver_async() ratio |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in 16 64 256; do
  hook_rates=() async_rates=() ref_rates=()
  for _ in $(seq "$rounds"); do
    ref_rates+=("$("$build/bench/bench_amqp_reference" "$queue" "$messages" "$n" | rate)")
    hook_rates+=("$("$build/bench/bench_amqp" "$queue" "$messages" "$n" | rate)")
    async_rates+=("$("$build/bench/bench_amqp" "$queue" "$messages" "async:$n" | rate)")
  done
  h=$(printf '%s\n' "${hook_rates[@]}" | best)
  a=$(printf '%s\n' "${async_rates[@]}" | best)
  r=$(printf '%s\n' "${ref_rates[@]}" | best)
  ratio_h=$(awk -v a="$h" -v b="$r" 'BEGIN {printf "%.0f %%", 100*a/b}')
  ratio_a=$(awk -v a="$a" -v b="$r" 'BEGIN {printf "%.0f %%", 100*a/b}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$h" "$a" "$r" "$ratio_h" "$ratio_a"
done
[ -n "${EVENTHOOKS_AMQP_CTL:-}" ] && "$EVENTHOOKS_AMQP_CTL" delete_queue "$queue" >/dev/null 2>&1 || true
