#!/usr/bin/env bash
# `make bench`: every end-to-end benchmark, each next to its reference measured in the same run.
# Results go to stdout and build/bench/results.md; docs/benchmarks.md records them with the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
mkdir -p "$root/build/bench"
# The benchmark executables are not part of the default build.
cmake --build "$build" --target benches -j "${JOBS:-$(nproc)}" >/dev/null
out=$root/build/bench/results.md
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores"
  for s in http smtp amqp delivery network metrics serve python; do
    script=$root/scripts/bench-$s.sh
    [ -x "$script" ] || continue
    echo; echo "## $s"; echo
    "$script" "$build"
  done
} | tee "$out"
