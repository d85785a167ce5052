# Thin wrapper around CMake presets and the project's scripts. `make run` and `make test` are the Quick start.
JOBS ?= $(shell nproc)
CLI := build/release/eventhooks
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test bench fuzz format lint install clean

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

lint: build
	@git ls-files 'src/*.cpp' 'apps/*.cpp' | xargs clang-tidy -p build/release --quiet

install: build
	cmake --install build/release $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf build
