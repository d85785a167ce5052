#!/usr/bin/env bash
# Installs every Debian package (and the npm test servers) that building, testing, fuzzing and benchmarking need.
# Idempotent and quiet when everything is already there. Usage: scripts/install-deps.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libcurl4-openssl-dev libssl-dev librabbitmq-dev libsqlite3-dev
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libkainjow-mustache-dev
  # libmicrohttpd: eventhooks-http's HTTP server (`serve`, `worker --metrics`); cpp-httplib: the tests'
  # in-process HTTP servers and bench/bench_http_server.cpp's comparison.
  libmicrohttpd-dev libcpp-httplib-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  rabbitmq-server amqp-tools python3-aiosmtpd python3-botocore
  postfix nginx-light wrk hyperfine curl openssl nodejs npm
  clang-format clang-tidy sqlite3 procps time
  clang libclang-rt-14-dev
  # tests/integration/metrics_test.cpp and serve_test.cpp read the /metrics text with Prometheus' own parsers:
  # `promtool check metrics` (prometheus, never started as a service) and the Python prometheus_client parser.
  prometheus python3-prometheus-client
)
# The Python module (python/, docs/python.md): pybind11 and its tests and build backend, all from Debian (no
# Python package index is needed or used); python3-requests for the benchmark's pure-Python reference, python3-pika
# for the tests to set up the broker as the README example expects it.
python_pkgs=(
  python3-dev python3-pybind11 pybind11-dev python3-pytest python3-setuptools python3-wheel python3-pip python3-venv
  python3-requests python3-pika
)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}" "${python_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node from another source (nvm, a tarball) is fine: don't fight it with Debian's.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
pkgs=()
for p in "${missing[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done

if [ ${#pkgs[@]} -gt 0 ]; then
  echo "install-deps: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Test servers are started by the project's scripts, never as system services: keep apt from starting them.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1
  fi
  trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if [ "${1:-}" != "--no-npm" ] && [ -f tests/servers/package.json ]; then
  if [ ! -d tests/servers/node_modules ] || [ tests/servers/package-lock.json -nt tests/servers/node_modules ]; then
    echo "install-deps: installing npm test servers"
    (cd tests/servers && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
