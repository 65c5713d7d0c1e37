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

# The parts of src/net that need neither libmnl nor libnftables (lease
# records, ports, addresses) go into libhusk, so `husk inspect` can read them.
NET_PURE := src/net/lease.c src/net/ports.c src/net/ipam.c src/net/ifaddr.c
LIB_SRC := $(wildcard src/common/*.c src/spec/*.c src/linux/*.c src/cgroup/*.c src/runtime/*.c) \
           $(NET_PURE)
# cli/net.c (the networking commands) goes into husk-net only, and
# cli/net-exec.c (`husk net` running husk-net) into husk and husk-launch;
# cli/launch.c (`husk launch` itself) into husk-launch only, and
# cli/launch-exec.c (`husk launch` running husk-launch) into husk and husk-net.
CLI_COMPANION := src/cli/net.c src/cli/net-exec.c src/cli/launch.c src/cli/launch-exec.c \
                 src/cli/pull.c src/cli/pull-exec.c src/cli/launch-pull.c src/cli/images.c src/cli/login.c
CLI_SRC := $(filter-out $(CLI_COMPANION),$(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
NET_SRC := $(filter-out $(NET_PURE),$(wildcard src/net/*.c))
NET_OBJ := $(NET_SRC:%.c=$(BUILD)/%.o)
# Debian ships libmnl and libnftables as shared libraries only.
NET_LDLIBS := -lnftables -lmnl
# husk launch: images (libarchive, nettle's sha256) and the launch face, in
# a companion binary so that husk, the OCI face, carries no archive parsers.
# Linked statically too: libarchive.so drags in libxml2, ICU and libstdc++
# (6.9 ms of loading per run here); statically only the tar reader and the
# decompressors come along (1.9 ms a run, 3 MB).
# The registry client (src/image/registry*.c, libcurl) is husk-pull's only:
# husk pull, and husk launch of an image it lacks, run that binary.
PULL_SRC := $(wildcard src/image/registry*.c)
PULL_OBJ := $(PULL_SRC:%.c=$(BUILD)/%.o)
LAUNCH_SRC := $(filter-out $(PULL_SRC),$(wildcard src/image/*.c src/launch/*.c))
LAUNCH_OBJ := $(LAUNCH_SRC:%.c=$(BUILD)/%.o)
LAUNCH_LDLIBS := -larchive -lnettle -lz -lzstd -llzma -lbz2 -llz4
PULL_LDLIBS := -lcurl -lpthread
EXEC_OBJ := $(BUILD)/src/cli/net-exec.o $(BUILD)/src/cli/launch-exec.o $(BUILD)/src/cli/pull-exec.o
INIT_SRC := $(wildcard src/init/*.c)
INIT_OBJ := $(INIT_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

DEPS_OK := $(BUILD)/.deps-ok

.PHONY: all test unit integration vm-test vm-shell asan faults launch-kill demo bench lint clean deps race \
	diff diff-smoke

all: $(BUILD)/husk $(BUILD)/husk-init $(BUILD)/husk-net $(BUILD)/husk-launch $(BUILD)/husk-pull

$(DEPS_OK): scripts/setup.sh
	@mkdir -p $(@D)
	scripts/setup.sh
	@touch $@

deps: $(DEPS_OK)

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Made afresh: `ar r` never drops a member whose source moved elsewhere.
$(BUILD)/libhusk.a: $(LIB_OBJ)
	@rm -f $@
	@$(AR) rcs $@ $^

# husk is linked statically: no dynamic loader on every container start
# (0.8 ms of each invocation here). Sanitizer runtimes cannot be static, so
# a sanitizer build links dynamically.
HUSK_STATIC := $(if $(findstring -fsanitize,$(CFLAGS) $(LDFLAGS)),,-static)

$(BUILD)/husk: $(CLI_OBJ) $(EXEC_OBJ) $(BUILD)/libhusk.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(HUSK_STATIC) -o $@ $(CLI_OBJ) $(EXEC_OBJ) \
		$(BUILD)/libhusk.a $(LDLIBS)

$(BUILD)/libhusk-net.a: $(NET_OBJ)
	@rm -f $@
	@$(AR) rcs $@ $^

# husk-net: the same command line with `net` itself instead of an exec of
# husk-net, linked dynamically (libmnl, libnftables); `husk net` runs it from
# husk's own directory, so only the networking commands load those libraries.
$(BUILD)/husk-net: $(CLI_OBJ) $(BUILD)/src/cli/net.o $(BUILD)/src/cli/launch-exec.o \
		$(BUILD)/src/cli/pull-exec.o $(BUILD)/libhusk-net.a $(BUILD)/libhusk.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/src/cli/net.o \
		$(BUILD)/src/cli/launch-exec.o $(BUILD)/src/cli/pull-exec.o $(BUILD)/libhusk-net.a $(BUILD)/libhusk.a $(LDLIBS) $(NET_LDLIBS)

$(BUILD)/libhusk-launch.a: $(LAUNCH_OBJ)
	@$(AR) rcs $@ $^

# husk-launch: the same command line with `launch` itself; `husk launch`
# runs it from husk's own directory.
LAUNCH_CLI := $(BUILD)/src/cli/launch.o $(BUILD)/src/cli/launch-pull.o $(BUILD)/src/cli/net-exec.o \
	      $(BUILD)/src/cli/pull-exec.o
$(BUILD)/husk-launch: $(CLI_OBJ) $(LAUNCH_CLI) $(BUILD)/libhusk-launch.a $(BUILD)/libhusk.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(HUSK_STATIC) -o $@ $(CLI_OBJ) $(LAUNCH_CLI) \
		$(BUILD)/libhusk-launch.a $(BUILD)/libhusk.a $(LDLIBS) $(LAUNCH_LDLIBS)

# husk-pull: the same command line with `pull` itself, the registry client
# and libcurl; linked dynamically (libcurl has no static build in Debian
# that links), which costs a pull a few ms, never a launch of an image the
# cache has.
PULL_CLI := $(BUILD)/src/cli/pull.o $(BUILD)/src/cli/images.o $(BUILD)/src/cli/login.o \
	    $(BUILD)/src/cli/net-exec.o $(BUILD)/src/cli/launch-exec.o
$(BUILD)/husk-pull: $(CLI_OBJ) $(PULL_CLI) $(PULL_OBJ) $(BUILD)/libhusk-launch.a $(BUILD)/libhusk.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(PULL_CLI) $(PULL_OBJ) \
		$(BUILD)/libhusk-launch.a $(BUILD)/libhusk.a $(LDLIBS) $(LAUNCH_LDLIBS) $(PULL_LDLIBS)

# husk-init: static, no libraries, so it runs in any container's rootfs. The
# sanitizer runtimes cannot be linked statically: `make asan` builds it without.
$(INIT_OBJ) $(BUILD)/husk-init: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/husk-init: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS))
$(BUILD)/husk-init: $(INIT_OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $(INIT_OBJ)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhusk-launch.a $(BUILD)/libhusk-net.a $(BUILD)/libhusk.a
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libhusk-launch.a \
		$(BUILD)/libhusk-net.a $(BUILD)/libhusk.a $(LDLIBS) $(NET_LDLIBS) $(LAUNCH_LDLIBS) -lcmocka

# Helpers the integration tests run (tests/integration/*.c), linked like the
# unit tests against libhusk.a.
HELPER_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/*.c))

$(HELPER_BIN): $(BUILD)/tests/%: tests/integration/%.c $(BUILD)/libhusk.a
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libhusk.a $(LDLIBS)

# race_flip runs inside a busybox container: static, and without the
# sanitizer runtimes (which cannot be static), as husk-init.
$(BUILD)/tests/race_flip: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/race_flip: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static
$(BUILD)/tests/mount_unlock: override CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS))
$(BUILD)/tests/mount_unlock: override LDFLAGS := $(filter-out -fsanitize=%,$(LDFLAGS)) -static

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Integration tests need root: they start real containers.
integration: $(BUILD)/husk $(BUILD)/husk-net $(BUILD)/husk-launch $(BUILD)/husk-pull $(BUILD)/husk-init \
		$(HELPER_BIN)
	HUSK=$(abspath $(BUILD)/husk) $(PY) -m pytest -q -p no:cacheprovider tests/integration

test: all lint unit integration vm-test

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

diff: $(BUILD)/husk $(DIFF_PROBE)
	$(DIFF_RUN)

diff-smoke: $(BUILD)/husk $(DIFF_PROBE)
	$(DIFF_RUN) --subset

# A long campaign of the attacks on mount destinations (a co-container
# swapping /proc, /sys, /dev and bind parents for symlinks while containers
# are made: test_attack_mounts.py): RACE_CREATES creates per attack, where
# make test runs 100 to 300. RACE_HUSK=/usr/sbin/runc runs it against runc.
RACE_CREATES ?= 3000
RACE_HUSK    ?= $(abspath $(BUILD)/husk)
race: $(BUILD)/husk $(BUILD)/husk-init $(BUILD)/tests/race_flip
	HK_RACE_CREATES=$(RACE_CREATES) HUSK=$(RACE_HUSK) $(PY) -m pytest -q -s -rs -p no:cacheprovider \
		tests/integration/test_attack_mounts.py

# cgroup v2: VM_TESTS run by pytest inside a qemu VM whose kernel (Debian's
# linux-image-amd64) has no cgroup v1 (tests/vm/README.md). Emulated (TCG):
# a test there is ~10x slower than here, so VM_TESTS stays small.
VM_TESTS   ?= tests/vm/test_v2_smoke.py tests/integration/test_cgroups.py \
              tests/integration/test_devices_bpf.py tests/integration/test_lifecycle.py \
              tests/integration/test_inspect.py
VM_TIMEOUT ?= 900
vm-test: $(BUILD)/husk $(BUILD)/husk-init $(HELPER_BIN)
	tests/vm/run --times --timeout $(VM_TIMEOUT) -e HUSK=$(abspath $(BUILD)/husk) -- \
		$(PY) -m pytest -q -p no:cacheprovider $(VM_TESTS)

# a shell in that VM, with $$HUSK set, to look around or debug a test
vm-shell: $(BUILD)/husk
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
launch-kill: $(BUILD)/husk $(BUILD)/husk-launch $(BUILD)/husk-init
	HK_LAUNCH_KILL_ROUNDS=$(KILL_ROUNDS) HUSK=$(abspath $(BUILD)/husk) $(PY) -m pytest -q \
		-p no:cacheprovider tests/integration/test_attack_launch.py -k killed_at_any_instant

demo: $(BUILD)/husk
	scripts/demo.sh $(abspath $(BUILD)/husk)

bench: $(BUILD)/husk
	HUSK=$(abspath $(BUILD)/husk) bench/run

lint: $(DEPS_OK)
	clang-format --dry-run --Werror src/*/*.c src/*/*.h tests/unit/*.c tests/integration/*.c \
		tests/diff/*.c

clean:
	rm -rf build build-asan build-faults

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(NET_OBJ:.o=.d) $(LAUNCH_OBJ:.o=.d) $(PULL_OBJ:.o=.d) \
	$(patsubst %.c,$(BUILD)/%.d,$(CLI_COMPANION))

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
                src/net/ports.c src/net/ipam.c)
FUZZ_CLI     := $(patsubst %.c,build-fuzz/obj/%.o,$(filter-out src/cli/net.c src/cli/launch.c \
		src/cli/pull.c src/cli/launch-pull.c src/cli/images.c src/cli/login.c,$(wildcard src/cli/*.c)))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

build-fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		$(if $(filter src/cli/%,$<),-Dmain=husk_cli_main -Wno-missing-prototypes) -c -o $@ $<

build-fuzz/fuzz_spec: build-fuzz/obj/tests/fuzz/fuzz_spec.o $(FUZZ_LIB)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# open/openat/fork/execv wrapped: see tests/fuzz/fuzz_cli.c
build-fuzz/fuzz_cli: build-fuzz/obj/tests/fuzz/fuzz_cli.o build-fuzz/obj/tests/fuzz/stubs.o \
		$(FUZZ_CLI) $(FUZZ_LIB)
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

-include $(FUZZ_LIB:.o=.d) $(FUZZ_CLI:.o=.d)
