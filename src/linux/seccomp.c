#include "linux/seccomp.h"

#include <ctype.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/seccomp-cache.h"
#include "spec/spec.h"

struct hk_seccomp_filter {
	struct sock_fprog prog; /* the caller's program (struct hk_seccomp_bpf) */
	unsigned int flags;     /* SECCOMP_FILTER_FLAG_* */
	int listener;           /* connected to listenerPath, -1 when none */
};

static uint32_t action_of(enum hk_scmp_action a, bool has_errno, uint32_t errno_ret)
{
	switch (a) {
	case HK_SCMP_KILL:
	case HK_SCMP_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case HK_SCMP_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case HK_SCMP_TRAP:
		return SCMP_ACT_TRAP;
	case HK_SCMP_ERRNO:
		return SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
	case HK_SCMP_TRACE:
		return SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
	case HK_SCMP_LOG:
		return SCMP_ACT_LOG;
	case HK_SCMP_NOTIFY:
		return SCMP_ACT_NOTIFY;
	case HK_SCMP_ALLOW:
	default:
		return SCMP_ACT_ALLOW;
	}
}

static const enum scmp_compare ops[] = {
	[HK_SCMP_NE] = SCMP_CMP_NE,
	[HK_SCMP_LT] = SCMP_CMP_LT,
	[HK_SCMP_LE] = SCMP_CMP_LE,
	[HK_SCMP_EQ] = SCMP_CMP_EQ,
	[HK_SCMP_GE] = SCMP_CMP_GE,
	[HK_SCMP_GT] = SCMP_CMP_GT,
	[HK_SCMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64". */
static uint32_t arch_of(const char *name)
{
	char lower[32];
	size_t i = 0;

	for (const char *c = name + strlen("SCMP_ARCH_"); *c && i < sizeof(lower) - 1; c++)
		lower[i++] = (char)tolower((unsigned char)*c);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int set_attrs(scmp_filter_ctx ctx, const struct hk_seccomp *s, struct hk_err *err)
{
	/* husk sets no_new_privs itself, when the config asks. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
		return hk_fail(err, 0, "linux.seccomp: libseccomp refused the NNP attribute");
	/* A binary tree of the syscall numbers instead of a chain of tests: a
	 * syscall of a 350-rule profile runs ~10 tests instead of up to 350,
	 * and the kernel's per-syscall cache (built at attach by running the
	 * filter for every number) costs as much less. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		return hk_fail(err, 0, "linux.seccomp: libseccomp refused the binary tree");
	if ((s->flags & HK_SCMP_FLAG_LOG) && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1) < 0)
		return hk_fail(err, 0,
			       "linux.seccomp.flags: SECCOMP_FILTER_FLAG_LOG not supported here");
	if ((s->flags & HK_SCMP_FLAG_SPEC_ALLOW) &&
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1) < 0)
		return hk_fail(
			err, 0,
			"linux.seccomp.flags: SECCOMP_FILTER_FLAG_SPEC_ALLOW not supported here");
	if (s->flags & HK_SCMP_FLAG_WAIT_KILLABLE_RECV)
		return hk_fail(err, 0,
			       "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
			       "needs libseccomp >= 2.6 (Debian 12 has 2.5)");
	for (size_t i = 0; i < s->n_archs; i++) {
		uint32_t arch = arch_of(s->archs[i]);
		int r = arch ? seccomp_arch_add(ctx, arch) : -EINVAL;
		if (r < 0 && r != -EEXIST)
			return hk_fail(err, -r, "linux.seccomp.architectures[%zu]: %s", i,
				       s->archs[i]);
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct hk_seccomp *s, size_t ri, struct hk_err *err)
{
	const struct hk_seccomp_rule *rule = &s->rules[ri];
	uint32_t action = action_of(rule->action, rule->has_errno, rule->errno_ret);
	struct scmp_arg_cmp cmps[6];

	/* libseccomp refuses a rule that repeats the default action: it is a
	 * no-op, as runc also treats it. */
	if (action == action_of(s->default_action, s->has_default_errno, s->default_errno))
		return 0;
	if (rule->n_args > 6)
		return hk_fail(err, 0, "linux.seccomp.syscalls[%zu].args: at most 6", ri);
	for (size_t a = 0; a < rule->n_args; a++) {
		const struct hk_seccomp_arg *arg = &rule->args[a];
		cmps[a] = (struct scmp_arg_cmp){.arg = arg->index,
						.op = ops[arg->op],
						.datum_a = arg->value,
						.datum_b = arg->value_two};
	}
	for (size_t n = 0; n < rule->n_names; n++) {
		int nr = seccomp_syscall_resolve_name(rule->names[n]);
		if (nr == __NR_SCMP_ERROR) {
			/* Profiles list syscalls of other kernels and arches; runc
			 * skips them too. */
			hk_debug("seccomp: no syscall \"%s\" here, skipped", rule->names[n]);
			continue;
		}
		int r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)rule->n_args, cmps);
		if (r < 0)
			return hk_fail(err, -r, "linux.seccomp.syscalls[%zu]: rule for %s", ri,
				       rule->names[n]);
	}
	return 0;
}

static int connect_listener(const char *path, struct hk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(a.sun_path))
		return hk_fail(err, ENAMETOOLONG, "linux.seccomp.listenerPath %s", path);
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hk_fail(err, errno, "linux.seccomp.listenerPath: socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return hk_fail(err, e, "linux.seccomp.listenerPath: connect to %s", path);
	}
	return fd;
}

/* libseccomp's program for s, read back from the fd it exports to. */
static int export_bpf(scmp_filter_ctx ctx, struct hk_seccomp_bpf *out, struct hk_err *err)
{
	_cleanup_close_ int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return hk_fail(err, errno, "linux.seccomp: memfd_create for the program");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return hk_fail(err, -r, "linux.seccomp: libseccomp could not build the program");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hk_fail(err, errno, "linux.seccomp: rewind the program");
	char *data =
		hk_read_fd(fd, "the seccomp program", 4096 * sizeof(struct sock_filter), &len, err);
	if (!data)
		return -1;
	if (len == 0 || len % sizeof(struct sock_filter)) {
		free(data);
		return hk_fail(err, 0, "linux.seccomp: libseccomp built a program of %zu bytes",
			       len);
	}
	out->insns = (struct sock_filter *)(void *)data;
	out->len = len / sizeof(struct sock_filter);
	return 0;
}

static int build(const struct hk_seccomp *s, struct hk_seccomp_bpf *out, struct hk_err *err)
{
	scmp_filter_ctx ctx =
		seccomp_init(action_of(s->default_action, s->has_default_errno, s->default_errno));
	int r = -1;

	if (!ctx)
		return hk_fail(err, 0, "linux.seccomp.defaultAction: libseccomp refused it");
	if (set_attrs(ctx, s, err) < 0)
		goto out;
	for (size_t i = 0; i < s->n_rules; i++)
		if (add_rule(ctx, s, i, err) < 0)
			goto out;
	r = export_bpf(ctx, out, err);
out:
	seccomp_release(ctx);
	return r;
}

int seccomp_compile(const struct hk_seccomp *s, struct hk_seccomp_bpf *out, struct hk_err *err)
{
	size_t len = 0;
	_cleanup_free_ unsigned char *key = seccomp_cache_key(s, &len);
	_cleanup_close_ int dir = seccomp_cache_open();
	char name[24];

	*out = (struct hk_seccomp_bpf){0};
	seccomp_cache_name(key, len, name);
	if (seccomp_cache_get(dir, key, len, out) == 1) {
		hk_debug("seccomp: %zu instructions, from the cache (%s)", out->len, name);
		return 0;
	}
	if (build(s, out, err) < 0)
		return -1;
	hk_debug("seccomp: %zu instructions, compiled (%s)", out->len, name);
	seccomp_cache_put(dir, key, len, out);
	return 0;
}

void seccomp_bpf_clear(struct hk_seccomp_bpf *b)
{
	free(b->insns);
	*b = (struct hk_seccomp_bpf){0};
}

static bool notifies(const struct hk_seccomp *s)
{
	if (s->default_action == HK_SCMP_NOTIFY)
		return true;
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].action == HK_SCMP_NOTIFY)
			return true;
	return false;
}

struct hk_seccomp_filter *seccomp_prepare(const struct hk_seccomp *s,
					  const struct hk_seccomp_bpf *bpf, struct hk_err *err)
{
	struct hk_seccomp_filter *f = xzalloc(sizeof(*f));

	f->listener = -1;
	f->prog = (struct sock_fprog){.len = (unsigned short)bpf->len, .filter = bpf->insns};
	if (s->flags & HK_SCMP_FLAG_LOG)
		f->flags |= SECCOMP_FILTER_FLAG_LOG;
	if (s->flags & HK_SCMP_FLAG_SPEC_ALLOW)
		f->flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
	if (notifies(s))
		f->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (s->listener_path) {
		f->listener = connect_listener(s->listener_path, err);
		if (f->listener < 0) {
			free(f);
			return NULL;
		}
	}
	return f;
}

static int send_notify_fd(int sock, int fd, const char *state, struct hk_err *err)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)state, .iov_len = strlen(state)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};

	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return hk_fail(err, errno, "linux.seccomp.listenerPath: send the notify fd");
	return 0;
}

int seccomp_install(struct hk_seccomp_filter *f, const char *process_state, struct hk_err *err)
{
	/* As libseccomp loads it (seccomp(2), no_new_privs left to the tail). */
	long r = hk_seccomp_set_filter(f->flags, &f->prog);

	if (r < 0)
		return hk_fail(err, errno, "load the seccomp filter");
	if (!(f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) || f->listener < 0)
		return 0;
	/* The notify fd is seccomp's return value: no syscall. It and the
	 * listener socket are close-on-exec, left for execve to close: the
	 * fewer syscalls after the load, the fewer a profile must allow. */
	return send_notify_fd(f->listener, (int)r, process_state, err);
}

void seccomp_filter_free(struct hk_seccomp_filter *f)
{
	if (!f)
		return;
	if (f->listener >= 0)
		close(f->listener);
	free(f);
}
