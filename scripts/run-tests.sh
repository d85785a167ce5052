#!/usr/bin/env bash
# `make test`: build, start the test servers, run the whole suite in release and under ASan+UBSan, stop servers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc)}

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source build/test-servers/env.sh

status=0
echo "== release =="
ctest --preset release -j "$jobs" || status=1
echo "== asan+ubsan =="
ctest --preset asan -j "$jobs" -LE package || status=1
exit $status
