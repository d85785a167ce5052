#!/usr/bin/env bash
# `make test`: build, start the test servers, run the whole suite in release (then the Python module's pytest
# suite) and under ASan+UBSan, the delivery engine's threaded unit tests under TSan, stop the servers, then every
# fuzz target for 30 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc)}

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
# TSan: only what the dispatcher's threads touch (library + unit tests); the whole suite would not fit the budget.
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target eventhooks_unit_tests

trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source build/test-servers/env.sh

status=0
echo "== release =="
ctest --preset release -j "$jobs" || status=1
# No secret a test hands to a hook may show up in anything a test printed.
scripts/check-test-secrets.sh build/release || status=1
echo "== python: the module (build/release/python) against the same servers, with Debian's python3 =="
PYTHONPATH=build/release/python /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests || status=1
echo "== asan+ubsan =="
ctest --preset asan -j "$jobs" -LE 'package|slow' || status=1
echo "== tsan: dispatcher, outboxes, retry policy, transport I/O threads, hook lifetime =="
ctest --preset tsan -j "$jobs" -L unit -R 'Dispatcher|Outbox|RetryPolicy|IoThreads|HookLifetime' || status=1
echo "== fuzz: every libFuzzer target for 30 s =="
scripts/fuzz.sh 30 || status=1
exit $status
