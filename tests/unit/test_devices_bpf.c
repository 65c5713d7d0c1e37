/* cgroup/cgroup-v2-devices.c: the device rules compiled to eBPF. Each
 * program runs in a small interpreter of exactly the instructions the
 * generator may emit (anything else fails the test) and its answer is
 * compared with a plain reading of the rules, for every request in a table
 * of type x major x minor x access. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "common/err.h"
#include "spec/spec.h"

#define ALLOW(t, maj, min, acc)                                                     \
	{                                                                           \
		.allow = true, .type = t, .major = maj, .minor = min, .access = acc \
	}
#define DENY(t, maj, min, acc)                                                       \
	{                                                                            \
		.allow = false, .type = t, .major = maj, .minor = min, .access = acc \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const int64_t majors[] = {0, 1, 5, 7, 10, 136, 254, 4294967295};
static const int64_t minors[] = {0, 1, 3, 5, 7, 8, 9, 200, 4294967295};

/* --- the interpreter ------------------------------------------------------ */

struct vm {
	uint64_t r[11];
	bool set[11];
	bool r1_is_ctx;
	struct bpf_cgroup_dev_ctx ctx;
};

static uint64_t reg(struct vm *vm, unsigned r, size_t pc)
{
	if (r > 10 || !vm->set[r])
		fail_msg("insn %zu reads r%u before it is written", pc, r);
	return vm->r[r];
}

static void set_reg(struct vm *vm, unsigned r, uint64_t v, size_t pc)
{
	if (r > 9)
		fail_msg("insn %zu writes r%u", pc, r);
	if (r == 1)
		vm->r1_is_ctx = false;
	vm->r[r] = v;
	vm->set[r] = true;
}

static uint32_t load_ctx(struct vm *vm, const struct bpf_insn *in, size_t pc)
{
	if (in->src_reg != 1 || !vm->r1_is_ctx)
		fail_msg("insn %zu loads through r%u, not the context", pc, in->src_reg);
	switch (in->off) {
	case offsetof(struct bpf_cgroup_dev_ctx, access_type):
		return vm->ctx.access_type;
	case offsetof(struct bpf_cgroup_dev_ctx, major):
		return vm->ctx.major;
	case offsetof(struct bpf_cgroup_dev_ctx, minor):
		return vm->ctx.minor;
	default:
		fail_msg("insn %zu loads context offset %d", pc, in->off);
	}
	return 0;
}

static void alu64(struct vm *vm, const struct bpf_insn *in, size_t pc)
{
	uint64_t src =
		BPF_SRC(in->code) == BPF_X ? reg(vm, in->src_reg, pc) : (uint64_t)(int64_t)in->imm;
	switch (BPF_OP(in->code)) {
	case BPF_MOV:
		set_reg(vm, in->dst_reg, src, pc);
		return;
	case BPF_AND:
		set_reg(vm, in->dst_reg, reg(vm, in->dst_reg, pc) & src, pc);
		return;
	case BPF_OR:
		set_reg(vm, in->dst_reg, reg(vm, in->dst_reg, pc) | src, pc);
		return;
	case BPF_RSH:
		if (BPF_SRC(in->code) != BPF_K || in->imm < 0 || in->imm > 63)
			fail_msg("insn %zu: shift by %d", pc, in->imm);
		set_reg(vm, in->dst_reg, reg(vm, in->dst_reg, pc) >> in->imm, pc);
		return;
	default:
		fail_msg("insn %zu: unexpected ALU64 op 0x%02x", pc, in->code);
	}
}

/* The next pc after a conditional jump at pc (only forward jumps, so every
 * program ends). */
static size_t jump(size_t pc, const struct bpf_insn *in, bool taken, size_t n)
{
	if (in->off < 0)
		fail_msg("insn %zu jumps backwards", pc);
	size_t next = pc + 1 + (taken ? (size_t)in->off : 0);
	if (next >= n)
		fail_msg("insn %zu jumps past the end", pc);
	return next;
}

static int run(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t acc, uint32_t major,
	       uint32_t minor)
{
	struct vm vm = {.set[1] = true, .r1_is_ctx = true, .set[10] = true};
	vm.ctx = (struct bpf_cgroup_dev_ctx){(acc << 16) | type, major, minor};

	for (size_t pc = 0; pc < n;) {
		const struct bpf_insn *in = &p[pc];
		switch (in->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			set_reg(&vm, in->dst_reg, load_ctx(&vm, in, pc), pc);
			pc++;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
		case BPF_ALU64 | BPF_MOV | BPF_X:
		case BPF_ALU64 | BPF_AND | BPF_K:
		case BPF_ALU64 | BPF_OR | BPF_K:
		case BPF_ALU64 | BPF_RSH | BPF_K:
			alu64(&vm, in, pc);
			pc++;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
			pc = jump(pc, in, (uint32_t)reg(&vm, in->dst_reg, pc) != (uint32_t)in->imm,
				  n);
			break;
		case BPF_JMP | BPF_JSET | BPF_X:
			pc = jump(pc, in, reg(&vm, in->dst_reg, pc) & reg(&vm, in->src_reg, pc), n);
			break;
		case BPF_JMP | BPF_EXIT: {
			uint64_t r0 = reg(&vm, 0, pc);
			if (r0 > 1)
				fail_msg("insn %zu returns %llu", pc, (unsigned long long)r0);
			return (int)r0;
		}
		default:
			fail_msg("insn %zu: opcode 0x%02x is not in the generator's subset", pc,
				 in->code);
		}
	}
	fail_msg("the program runs off its end");
	return -1;
}

/* --- the rules, read plainly ---------------------------------------------- */

static bool matches(const struct hk_dev_rule *r, char type, int64_t major, int64_t minor)
{
	return (r->type == 'a' || r->type == type) && (r->major == -1 || r->major == major) &&
	       (r->minor == -1 || r->minor == minor);
}

/* Each requested bit: the last matching rule listing it decides; none
 * listing it denies. All requested bits must be allowed. */
static bool reference(const struct hk_dev_rule *rules, size_t n, char type, int64_t major,
		      int64_t minor, const char *bits)
{
	for (const char *b = bits; *b; b++) {
		bool allowed = false;
		for (size_t i = 0; i < n; i++)
			if (matches(&rules[i], type, major, minor) &&
			    memchr(rules[i].access, *b, strnlen(rules[i].access, 4)))
				allowed = rules[i].allow;
		if (!allowed)
			return false;
	}
	return true;
}

/* --- checking one rule list against the other ----------------------------- */

static size_t build(const struct hk_dev_rule *rules, size_t n, struct bpf_insn **p)
{
	struct hk_err err = {0};
	size_t len = 0;

	if (cg_devices_bpf_build(rules, n, p, &len, &err) < 0)
		fail_msg("build failed: %s", err.msg);
	return len;
}

static void acc_string(unsigned acc, char *out)
{
	char *o = out;
	if (acc & BPF_DEVCG_ACC_READ)
		*o++ = 'r';
	if (acc & BPF_DEVCG_ACC_WRITE)
		*o++ = 'w';
	if (acc & BPF_DEVCG_ACC_MKNOD)
		*o++ = 'm';
	*o = '\0';
}

static void check_one(const struct bpf_insn *p, size_t len, const struct hk_dev_rule *rules,
		      size_t n, const char *name, char type, int64_t major, int64_t minor)
{
	uint32_t btype = type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
	char bits[4];

	for (unsigned acc = 0; acc < 8; acc++) {
		acc_string(acc, bits);
		bool want = reference(rules, n, type, major, minor, bits);
		int got = run(p, len, btype, acc, (uint32_t)major, (uint32_t)minor);
		if (got != want)
			fail_msg("%s: %c %lld:%lld \"%s\": program says %s, rules say %s", name,
				 type, (long long)major, (long long)minor, bits,
				 got ? "allow" : "deny", want ? "allow" : "deny");
	}
}

/* Returns the program's length. */
static size_t check(const struct hk_dev_rule *rules, size_t n, const char *name)
{
	struct bpf_insn *p = NULL;
	size_t len = build(rules, n, &p);

	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < N(majors); i++)
			for (size_t j = 0; j < N(minors); j++)
				check_one(p, len, rules, n, name, t ? 'c' : 'b', majors[i],
					  minors[j]);
	free(p);
	return len;
}

static bool allowed(const struct hk_dev_rule *rules, size_t n, char type, uint32_t major,
		    uint32_t minor, unsigned acc)
{
	struct bpf_insn *p = NULL;
	size_t len = build(rules, n, &p);
	int r = run(p, len, type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, acc, major,
		    minor);
	free(p);
	return r == 1;
}

#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

/* --- cases ---------------------------------------------------------------- */

static void test_empty_denies_all(void **state)
{
	(void)state;
	check(NULL, 0, "empty");
	assert_false(allowed(NULL, 0, 'c', 1, 3, R));
	assert_true(allowed(NULL, 0, 'c', 1, 3, 0)); /* asks for nothing */
}

/* The OCI default config's rules, as cg_device_rules() returns them. */
static void test_default_config(void **state)
{
	struct hk_dev_rule rules[32] = {DENY('a', -1, -1, "rwm")};
	size_t n = 1;

	(void)state;
	for (size_t i = 0; i < cg_n_default_allow; i++)
		rules[n++] = cg_default_allow[i];
	size_t len = check(rules, n, "default");
	print_message("default rules: %zu instructions\n", len);
	assert_true(len <= 50);
	assert_true(allowed(rules, n, 'c', 1, 3, R | W));
	assert_true(allowed(rules, n, 'c', 136, 7, R | W));
	assert_true(allowed(rules, n, 'b', 8, 0, M));
	assert_false(allowed(rules, n, 'b', 8, 0, R));
	assert_false(allowed(rules, n, 'c', 1, 1, R)); /* /dev/mem */
	assert_false(allowed(rules, n, 'c', 1, 1, M | R));
}

static void test_deny_then_allow_some(void **state)
{
	const struct hk_dev_rule rules[] = {
		DENY('a', -1, -1, "rwm"),
		ALLOW('c', 1, 3, "rw"),
		ALLOW('c', 1, -1, "m"),
		ALLOW('b', 7, -1, "r"),
	};
	(void)state;
	check(rules, N(rules), "deny-then-allow");
	assert_true(allowed(rules, N(rules), 'c', 1, 3, R | W));
	assert_true(allowed(rules, N(rules), 'c', 1, 3, R | W | M));
	assert_true(allowed(rules, N(rules), 'c', 1, 9, M));
	assert_false(allowed(rules, N(rules), 'c', 1, 9, R));
	assert_false(allowed(rules, N(rules), 'b', 7, 0, W));
	assert_false(allowed(rules, N(rules), 'c', 7, 0, R));
}

static void test_later_deny_overrides(void **state)
{
	const struct hk_dev_rule rules[] = {
		ALLOW('c', -1, -1, "rwm"),
		DENY('c', 1, 3, "w"),
		DENY('c', 5, -1, "rwm"),
		ALLOW('c', 5, 2, "r"),
	};
	(void)state;
	check(rules, N(rules), "later-deny");
	assert_true(allowed(rules, N(rules), 'c', 1, 3, R));
	assert_false(allowed(rules, N(rules), 'c', 1, 3, R | W));
	assert_false(allowed(rules, N(rules), 'c', 1, 3, W));
	assert_true(allowed(rules, N(rules), 'c', 1, 5, R | W));
	assert_true(allowed(rules, N(rules), 'c', 5, 2, R));
	assert_false(allowed(rules, N(rules), 'c', 5, 2, R | W));
	assert_false(allowed(rules, N(rules), 'b', 1, 3, R));
}

/* Bits allowed by different rules add up; one deny takes one bit away. */
static void test_bits_across_rules(void **state)
{
	const struct hk_dev_rule rules[] = {
		ALLOW('c', 1, 3, "r"),
		ALLOW('c', 1, -1, "w"),
		ALLOW('a', -1, 5, "m"),
		DENY('c', -1, 5, "w"),
	};
	(void)state;
	check(rules, N(rules), "bits");
	assert_true(allowed(rules, N(rules), 'c', 1, 3, R | W));
	assert_false(allowed(rules, N(rules), 'c', 1, 5, W));
	assert_true(allowed(rules, N(rules), 'b', 9, 5, M));
}

static void test_type_a(void **state)
{
	const struct hk_dev_rule all[] = {ALLOW('a', -1, -1, "rwm")};
	const struct hk_dev_rule rules[] = {
		ALLOW('a', -1, -1, "rwm"), DENY('b', -1, -1, "rwm"), ALLOW('b', 7, 0, "r"),
		ALLOW('a', 1, -1, "r"),    DENY('a', -1, -1, "m"),
	};
	(void)state;
	check(all, N(all), "allow-all");
	assert_true(allowed(all, N(all), 'b', 254, 4294967295u, R | W | M));
	check(rules, N(rules), "type-a");
	assert_true(allowed(rules, N(rules), 'b', 7, 0, R));
	assert_true(allowed(rules, N(rules), 'b', 1, 9, R));
	assert_false(allowed(rules, N(rules), 'b', 7, 1, R));
	assert_false(allowed(rules, N(rules), 'c', 1, 3, M));
	assert_true(allowed(rules, N(rules), 'c', 1, 3, R | W));
}

static void test_edges(void **state)
{
	const struct hk_dev_rule rules[] = {
		ALLOW('c', 4294967295, 4294967295, "rwm"),
		ALLOW('c', 0, 0, ""),
		ALLOW('b', 0, 0, "rrr"),
		DENY('a', -1, -1, "rwm"),
		ALLOW('b', 0, -1, "wm"),
		ALLOW('c', 10, 200, "rwm"),
		ALLOW('c', 10, 200, "rwm"),
	};
	const struct hk_dev_rule zero[] = {ALLOW('b', 0, 0, "r")};
	const struct hk_dev_rule minor_only[] = {ALLOW('c', -1, 3, "r")};
	const struct hk_dev_rule major_only[] = {ALLOW('c', 1, -1, "w")};

	(void)state;
	check(zero, 1, "zero");
	check(minor_only, 1, "minor-only");
	check(major_only, 1, "major-only");
	check(rules, N(rules), "edges");
	check(rules, 3, "edges-3");
	assert_true(allowed(rules, 3, 'c', 4294967295u, 4294967295u, R));
	assert_false(allowed(rules, N(rules), 'c', 4294967295u, 4294967295u, R));
}

/* Random rule lists from small pools, so that rules overlap often. */
static void test_random_lists(void **state)
{
	static const char types[] = {'a', 'c', 'b', 'c'};
	static const int64_t rmaj[] = {-1, 1, 5, 136, 4294967295, 1};
	static const int64_t rmin[] = {-1, 3, 5, 0, 4294967295, -1};
	static const char *const accs[] = {"", "r", "w", "m", "rw", "rm", "wm", "rwm"};
	struct hk_dev_rule rules[24];
	uint64_t seed = 42;
	char name[32];

	(void)state;
	for (int list = 0; list < 600; list++) {
		size_t n = (size_t)(list % 25 == 24 ? 0 : list % 24 + 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t x = seed >> 20;
			rules[i] = (struct hk_dev_rule){.allow = (x & 3) != 0,
							.type = types[(x >> 2) % 4],
							.major = rmaj[(x >> 5) % 6],
							.minor = rmin[(x >> 9) % 6]};
			snprintf(rules[i].access, sizeof(rules[i].access), "%s",
				 accs[(x >> 13) % 8]);
		}
		snprintf(name, sizeof(name), "random list %d", list);
		check(rules, n, name);
	}
}

static void reject(struct hk_dev_rule r, const char *want)
{
	struct hk_err err = {0};
	struct bpf_insn *p = NULL;
	size_t len = 0;

	if (cg_devices_bpf_build(&r, 1, &p, &len, &err) == 0)
		fail_msg("rule accepted, wanted \"%s\"", want);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
	assert_null(p);
}

static void test_inexpressible(void **state)
{
	(void)state;
	reject((struct hk_dev_rule)ALLOW('u', 1, 3, "r"), "type 'u' is not one of a, c, b");
	reject((struct hk_dev_rule)ALLOW('c', -2, 3, "r"), "out of range");
	reject((struct hk_dev_rule)ALLOW('c', 1, 4294967296, "r"), "out of range");
	reject((struct hk_dev_rule)ALLOW('c', 1, 3, "rx"), "access \"rx\" is not a subset");
}

static void test_many_rules(void **state)
{
	struct hk_dev_rule *rules = calloc(2000, sizeof(*rules));
	struct hk_err err = {0};
	struct bpf_insn *p = NULL;
	size_t len = 0;

	(void)state;
	for (int64_t i = 0; i < 2000; i++)
		rules[i] = (struct hk_dev_rule)ALLOW('c', i, i, "r");
	assert_int_equal(cg_devices_bpf_build(rules, 600, &p, &len, &err), 0);
	assert_true(len <= 4096);
	free(p);
	p = NULL;
	assert_int_equal(cg_devices_bpf_build(rules, 2000, &p, &len, &err), -1);
	assert_non_null(strstr(err.msg, "more than a device program can hold"));
	free(rules);
}

/* What both backends enforce: deny-all, the spec's rules, then the
 * defaults (runc's reading). */
static void test_device_rules(void **state)
{
	struct hk_dev_rule user[] = {ALLOW('c', 4, 64, "rw")};
	struct hk_device devs[] = {
		{.type = 'u', .major = 4, .minor = 64},
		{.type = 'p'},
		{.type = 'b', .major = 8, .minor = 0},
	};
	struct hk_spec s = {0};
	size_t n;

	(void)state;
	s.devices = devs;
	s.n_devices = N(devs);
	/* no rules: deny-all and the defaults; linux.devices allows nothing */
	struct hk_dev_rule *r = cg_device_rules(&s, &n);
	assert_int_equal(n, 1 + cg_n_default_allow);
	assert_true(!r[0].allow && r[0].type == 'a');
	for (size_t i = 0; i < cg_n_default_allow; i++) {
		const struct hk_dev_rule *a = &r[1 + i], *b = &cg_default_allow[i];
		assert_true(a->allow == b->allow && a->type == b->type && a->major == b->major &&
			    a->minor == b->minor && strcmp(a->access, b->access) == 0);
	}
	free(r);
	s.dev_rules = user;
	s.n_dev_rules = 1;
	r = cg_device_rules(&s, &n);
	assert_int_equal(n, 2 + cg_n_default_allow);
	assert_true(!r[0].allow && r[0].type == 'a');
	assert_true(r[1].allow && r[1].major == 4 && r[1].minor == 64);
	free(r);
	/* A default node that linux.devices lists is left to the rules. */
	devs[0].path = (char *)"/dev/full";
	r = cg_device_rules(&s, &n);
	assert_int_equal(n, 1 + cg_n_default_allow);
	for (size_t i = 2; i < n; i++)
		assert_false(r[i].type == 'c' && r[i].major == 1 && r[i].minor == 7);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_denies_all),
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_deny_then_allow_some),
		cmocka_unit_test(test_later_deny_overrides),
		cmocka_unit_test(test_bits_across_rules),
		cmocka_unit_test(test_type_a),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random_lists),
		cmocka_unit_test(test_inexpressible),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_device_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
