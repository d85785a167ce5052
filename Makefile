# Thin wrapper around CMake presets and the project's scripts. `make run` and `make test` are the Quick start.
JOBS ?= $(shell nproc)
CLI := build/release/eventhooks
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test bench fuzz format lint install python clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The main job on the embedded default: a FileHook, no outside service.
run: build
	@mkdir -p build/run
	$(CLI) trigger -c examples/run.yaml --data '{"event": "deploy_finished", "service": "api", "ok": true}'
	@echo "--- build/run/events.jsonl (last line) ---"
	@tail -n 1 build/run/events.jsonl

test: deps
	@scripts/run-tests.sh

bench: build
	@scripts/bench.sh

# Every libFuzzer target for FUZZ_SECONDS (clang build in build/fuzz; docs/testing.md).
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

# clang-tidy reads the lint preset's compile commands (configure only: clang cannot use GCC's precompiled headers).
lint: deps
	@cmake --preset lint >/dev/null
	@git ls-files 'src/*.cpp' 'apps/*.cpp' | xargs clang-tidy -p build/lint --quiet

install: build
	cmake --install build/release $(if $(PREFIX),--prefix $(PREFIX),)

# The Python package (docs/python.md): into the active virtualenv, else into build/venv (Debian's python3 with its
# packages visible); Debian's own python3 refuses pip installs outside a virtualenv. Nothing from a package index.
PYTHON_ENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),build/venv)
python: deps
	@[ -x $(PYTHON_ENV)/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $(PYTHON_ENV)
	CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PYTHON_ENV)/bin/python -m pip install --no-build-isolation --no-index \
	  --no-deps $(PIP_FLAGS) .
	@echo "installed into $(PYTHON_ENV): $(PYTHON_ENV)/bin/python -c 'import eventhooks'"

clean:
	rm -rf build
