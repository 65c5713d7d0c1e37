/* Device control on cgroup v2: the device cgroup rules compiled into an
 * eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE and attached to the
 * container's cgroup (cgroup v2 has no devices controller; the kernel runs
 * the program on every open, mknod and device-node access of the cgroup's
 * processes and refuses with EPERM when it returns 0).
 *
 * What the program decides. The kernel asks about one device (block or
 * char, major, minor) and a set of access bits: mknod, read, write; an open
 * with O_RDWR asks for read and write at once. A rule matches the device
 * when its type is 'a' or equal, its major is -1 or equal and its minor is
 * -1 or equal. Each access bit is decided on its own: it is allowed when
 * the LAST matching rule that lists the bit allows it, and denied when that
 * rule denies it or no matching rule lists it (default deny). The request
 * is allowed when every bit it asks for is allowed. So "rw" needs both r
 * and w allowed (by one rule or by two), a later rule overrides an earlier
 * one only for the bits it lists, and {"allow": false, "access": "rwm"}
 * first denies everything before the allows that follow punch holes.
 *
 * cgroup v1's devices.allow / devices.deny (which runc's v2 program
 * emulates) give the same answers for the lists seen in practice: deny
 * all then allows, or allow all then denies. They differ where v1
 * surprises: v1 wants one exception covering all requested bits (allow
 * c 1:3 r, then allow c 1:* w: no rw on 1:3 in v1, rw here); v1 drops a
 * deny that is not exactly an earlier allow's device (allow c 1:3 rw, then
 * deny c 1:* w: 1:3 stays writable in v1, not here; runc refuses some such
 * lists); runc's v2 program lets a deny match only requests within its
 * bits (allow a, then deny c 1:3 w: runc allows an O_RDWR open, v1 and
 * husk refuse it); and a type 'a' rule resets v1's whole list whatever its
 * numbers and access, while here it is a rule like others, for both types.
 *
 * The program: r2 = type, r3 = requested bits, r4 = major, r5 = minor,
 * r6 = the bits denied so far. Each rule, in order, is "if it matches,
 * r6 |= bits (deny) or r6 &= ~bits (allow)"; at the end the request is
 * allowed when r6 & r3 == 0. Consecutive rules of one type share a type
 * check, and those with one major within it share a major check: the OCI
 * default config (deny all, then the default list) compiles to 48
 * instructions. Rules that cannot change the outcome
 * (overwritten for every device by a later rule, or setting bits to what
 * they already are) are left out; rules for every device (type a, any
 * major and minor) set the starting value. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)
/* BPF_MAXINSNS (the kernel allows root more): room for 680 to 2,000 rules,
 * far beyond any real list, and verified in well under 100 ms. */
#define MAX_INSNS 4096

/* Registers of the generated program. */
enum { R0 = 0, R1, R2_TYPE, R3_ACC, R4_MAJOR, R5_MINOR, R6_DENIED };

/* A rule as the code generator sees it. */
struct dev_op {
	bool allow;
	uint32_t type;        /* BPF_DEVCG_DEV_*, 0 for any */
	int64_t major, minor; /* -1 for any */
	uint32_t acc;         /* BPF_DEVCG_ACC_* bits the rule sets */
};

struct prog {
	struct bpf_insn *insns;
	size_t n, cap;
};

static int to_op(const struct hk_dev_rule *r, size_t i, struct dev_op *op, struct hk_err *err)
{
	memset(op, 0, sizeof(*op));
	op->allow = r->allow;
	if (r->type == 'c')
		op->type = BPF_DEVCG_DEV_CHAR;
	else if (r->type == 'b')
		op->type = BPF_DEVCG_DEV_BLOCK;
	else if (r->type != 'a')
		return hk_fail(err, 0, "device rule %zu: type '%c' is not one of a, c, b", i,
			       r->type);
	if (r->major < -1 || r->major > UINT32_MAX || r->minor < -1 || r->minor > UINT32_MAX)
		return hk_fail(err, 0, "device rule %zu: major %lld / minor %lld out of range", i,
			       (long long)r->major, (long long)r->minor);
	op->major = r->major;
	op->minor = r->minor;
	for (const char *a = r->access; a < r->access + sizeof(r->access) && *a; a++) {
		if (*a == 'r')
			op->acc |= BPF_DEVCG_ACC_READ;
		else if (*a == 'w')
			op->acc |= BPF_DEVCG_ACC_WRITE;
		else if (*a == 'm')
			op->acc |= BPF_DEVCG_ACC_MKNOD;
		else
			return hk_fail(err, 0,
				       "device rule %zu: access \"%.4s\" is not a subset of rwm", i,
				       r->access);
	}
	return 0;
}

static bool unconditional(const struct dev_op *op)
{
	return op->type == 0 && op->major < 0 && op->minor < 0;
}

/* Reduce each op to the bits it can change and return the denied bits the
 * program starts with. An op left with no bits is dropped by the caller. */
static uint32_t simplify(struct dev_op *ops, size_t n)
{
	uint32_t later = 0, init = ACC_ALL;

	/* Backwards: a bit that a later unconditional op sets is that op's
	 * alone, so earlier ops lose it. Then no earlier op touches the
	 * unconditional op's bits, and it can move to the start: into init. */
	for (size_t i = n; i-- > 0;) {
		struct dev_op *op = &ops[i];
		op->acc &= ~later;
		if (unconditional(op)) {
			later |= op->acc;
			init = op->allow ? init & ~op->acc : init | op->acc;
			op->acc = 0;
		}
	}
	/* Forwards: allowing a bit that no device can have denied at that
	 * point (or denying one none can have allowed) changes nothing. */
	uint32_t maybe_denied = init, maybe_allowed = ACC_ALL & ~init;
	for (size_t i = 0; i < n; i++) {
		struct dev_op *op = &ops[i];
		op->acc &= op->allow ? maybe_denied : maybe_allowed;
		if (op->allow)
			maybe_allowed |= op->acc;
		else
			maybe_denied |= op->acc;
	}
	return init;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static size_t emit(struct prog *p, struct bpf_insn in)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->insns = xrealloc(p->insns, p->cap * sizeof(*p->insns));
	}
	p->insns[p->n] = in;
	return p->n++;
}

/* "if (u32)reg != value goto <patched later>"; returns its index. */
static size_t emit_jne(struct prog *p, uint8_t reg, int64_t value)
{
	return emit(p, insn(BPF_JMP32 | BPF_JNE | BPF_K, reg, 0, 0, (int32_t)(uint32_t)value));
}

/* Make the jump at index j land on the next instruction to be emitted. */
static void patch(struct prog *p, size_t j)
{
	p->insns[j].off = (int16_t)(p->n - j - 1);
}

/* Reload a register from the context: its value does not change, but the
 * verifier forgets what the checks before taught it (see emit_rules). */
static void emit_reload(struct prog *p, uint8_t reg)
{
	int16_t off = reg == R4_MAJOR ? offsetof(struct bpf_cgroup_dev_ctx, major)
				      : offsetof(struct bpf_cgroup_dev_ctx, minor);
	emit(p, insn(BPF_LDX | BPF_MEM | BPF_W, reg, R1, off, 0));
}

static void emit_prologue(struct prog *p, const struct dev_op *ops, size_t n, uint32_t init)
{
	bool majors = false, minors = false;

	for (size_t i = 0; i < n; i++) {
		majors |= ops[i].major >= 0;
		minors |= ops[i].minor >= 0;
	}
	/* struct bpf_cgroup_dev_ctx: access_type = (access << 16) | type */
	emit(p, insn(BPF_LDX | BPF_MEM | BPF_W, R2_TYPE, R1,
		     offsetof(struct bpf_cgroup_dev_ctx, access_type), 0));
	emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_X, R3_ACC, R2_TYPE, 0, 0));
	emit(p, insn(BPF_ALU64 | BPF_AND | BPF_K, R2_TYPE, 0, 0, 0xffff));
	emit(p, insn(BPF_ALU64 | BPF_RSH | BPF_K, R3_ACC, 0, 0, 16));
	if (majors)
		emit(p, insn(BPF_LDX | BPF_MEM | BPF_W, R4_MAJOR, R1,
			     offsetof(struct bpf_cgroup_dev_ctx, major), 0));
	if (minors)
		emit(p, insn(BPF_LDX | BPF_MEM | BPF_W, R5_MINOR, R1,
			     offsetof(struct bpf_cgroup_dev_ctx, minor), 0));
	emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, R6_DENIED, 0, 0, (int32_t)init));
}

/* Index of the last op with major (or minor) not -1, or -1. */
static ptrdiff_t last_checking(const struct dev_op *ops, size_t n, bool major)
{
	for (size_t i = n; i-- > 0;)
		if ((major ? ops[i].major : ops[i].minor) >= 0)
			return (ptrdiff_t)i;
	return -1;
}

/* ops[0..n) all have bits to set. ops[i] is guarded by a type check when it
 * starts a run of one type, by a major check when it starts a run of one
 * major within that, and by its own minor check; a failed check jumps past
 * its run.
 *
 * After a passed check the verifier knows the register's value, decides
 * every later check on it and walks the rest of the program once per rule
 * that matched: quadratic, 0.5 s and near its 10^6-instruction budget for
 * 1,000 rules. Reloading major after a major run and minor after a matched
 * rule (when a later rule checks them) lets the paths merge again and keeps
 * verification linear (15 ms for 1,000 rules). The type needs no reload:
 * with two types its knowledge at most triples the paths. */
static void emit_rules(struct prog *p, const struct dev_op *ops, size_t n)
{
	size_t type_jump = SIZE_MAX, major_jump = SIZE_MAX;
	ptrdiff_t last_major = last_checking(ops, n, true);
	ptrdiff_t last_minor = last_checking(ops, n, false);

	for (size_t i = 0; i < n; i++) {
		const struct dev_op *op = &ops[i];
		bool new_type = i == 0 || ops[i - 1].type != op->type;
		bool new_major = new_type || ops[i - 1].major != op->major;
		if (new_type && op->type)
			type_jump = emit_jne(p, R2_TYPE, op->type);
		if (new_major && op->major >= 0)
			major_jump = emit_jne(p, R4_MAJOR, op->major);
		size_t minor_jump = op->minor >= 0 ? emit_jne(p, R5_MINOR, op->minor) : SIZE_MAX;
		if (op->allow)
			emit(p, insn(BPF_ALU64 | BPF_AND | BPF_K, R6_DENIED, 0, 0,
				     (int32_t)(ACC_ALL & ~op->acc)));
		else
			emit(p,
			     insn(BPF_ALU64 | BPF_OR | BPF_K, R6_DENIED, 0, 0, (int32_t)op->acc));
		if (minor_jump != SIZE_MAX) {
			if ((ptrdiff_t)i < last_minor)
				emit_reload(p, R5_MINOR);
			patch(p, minor_jump);
		}
		bool end_type = i + 1 == n || ops[i + 1].type != op->type;
		bool end_major = end_type || ops[i + 1].major != op->major;
		if (end_major && major_jump != SIZE_MAX) {
			if ((ptrdiff_t)i < last_major)
				emit_reload(p, R4_MAJOR);
			patch(p, major_jump);
			major_jump = SIZE_MAX;
		}
		if (end_type && type_jump != SIZE_MAX) {
			patch(p, type_jump);
			type_jump = SIZE_MAX;
		}
	}
}

/* return (r6 & r3) ? 0 : 1 */
static void emit_epilogue(struct prog *p)
{
	emit(p, insn(BPF_JMP | BPF_JSET | BPF_X, R6_DENIED, R3_ACC, 2, 0));
	emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1));
	emit(p, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0));
	emit(p, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

int cg_devices_bpf_build(const struct hk_dev_rule *rules, size_t n, struct bpf_insn **insns,
			 size_t *n_insns, struct hk_err *err)
{
	_cleanup_free_ struct dev_op *ops = xcalloc(n ? n : 1, sizeof(*ops));
	struct prog p = {0};
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		if (to_op(&rules[i], i, &ops[i], err) < 0)
			return -1;
	uint32_t init = simplify(ops, n);
	for (size_t i = 0; i < n; i++)
		if (ops[i].acc)
			ops[kept++] = ops[i];
	/* At most 6 instructions a rule: the program stays far below the
	 * jump offsets' 16 bits before the check below. */
	if (kept > MAX_INSNS)
		return hk_fail(err, 0, "%zu device rules: more than a device program can hold", n);
	emit_prologue(&p, ops, kept, init);
	emit_rules(&p, ops, kept);
	emit_epilogue(&p);
	if (p.n > MAX_INSNS) {
		free(p.insns);
		return hk_fail(err, 0,
			       "%zu device rules: more than a device program can hold (%zu "
			       "instructions, at most %d)",
			       n, p.n, MAX_INSNS);
	}
	*insns = p.insns;
	*n_insns = p.n;
	return 0;
}

/* The program calls no helper, so the license string gates nothing (the
 * kernel checks it only for GPL-only helpers); it must still be a string. */
static int prog_load(const struct bpf_insn *insns, size_t n, char *log, uint32_t log_size)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "";
	snprintf(a.prog_name, sizeof(a.prog_name), "husk_devices");
	if (log) {
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = log_size;
		a.log_level = 1;
	}
	return hk_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

/* The verifier's reason: its log ends with the line saying what it refused
 * and then a "processed N insns" summary. */
static const char *verifier_reason(char *log)
{
	char *line = NULL;

	for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "processed ", 10) != 0)
			line = l;
	return line ? line : "no verifier log";
}

/* Load without a log first: logging slows verification down, and is only
 * worth it to explain a refusal. */
static int load(const char *dir, const struct bpf_insn *insns, size_t n, struct hk_err *err)
{
	int fd = prog_load(insns, n, NULL, 0);
	if (fd >= 0)
		return fd;
	int saved = errno;
	if (saved != EINVAL && saved != EACCES)
		return hk_fail(err, saved, "load device program for cgroup %s", dir);
	const uint32_t size = 1 << 16;
	_cleanup_free_ char *log = xzalloc(size);
	fd = prog_load(insns, n, log, size);
	if (fd >= 0) /* not reproducible: still refuse, as the first load said */
		close(fd);
	return hk_fail(err, saved, "load device program for cgroup %s: verifier: %s", dir,
		       verifier_reason(log));
}

int cg_devices_bpf_attach(int cgroup_fd, const char *dir, const struct bpf_insn *insns, size_t n,
			  struct hk_err *err)
{
	_cleanup_close_ int prog = load(dir, insns, n, err);
	union bpf_attr a;

	if (prog < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgroup_fd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* Programs already on the cgroup (a shared cgroupsPath) stay: each
	 * must allow an access, so adding ours only narrows it. */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	/* The attachment holds its own reference: the fd is closed on return. */
	if (hk_bpf(BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
		return hk_fail(err, errno, "attach device program to cgroup %s", dir);
	return 0;
}

int cg_v2_devices_apply(int cgroup_fd, const char *dir, const struct hk_dev_rule *rules, size_t n,
			struct hk_err *err)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n_insns;

	if (cg_devices_bpf_build(rules, n, &insns, &n_insns, err) < 0)
		return hk_err_prefix(err, "linux.resources.devices");
	return cg_devices_bpf_attach(cgroup_fd, dir, insns, n_insns, err);
}
