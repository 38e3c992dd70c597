# Thin wrapper over CMake. The two set-up commands of the README are `make demo` and `make test`.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# The default scenario: the firmware SMMUv3 driver drives the DMA test master through bypass, abort, stage 1,
# stage 2 and nested translation, faults and events (sw/programs/smmu_dma). `make demo DEMO_FW=hello` runs another.
DEMO_FW ?= smmu_dma

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

# Release build with link-time optimisation in $(BUILD)/release (the SMMU core is called across C files on every
# translation); figures go to stdout and $(BUILD)/bench/results.json. The Release tree is not $(BUILD)/bench: that
# is the main build's bench/ folder, whose CTestTestfile a nested build tree would replace (ctest would then run
# the Release tree's tests too).
bench: deps
	@cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON >/dev/null
	@cmake --build $(BUILD)/release -j $(JOBS)
	@sh bench/run.sh $(BUILD)/release $(BUILD)/bench/results.json

format:
	@git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
