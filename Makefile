# Thin wrapper over CMake. Every target installs what it needs first.
#   make run    build, then boot the default kernel and show what ktstr does
#   make test   build (normal + ASan/UBSan) and run the whole ctest suite
#   make bench  build and run the benchmarks (bench/)
#   make fuzz   build and run the libFuzzer targets (fuzz/)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_RUNS  ?= 10000000
CMAKE_GEN  := -G Ninja
# ccache keyed on paths relative to the checkout, so a fresh clone reuses
# the objects of another one on the same machine.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
LAUNCHER   := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# -g1: line tables for backtraces, at a fraction of full debug info's build time.
NORMAL_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"

.PHONY: all deps build build-asan run test test-unit bench fuzz clean format

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) $(LAUNCHER) $(NORMAL_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) $(LAUNCHER) -DCMAKE_BUILD_TYPE=Debug -DKTSTR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@scripts/run-demo $(BUILD)

test: build build-asan
	@echo "== unit tests under ASan/UBSan ($(ASAN_BUILD))"
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit
	@echo "== full suite, unit + real-VM tests ($(BUILD))"
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/run-bench $(BUILD)

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DKTSTR_FUZZ=ON \
	  -DKTSTR_SANITIZE=ON -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_wire fuzz_guest_kernel
	@scripts/run-fuzz $(FUZZ_BUILD) $(FUZZ_RUNS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
