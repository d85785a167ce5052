#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (the `fuzz` preset: clang, ASan+UBSan, -O1; FUZZ_PRESET=asan takes
# the asan preset's build, -O0, which `make test` has built anyway) and runs each one for
# SECONDS (default: $FUZZ_SECONDS, else 60) on a copy of its seed corpus in build/fuzz-work/<name>/, two at a
# time. Prints one line per target and the total wall time; exits non-zero when any target found a crash, a
# leak, a timeout or an out-of-memory (the input is kept as build/fuzz-work/<name>/crash-* etc.).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (TARGET: config_yaml, mime, ...; default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-${FUZZ_SECONDS:-60}}
shift $(($# > 0 ? 1 : 0))
jobs=${JOBS:-2}
parallel=${FUZZ_PARALLEL:-2}
start=$(date +%s)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found (scripts/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
preset=${FUZZ_PRESET:-fuzz}
bin="build/$preset/fuzz"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs" --target fuzzers
build_done=$(date +%s)

# Longest input per target: enough for the seeds to grow, small enough to keep executions fast.
declare -A max_len=([config_yaml]=4096 [config_json]=4096 [interpolate]=512 [amqp_url]=256 [mime]=8192
                    [sigv4]=1024 [payload]=2048)
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzzer.cpp; do t=$(basename "$f" _fuzzer.cpp); targets+=("$t"); done
fi

work=build/fuzz-work
mkdir -p "$work"
run_one() {
  local t=$1 dir="$work/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp -r "fuzz/corpus/$t/." "$dir/corpus/"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]:-4096}"
              -print_final_stats=1 -artifact_prefix="$dir/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  local rc=0
  "$bin/${t}_fuzzer" "${args[@]}" "$dir/corpus" >"$dir/fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$dir/exit-code"
}

echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $parallel at a time (logs in $work/<target>/fuzz.log)"
for t in "${targets[@]}"; do
  if [ ! -x "$bin/${t}_fuzzer" ]; then
    echo "fuzz: no target '$t'" >&2
    exit 2
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_one "$t" &
done
wait

status=0
printf '%-12s %12s %9s %7s %7s %7s  %s\n' target execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
  dir="$work/$t"
  log="$dir/fuzz.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  found=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
          -o -name 'oom-*' \) | sort | tr '\n' ' ')
  rc=$(cat "$dir/exit-code")
  result=ok
  if [ "$rc" != 0 ] || [ -n "$found" ]; then
    status=1
    result="FAILED (exit $rc) ${found:-see $log}"
  fi
  printf '%-12s %12s %9s %7s %7s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "$result"
done
end=$(date +%s)
echo "fuzz: total $((end - start)) s wall time (build $((build_done - start)) s, fuzzing $((end - build_done)) s)"
if [ $status != 0 ]; then
  echo "fuzz: FOUND PROBLEMS. Reproduce one with: $bin/<target>_fuzzer <file>; see docs/testing.md" >&2
fi
exit $status
