#!/usr/bin/env bash
# `make test`: build, start the test servers, run the whole suite in release (then the Python module's pytest
# suite) and under ASan+UBSan, the delivery engine's threaded unit tests under TSan, stop the servers, then every
# fuzz target for 30 s (the asan build's fuzzers: one configuration fewer to compile than the fuzz preset).
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
# Two more than the cores: the `slow` tests (tests/CMakeLists.txt) start first and mostly wait on a broker or a
# restarted process, so the rest of the suite runs beside them.
ctest --preset release -j "$((jobs + 2))" || status=1
# No secret a test hands to a hook may show up in anything a test printed.
scripts/check-test-secrets.sh build/release || status=1
echo "== python: the module (build/release/python) against the same servers, with Debian's python3 =="
PYTHONPATH=build/release/python /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests || status=1
echo "== asan+ubsan =="
# Not the package test (a CMake install and consumer build) nor the `slow` ones (waiting, already run above).
# Two more than the cores, as above: most integration tests wait on a server or a child process.
ctest --preset asan -j "$((jobs + 2))" -LE 'package|slow' || status=1
echo "== tsan: dispatcher, outboxes, retry policy, transport I/O threads, hook lifetime =="
ctest --preset tsan -j "$jobs" -L unit -R 'Dispatcher|Outbox|RetryPolicy|IoThreads|HookLifetime' || status=1
# The fuzzers need no server: stop them first (three Erlang VMs idle on two cores are not free).
trap - EXIT
scripts/test-servers.sh stop
echo "== fuzz: every libFuzzer target for 30 s =="
FUZZ_PRESET=asan scripts/fuzz.sh 30 || status=1
exit $status
