#!/usr/bin/env bash
# Scale-out figures of issue 12 (docs/scale-out.md), against the 3-node test cluster (scripts/servers/
# rabbitmq-cluster.sh; started here unless EVENTHOOKS_CLUSTER_URLS says one is running):
#  1. deliveries/s with 1, 2, 4, 8 `eventhooks worker` processes sharing one quorum queue, to a sink that answers
#     every request after 20 ms (bench/delayed_sink.py), per-hook concurrency 8 per worker: the endpoint, not the
#     CPU, is the limit, so the ideal is N x the 1-worker figure;
#  2. enqueue rate through the RabbitMQ outbox (bench_outbox_enqueue, WINDOW threads) next to a plain rabbitmq-c
#     confirm loop with the same window into a quorum queue on the same node (bench_amqp_reference), same run.
# Prints markdown tables. Usage: scripts/bench-scale.sh [BUILD_DIR] [EVENTS_PER_WORKER] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
per_worker=${2:-1500}
rounds=${3:-3}
for exe in bench/bench_outbox_enqueue bench/bench_amqp_reference eventhooks; do
  [ -x "$build/$exe" ] || { echo "missing $build/$exe (build with -DEVENTHOOKS_BUILD_BENCH=ON)" >&2; exit 1; }
done
# shellcheck source=servers/lib.sh
source "$root/scripts/servers/lib.sh"

work=$(mktemp -d)
cleanup() {
  for f in "$work"/worker*.pid "$work/sink.pid"; do [ -f "$f" ] && kill_pidfile "$f"; done
  [ -n "${own_cluster:-}" ] && bash "$root/scripts/servers/rabbitmq-cluster.sh" stop "$work/cluster" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${EVENTHOOKS_CLUSTER_URLS:-}" ]; then
  own_cluster=1
  bash "$root/scripts/servers/rabbitmq-cluster.sh" start "$work/cluster" "$work/env.sh" >/dev/null
  # shellcheck disable=SC1091
  source "$work/env.sh"
fi
export EVENTHOOKS_BENCH_URLS=$EVENTHOOKS_CLUSTER_URLS

sink_port=$(free_port)
/usr/bin/python3 "$root/bench/delayed_sink.py" "$sink_port" 0.02 &
echo $! >"$work/sink.pid"
wait_port "$sink_port" 10
count() { curl -s "http://127.0.0.1:$sink_port/count"; }

echo "Deliveries/s, sink answering after 20 ms, per-hook concurrency 8 per worker, $per_worker events per worker,"
echo "3-node cluster and sink on this machine ($(nproc) cores); best of $rounds."
echo
echo "| workers | events | deliveries/s | x 1-worker figure | ideal |"
echo "|---:|---:|---:|---:|---:|"
one=""
for n in 1 2 4 8; do
  events=$((per_worker * n))
  best=0
  for r in $(seq "$rounds"); do
    queue=eventhooks-bench-scale-$$-$n-$r
    "$build/bench/bench_outbox_enqueue" "$queue" "$events" 64 >/dev/null
    cat >"$work/config.yaml" <<EOF
outbox:
  url: $EVENTHOOKS_CLUSTER_URLS
  queue: $queue
hooks:
  sink:
    type: WebHook
    url: http://127.0.0.1:$sink_port/hook
EOF
    before=$(count)
    start=$(date +%s.%N)
    for i in $(seq "$n"); do
      "$build/eventhooks" worker -c "$work/config.yaml" --concurrency 8 --threads 2 >>"$work/worker$i.log" 2>&1 &
      echo $! >"$work/worker$i.pid"
    done
    while [ $(( $(count) - before )) -lt "$events" ]; do sleep 0.05; done
    end=$(date +%s.%N)
    for i in $(seq "$n"); do kill_pidfile "$work/worker$i.pid"; done
    rate=$(awk -v e="$events" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", e/(b-a)}')
    [ "$rate" -gt "$best" ] && best=$rate
    for q in "$queue" "$queue.dead"; do "$EVENTHOOKS_CLUSTER_CTL" 1 delete_queue "$q" >/dev/null 2>&1 || true; done
  done
  [ -z "$one" ] && one=$best
  printf '| %s | %s | %s | %s | %s |\n' "$n" "$events" "$best" \
    "$(awk -v a="$best" -v b="$one" 'BEGIN {printf "%.2f", a/b}')" "$n.00"
done

echo
echo "Enqueue rate (events/s, one hook each, persistent, publisher confirms) into a quorum queue, window 64"
echo "unconfirmed; best of $rounds, alternating."
echo
echo "| RabbitMQ outbox enqueue() | rabbitmq-c confirm loop | ratio |"
echo "|---:|---:|---:|"
# The reference talks to the first node: so does the outbox (its first URL).
IFS=, read -r first_port _ <<<"$EVENTHOOKS_CLUSTER_PORTS"
export EVENTHOOKS_AMQP_HOST=127.0.0.1 EVENTHOOKS_AMQP_PORT=$first_port EVENTHOOKS_AMQP_USER=eventhooks
export EVENTHOOKS_AMQP_PASSWORD=$EVENTHOOKS_CLUSTER_PASSWORD EVENTHOOKS_BENCH_QUEUE_TYPE=quorum
rate_of() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }
messages=$((per_worker * 4))
o_best=0 r_best=0
for r in $(seq "$rounds"); do
  rq=eventhooks-bench-ref-$$-$r
  rr=$("$build/bench/bench_amqp_reference" "$rq" "$messages" 64 | rate_of)
  "$EVENTHOOKS_CLUSTER_CTL" 1 delete_queue "$rq" >/dev/null 2>&1 || true
  oq=eventhooks-bench-enq-$$-$r
  orate=$("$build/bench/bench_outbox_enqueue" "$oq" "$messages" 64 | rate_of)
  for q in "$oq" "$oq.dead"; do "$EVENTHOOKS_CLUSTER_CTL" 1 delete_queue "$q" >/dev/null 2>&1 || true; done
  [ "$rr" -gt "$r_best" ] && r_best=$rr
  [ "$orate" -gt "$o_best" ] && o_best=$orate
done
printf '| %s | %s | %s |\n' "$o_best" "$r_best" "$(awk -v a="$o_best" -v b="$r_best" 'BEGIN {printf "%.0f %%", 100*a/b}')"
