# husk: `make` builds build/husk; `make test` runs every test.
CC      ?= gcc
BUILD   ?= build
PY      := /usr/bin/python3

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wformat=2 -Wswitch-default -Wpointer-arith -Wundef -Wvla -Wcast-qual \
           -Wno-format-nonliteral -Wno-format-truncation
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -iquote src -MMD -MP -fno-strict-aliasing
LDLIBS  := -ljson-c -lseccomp

# The layout: each folder of src/ but cmd/ is a part of the library and
# builds into one archive, $(BUILD)/lib<part>.a; each folder of src/cmd/ is a
# program and links into one binary, $(BUILD)/<program>, from its own
# objects and the archives it names. Parts use only the parts after them in
# PARTS (a link order that holds for every program):
#   cli      the command line every program shares: global flags, a table
#            of commands, errors, escaped output, running a companion
#   launch   husk launch's checklist (husk-launch only)
#   registry the distribution API client, libcurl (husk-pull only)
#   image    OCI image layouts and archives, references and the store of
#            pulled images (husk-launch and husk-pull)
#   net      networking's kernel plumbing: netlink, nftables (husk-net only)
#   runtime  the container's life: create, start, exec, state, inspect
#   cgroup   cgroups: v1 and v2 behind one interface
#   linux    one kernel concern per file
#   netinfo  what husk knows of networking without the kernel plumbing:
#            leases, subnets and ports as text, interface addresses
#   spec     config.json into C structs
#   common   errors, logging, cleanup, files, syscalls
PARTS := cli launch registry image net runtime cgroup linux netinfo spec common
PART_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/$(1)/*.c))
PART_LIB = $(BUILD)/lib$(1).a
ALL_LIBS := $(foreach p,$(PARTS),$(call PART_LIB,$(p)))

# husk: the OCI face. Linked statically: no dynamic loader on every
# container start (0.8 ms of each invocation here). Sanitizer runtimes
# cannot be static, so a sanitizer build links it dynamically.
HUSK_STATIC := $(if $(findstring -fsanitize,$(CFLAGS) $(LDFLAGS)),,-static)
# Static x86-64 builds enter at hk_entry, which maps the program's pages
# before glibc's start faults them in one by one (src/common/entry.c).
ENTRY_FLAGS := -Wl,-u,hk_entry -Wl,-e,hk_entry
HUSK_ENTRY := $(if $(and $(HUSK_STATIC),$(filter x86_64,$(shell uname -m))),$(ENTRY_FLAGS))
# With libdbus-1 (Debian's libdbus-1.a) for the systemd cgroup manager,
# which only husk has (cgroup/cgroup-systemd*.c; sd-stubs.c: see there).
husk_PARTS  := cli runtime cgroup linux netinfo spec common
husk_LINK   := $(HUSK_STATIC) $(HUSK_ENTRY)
husk_LDLIBS := $(LDLIBS) -ldbus-1
# husk-net: `husk net`, which husk execs. Linked dynamically: Debian ships
# libmnl and libnftables as shared libraries only, so only the networking
# commands load them.
husk-net_PARTS  := cli net runtime cgroup linux netinfo spec common
husk-net_LINK   :=
husk-net_LDLIBS := $(LDLIBS) -lnftables -lmnl
# husk-launch: `husk launch`, which husk execs, so that husk carries no
# archive parsers. Linked statically too: libarchive.so drags in libxml2,
# ICU and libstdc++ (6.9 ms of loading per run here); statically only the
# tar reader and the decompressors come along (1.9 ms a run, 3 MB).
husk-launch_PARTS  := cli launch image runtime cgroup linux netinfo spec common
husk-launch_LINK   := $(HUSK_STATIC) $(HUSK_ENTRY)
husk-launch_LDLIBS := $(LDLIBS) -larchive -lnettle -lz -lzstd -llzma -lbz2 -llz4
# husk-pull: `husk pull`, `images`, `rmi`, `login`, `logout`, which husk
# execs, and husk launch runs to pull an image its cache lacks: the only
# binary with libcurl. Linked dynamically (Debian's libcurl has no static
# build that links), which costs a pull a few ms and never a launch of an
# image the cache has.
husk-pull_PARTS  := cli launch registry image runtime cgroup linux netinfo spec common
husk-pull_LINK   :=
husk-pull_LDLIBS := $(LDLIBS) -larchive -lnettle -lz -lzstd -llzma -lbz2 -llz4 -lcurl -lssl \
		    -lpthread
# husk-init: a static PID 1 with no library at all, so it runs in any
# container's rootfs; linked with musl, whose start touches a sixth of the
# pages glibc's static start does (src/cmd/husk-init/init.c).
INIT_CC ?= musl-gcc
husk-init_PARTS  :=
husk-init_LINK   := -static
husk-init_LDLIBS :=
PROGRAMS := husk husk-net husk-launch husk-pull husk-init
CMD_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/cmd/$(1)/*.c))
ALL_OBJ := $(foreach p,$(PARTS),$(call PART_OBJ,$(p))) \
	   $(foreach c,$(PROGRAMS),$(call CMD_OBJ,$(c)))
# what the unit tests link: every part, every library
ALL_LDLIBS := $(LDLIBS) -ldbus-1 -lnftables -lmnl -larchive -lnettle -lz -lzstd -llzma -lbz2 -llz4 -lcurl \
	      -lssl -lpthread

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# what compiling needs, then what the tests run (scripts/setup.sh)
DEPS_OK := $(BUILD)/.deps-ok
TEST_DEPS_OK := $(BUILD)/.test-deps-ok

.PHONY: all test unit integration vm-test vm-systemd-test vm-shell asan faults launch-kill demo bench bench-v2 lint clean deps race \
	diff diff-smoke

all: $(addprefix $(BUILD)/,$(PROGRAMS))

$(DEPS_OK): scripts/setup.sh
	@mkdir -p $(@D)
	scripts/setup.sh build
	@touch $@

$(TEST_DEPS_OK): scripts/setup.sh
	@mkdir -p $(@D)
	scripts/setup.sh test
	@touch $@

deps: $(DEPS_OK) $(TEST_DEPS_OK)

# libdbus-1's headers, for the one file that calls it
DBUS_CFLAGS = $(shell pkg-config --cflags dbus-1)
$(BUILD)/src/cgroup/cgroup-systemd-dbus.o: ALL_CFLAGS += $(DBUS_CFLAGS)

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Made afresh: `ar r` never drops a member whose source moved elsewhere.
# And made again when the list of its members changes (lib<part>.members
# is rewritten only then): a file moved to another part leaves every
# remaining member older than the archive, and its stale copy in this
# archive would still be linked, ahead of the new one.
define PART_RULE
$(BUILD)/lib$(1).members: FORCE
	@mkdir -p $$(@D)
	@echo '$(call PART_OBJ,$(1))' | cmp -s - $$@ || echo '$(call PART_OBJ,$(1))' >$$@
$(call PART_LIB,$(1)): $(call PART_OBJ,$(1)) $(BUILD)/lib$(1).members
	@rm -f $$@
	@$(AR) rcs $$@ $(call PART_OBJ,$(1))
endef
$(foreach p,$(PARTS),$(eval $(call PART_RULE,$(p))))
.PHONY: FORCE
FORCE:

define CMD_RULE
$(BUILD)/$(1): $(call CMD_OBJ,$(1)) $(foreach p,$($(1)_PARTS),$(call PART_LIB,$(p)))
	@echo "  LD      $$@"
	@$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) $($(1)_LINK) -o $$@ $$^ $($(1)_LDLIBS)
endef
$(foreach c,$(PROGRAMS),$(eval $(call CMD_RULE,$(c))))

# The sanitizer runtimes cannot be linked statically: `make asan` builds
# husk-init without.
$(call CMD_OBJ,husk-init) $(BUILD)/husk-init: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(call CMD_OBJ,husk-init) $(BUILD)/husk-init: CC := $(INIT_CC)
$(BUILD)/husk-init: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS))

$(BUILD)/tests/%: tests/unit/%.c $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wno-missing-prototypes -o $@ $< $(ALL_LIBS) $(ALL_LDLIBS) \
		-lcmocka

# Helpers the integration tests run (tests/integration/*.c), linked like the
# unit tests against the library's archives.
HELPER_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/*.c))

$(HELPER_BIN): $(BUILD)/tests/%: tests/integration/%.c $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wno-missing-prototypes -o $@ $< $(ALL_LIBS) $(LDLIBS)

# race_flip runs inside a busybox container: static, and without the
# sanitizer runtimes (which cannot be static), as husk-init.
$(BUILD)/tests/race_flip: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/race_flip: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static
$(BUILD)/tests/keyprobe: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/keyprobe: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static
$(BUILD)/tests/mount_unlock: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/mount_unlock: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static
$(BUILD)/tests/root_probe: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/root_probe: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static
# the systemd VM's forger of JobRemoved: a libdbus client of its own
$(BUILD)/tests/jobforge: ALL_CFLAGS += $(DBUS_CFLAGS)
$(BUILD)/tests/jobforge: override LDLIBS := $(LDLIBS) -ldbus-1
$(BUILD)/tests/seize_probe: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/seize_probe: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Integration tests need root: they start real containers.
integration: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-net $(BUILD)/husk-launch $(BUILD)/husk-pull \
		$(BUILD)/husk-init $(HELPER_BIN)
	HUSK=$(abspath $(BUILD)/husk) $(PY) -m pytest -q -p no:cacheprovider tests/integration

test: all lint unit integration vm-test vm-systemd-test

# The differential harness (tests/diff/README.md): each case's config run
# under husk and under Debian's runc on the same bundle, what the container
# saw compared, the differences judged against the allow-list in README.md
# (Differences from runc). make test runs diff-smoke (every 7th case and every
# case of issue 16, about a minute); make diff runs every case.
DIFF_JOBS  ?= 2
DIFF_PROBE := $(BUILD)/tests/diff-probe
DIFF_RUN    = $(PY) tests/diff/run.py -j $(DIFF_JOBS) --husk $(abspath $(BUILD)/husk) \
	      --probe $(abspath $(DIFF_PROBE))
# the probe runs inside busybox containers: static, no sanitizer runtimes
$(DIFF_PROBE): tests/diff/probe.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(filter-out -fsanitize=%,$(CFLAGS)) -std=gnu11 $(WARN) -D_GNU_SOURCE -static -o $@ $<

diff: $(TEST_DEPS_OK) $(BUILD)/husk $(DIFF_PROBE)
	$(DIFF_RUN)

diff-smoke: $(TEST_DEPS_OK) $(BUILD)/husk $(DIFF_PROBE)
	$(DIFF_RUN) --subset

# A long campaign of the attacks on mount destinations (a co-container
# swapping /proc, /sys, /dev and bind parents for symlinks while containers
# are made: test_attack_mounts.py): RACE_CREATES creates per attack, where
# make test runs 100 to 300. RACE_HUSK=/usr/sbin/runc runs it against runc.
RACE_CREATES ?= 3000
RACE_HUSK    ?= $(abspath $(BUILD)/husk)
race: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-init $(BUILD)/tests/race_flip
	HK_RACE_CREATES=$(RACE_CREATES) HUSK=$(RACE_HUSK) $(PY) -m pytest -q -s -rs -p no:cacheprovider \
		tests/integration/test_attack_mounts.py

# cgroup v2: VM_TESTS run by pytest inside a qemu VM whose kernel (Debian's
# linux-image-amd64) has no cgroup v1 (tests/vm/README.md). Emulated (TCG):
# a test there is ~10x slower than here, so VM_TESTS stays small.
VM_TESTS   ?= tests/vm/test_v2_smoke.py tests/integration/test_cgroups.py \
              tests/integration/test_cgroups_fields.py tests/integration/test_cgroups_paths.py \
              tests/integration/test_devices_bpf.py tests/integration/test_lifecycle.py \
              tests/integration/test_inspect.py
VM_TIMEOUT ?= 900
vm-test: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-init $(HELPER_BIN)
	tests/vm/run --times --timeout $(VM_TIMEOUT) -e HUSK=$(abspath $(BUILD)/husk) -- \
		$(PY) -m pytest -q -p no:cacheprovider $(VM_TESTS)

# The systemd cgroup manager (--systemd-cgroup), husk beside runc, in the
# same VM booted with systemd as PID 1 and D-Bus (tests/vm/run --systemd):
# one boot for the cgroup v2 suite (the manager, the engines, the CRI path:
# CRI_PROTO names the CRI's api.proto when ../shared/cri/ lacks it), one for
# the hybrid layout's (--cgroup-v1).
VM_SYSTEMD_TESTS ?= tests/vm/test_systemd.py tests/vm/test_systemd_engines.py \
                    tests/vm/test_systemd_cri.py
VM_HYBRID_TESTS  ?= tests/vm/test_systemd_hybrid.py
vm-systemd-test: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-init $(BUILD)/tests/jobforge
	tests/vm/run --systemd --mem 1536M --times --timeout $(VM_TIMEOUT) -e HUSK=$(abspath $(BUILD)/husk) \
		-e CRI_PROTO -- \
		$(PY) -m pytest -q -p no:cacheprovider $(VM_SYSTEMD_TESTS)
	tests/vm/run --systemd --cgroup-v1 --times --timeout $(VM_TIMEOUT) \
		-e HUSK=$(abspath $(BUILD)/husk) -- $(PY) -m pytest -q -p no:cacheprovider $(VM_HYBRID_TESTS)

# a shell in that VM, with $$HUSK set, to look around or debug a test
vm-shell: $(TEST_DEPS_OK) $(BUILD)/husk
	tests/vm/run --shell -e HUSK=$(abspath $(BUILD)/husk)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" test

# A build with fault injection points (common/fault.h) for the robustness
# tests; never the release build.
faults:
	$(MAKE) BUILD=build-faults CFLAGS="-O2 -g -DHUSK_FAULTS" build-faults/husk

# husk launch killed at random instants, then delete --force: nothing may
# stay (make test runs 40 rounds of it; this runs KILL_ROUNDS).
KILL_ROUNDS ?= 1000
launch-kill: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-launch $(BUILD)/husk-init
	HK_LAUNCH_KILL_ROUNDS=$(KILL_ROUNDS) HUSK=$(abspath $(BUILD)/husk) $(PY) -m pytest -q \
		-p no:cacheprovider tests/integration/test_attack_launch.py -k killed_at_any_instant

demo: $(TEST_DEPS_OK) $(BUILD)/husk
	scripts/demo.sh $(abspath $(BUILD)/husk)

bench: $(TEST_DEPS_OK) $(BUILD)/husk
	HUSK=$(abspath $(BUILD)/husk) bench/run

# The same on cgroup v2, in the test VM (qemu TCG: absolute times mean
# nothing there, the ratios do): results in build/bench-v2/results.md.
# Fewer runs and entries than the host's, for emulation's sake.
BENCH_V2_ENV := -e BENCH_N=20 -e BENCH_SERIES_N=30 -e BENCH_LIST=100 -e BENCH_SCALE=10 \
	-e BENCH_OUT=$(abspath $(BUILD)/bench-v2)
bench-v2: $(TEST_DEPS_OK) $(BUILD)/husk $(BUILD)/husk-init $(BUILD)/husk-launch
	mkdir -p $(BUILD)/bench-v2
	tests/vm/run --times --timeout 5400 --smp 2 --mem 2048 --rw $(abspath $(BUILD)/bench-v2) \
		-e HUSK=$(abspath $(BUILD)/husk) $(BENCH_V2_ENV) -- $(PY) bench/run

lint: $(DEPS_OK)
	clang-format --dry-run --Werror src/*/*.c src/*/*.h src/cmd/*/*.c src/cmd/*/*.h tests/unit/*.c tests/unit/*.h \
		tests/integration/*.c tests/diff/*.c
	$(PY) scripts/include-cycles.py src

clean:
	rm -rf build build-asan build-faults

-include $(ALL_OBJ:.o=.d)

# --- fuzzing (tests/fuzz/README.md) ------------------------------------------
# libFuzzer targets for the config decoder and the command line, built with
# clang, ASan and UBSan into build-fuzz/. `make fuzz-smoke` replays
# tests/fuzz/regressions/ and fuzzes each target 20 s (part of `make test`);
# `make fuzz FUZZ_SECONDS=1800` is the long campaign, figures in
# build-fuzz/summary.txt.
FUZZ_SECONDS ?= 1800
FUZZ_CC      := clang
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE -iquote src \
                -fno-strict-aliasing $(filter-out -Werror -Wno-format-truncation,$(WARN))
FUZZ_LIB     := $(patsubst %.c,build-fuzz/obj/%.o,$(wildcard src/spec/*.c src/common/*.c) \
                src/netinfo/ports.c src/netinfo/ipam.c)
FUZZ_CLI     := $(patsubst %.c,build-fuzz/obj/%.o,$(wildcard src/cli/*.c src/cmd/husk/*.c))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

build-fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		$(if $(filter src/cli/% src/cmd/%,$<),-Dmain=husk_cli_main -Wno-missing-prototypes) -c -o $@ $<

build-fuzz/fuzz_spec: build-fuzz/obj/tests/fuzz/fuzz_spec.o $(FUZZ_LIB)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# open/openat/fork/execv wrapped: see tests/fuzz/fuzz_cli.c
build-fuzz/fuzz_cli: build-fuzz/obj/tests/fuzz/fuzz_cli.o build-fuzz/obj/tests/fuzz/stubs.o \
		build-fuzz/obj/src/runtime/info-free.o $(FUZZ_CLI) $(FUZZ_LIB)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--wrap=open,--wrap=openat,--wrap=fork,--wrap=execv \
		-o $@ $^ $(LDLIBS)

fuzz-build: build-fuzz/fuzz_spec build-fuzz/fuzz_cli

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh smoke 20

fuzz: fuzz-build
	tests/fuzz/run.sh campaign $(FUZZ_SECONDS)

fuzz-clean:
	rm -rf build-fuzz

# make test runs the smoke run as well (once: not again in make asan's pass)
ifeq ($(BUILD),build)
test: fuzz-smoke diff-smoke
endif
clean: fuzz-clean

-include $(FUZZ_LIB:.o=.d) $(FUZZ_CLI:.o=.d) $(wildcard build-fuzz/obj/tests/fuzz/*.d)
