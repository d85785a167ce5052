#!/usr/bin/env bash
# SimpleEmailHook figures of issue 3: mails/s from one process (bench_smtp, reused SMTP sessions) to postfix's
# smtp-sink, next to postfix's smtp-source sending the same number of mails of the same payload size to the
# same sink over reused sessions (-d), at 1 and 4 sessions, in the same run. Prints a markdown table.
# Each figure is the median of REPEAT alternating runs: on a shared 2-core machine single runs swing widely.
# Usage: scripts/bench-smtp.sh [BUILD_DIR] [MESSAGES] [BODY_BYTES] [REPEAT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
messages=${2:-20000}
bytes=${3:-1024}
repeat=${4:-5}
source "$root/scripts/servers/lib.sh"
work=$(mktemp -d)
trap 'kill_pidfile "$work/sink.pid"; rm -rf "$work"' EXIT

port=$(free_port)
# smtp-sink must drop privileges when started as root; -c counts, backlog 256.
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" 127.0.0.1:"$port" 256 >"$work/sink.log" 2>&1 &
echo $! >"$work/sink.pid"
wait_port "$port" 10

now() { date +%s.%N; }
echo "| sessions | smtp-source mails/s | eventhooks, N threads calling trigger() | ratio | eventhooks, one thread, N deliver_async() in flight | ratio | eventhooks, Dispatcher with N workers (fire() all, then delivered) | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in 1 4; do
  ref_rates=() sync_rates=() async_rates=() dispatch_rates=()
  for _ in $(seq "$repeat"); do
    t0=$(now)
    /usr/sbin/smtp-source -d -s "$s" -m "$messages" -l "$bytes" -f bench@example.com -t sink@example.com \
      127.0.0.1:"$port"
    t1=$(now)
    ref_rates+=("$(awk -v n="$messages" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n/(b-a)}')")
    line=$("$build/bench/bench_smtp" 127.0.0.1 "$port" "$s" "$messages" "$bytes")
    sync_rates+=("${line##*rate=}")
    line=$("$build/bench/bench_smtp" 127.0.0.1 "$port" "async:$s" "$messages" "$bytes")
    async_rates+=("${line##*rate=}")
    line=$("$build/bench/bench_smtp" 127.0.0.1 "$port" "dispatch:$s" "$messages" "$bytes")
    dispatch_rates+=("${line##*rate=}")
  done
  ratio_row "$s" "$(median_of "${ref_rates[@]}")" "$(median_of "${sync_rates[@]}")" \
    "$(median_of "${async_rates[@]}")" "$(median_of "${dispatch_rates[@]}")"
done
echo
echo "Median of $repeat alternating runs of $messages mails each ($bytes payload bytes, one recipient, plain SMTP on"
echo "loopback, sessions reused: smtp-source -d; eventhooks: one SimpleEmailHook). Load average at"
echo "the end: $(cut -d' ' -f1-3 /proc/loadavg)."
