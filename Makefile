# Thin wrapper over CMake. The two set-up commands of the README are `make demo` and `make test`.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# The default scenario: a process bound to both Test Engines through a PASID (SVA), its pages faulted in through
# ATS and PRI, then unbound, with the driver's trace lines (sw/programs/sva_pri). `make demo DEMO_FW=hello` runs
# another.
DEMO_FW ?= sva_pri

.PHONY: all deps configure build demo waves test bench format clean fuzz fuzz-coverage fuzz-seeds

all: build

deps:
	@sh tools/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

# The default platform with the default firmware scenario.
# DEMO_ARGS go to the platform (e.g. DEMO_ARGS="--vcd demo.vcd"); a typo in DEMO_FW lists the programs.
DEMO_ARGS ?=
# A firmware that never powers off stops here (exit 120) instead of running forever; DEMO_ARGS may override it.
DEMO_MAX_TIME ?= 10s
demo: build
	@test -f $(BUILD)/sw/$(DEMO_FW).elf || { echo "make demo: no program '$(DEMO_FW)'; DEMO_FW is one of:" \
	    $$(ls $(BUILD)/sw/*.elf | sed 's|.*/||; s|\.elf$$||'); exit 2; }
	@$(BUILD)/bin/smmuv3-vp --firmware $(BUILD)/sw/$(DEMO_FW).elf --max-sim-time $(DEMO_MAX_TIME) $(DEMO_ARGS)

# The scenarios of waves/scenarios.txt (the demo among them) with --vcd into $(BUILD)/waves/, each with a save file
# that names its VCD: `gtkwave $(BUILD)/waves/smmu_dma.gtkw`.
waves: build
	@python3 tools/waves.py prepare $(BUILD)/bin/smmuv3-vp $(BUILD)/sw $(BUILD)/waves

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

# Coverage-guided fuzzing of the SMMU core (tests/fuzz/README.md): a clang build of its own in $(BUILD)/fuzz, new
# inputs in $(FUZZ_WORK) (outside the source tree: the committed corpus changes only on purpose), crashes in
# $(BUILD)/fuzz/artifacts.
FUZZ_SECONDS ?= 180
FUZZ_WORK ?= $(BUILD)/fuzz/corpus
FUZZ_CC ?= clang
# Extra libFuzzer options, e.g. FUZZ_FLAGS="-fork=1 -ignore_crashes=1" to keep going past a known crash.
FUZZ_FLAGS ?=
fuzz: deps
	@cmake -S tests/fuzz -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=Fuzz >/dev/null
	@cmake --build $(BUILD)/fuzz -j $(JOBS)
	@mkdir -p $(FUZZ_WORK) $(BUILD)/fuzz/artifacts
	$(BUILD)/fuzz/fuzz_smmu -max_total_time=$(FUZZ_SECONDS) -max_len=32768 -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/artifacts/ $(FUZZ_FLAGS) $(FUZZ_WORK) tests/fuzz/corpus

# Line coverage of components/smmuv3/core/*.c reached by the committed corpus (FUZZ_CORPUS to measure another).
FUZZ_CORPUS ?= tests/fuzz/corpus
fuzz-coverage: deps
	@JOBS=$(JOBS) sh tests/fuzz/coverage.sh $(BUILD)/fuzz-coverage $(FUZZ_CORPUS)

# Regenerates the committed seeds (tests/fuzz/corpus/seed-*) from tests/fuzz/gen_corpus.c.
fuzz-seeds: deps
	@cmake -S tests/fuzz -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=Fuzz >/dev/null
	@cmake --build $(BUILD)/fuzz -j $(JOBS) --target gen_corpus
	rm -f tests/fuzz/corpus/seed-*
	$(BUILD)/fuzz/gen_corpus tests/fuzz/corpus

format:
	@git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
