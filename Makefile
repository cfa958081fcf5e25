# keel — thin wrapper over CMake. `make run` and `make test` work on a fresh
# Debian 12 machine: both install what is missing first (scripts/deps).
BUILD ?= build
TYPE  ?= RelWithDebInfo
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test sanitize bench pg-up pg-down install clean

all: build

deps:
	@scripts/deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The example program on the embedded SQLite default: no configuration at all.
run: build
	$(BUILD)/bin/keel-example

# Every test on both backends, against a throwaway PostgreSQL.
test: build
	scripts/run-tests $(BUILD)

# ASan+UBSan over the whole suite, then TSan over the pool and lock tests.
sanitize: deps
	scripts/sanitize

# keel against the raw C APIs, SOCI, SQLAlchemy, pgloader and Alembic, in one run:
# JSON, bench/results/summary.md and PNG charts (scripts/run-bench lists the knobs
# for a quick run). Builds only what it runs: the benchmarks and the keel command.
bench: deps
	scripts/deps --bench
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_BENCH=ON \
	  -DKEEL_BUILD_TESTS=OFF -DKEEL_BUILD_EXAMPLES=OFF
	cmake --build build-bench -j $(JOBS) --target keel_bench keel_cli
	scripts/run-bench build-bench

# PostgreSQL for development: Docker when an engine answers, else pg-ephemeral.
pg-up:
	@if docker info >/dev/null 2>&1; then docker compose up -d --wait && \
	  echo "postgresql://keel:keel@127.0.0.1:55432/keel_test"; \
	else scripts/pg-ephemeral start; fi

pg-down:
	@if docker info >/dev/null 2>&1; then docker compose down -v; \
	else scripts/pg-ephemeral stop; fi

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-bench
