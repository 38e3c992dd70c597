# Thin wrapper over CMake. The two set-up commands of the README are `make demo` and `make test`.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
DEMO_FW ?= hello

.PHONY: all deps configure build demo test bench format clean

all: build

deps:
	@sh tools/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The default platform with the default firmware scenario.
demo: build
	$(BUILD)/bin/smmuv3-vp --firmware $(BUILD)/sw/$(DEMO_FW).elf

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Release build with link-time optimisation in $(BUILD)/bench (the SMMU core is called across C files on every
# translation); figures go to stdout and $(BUILD)/bench/results.json.
bench: deps
	@cmake -S . -B $(BUILD)/bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON >/dev/null
	@cmake --build $(BUILD)/bench -j $(JOBS)
	@sh bench/run.sh $(BUILD)/bench

format:
	@git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
