#include "linux/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "spec/spec.h"

struct hk_seccomp_filter {
	scmp_filter_ctx ctx;
	int listener; /* connected to listenerPath, -1 when none */
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

struct hk_seccomp_filter *seccomp_prepare(const struct hk_seccomp *s, struct hk_err *err)
{
	struct hk_seccomp_filter *f = xzalloc(sizeof(*f));

	f->listener = -1;
	f->ctx = seccomp_init(action_of(s->default_action, s->has_default_errno, s->default_errno));
	if (!f->ctx) {
		hk_fail(err, 0, "linux.seccomp.defaultAction: libseccomp refused it");
		goto fail;
	}
	if (set_attrs(f->ctx, s, err) < 0)
		goto fail;
	for (size_t i = 0; i < s->n_rules; i++)
		if (add_rule(f->ctx, s, i, err) < 0)
			goto fail;
	if (s->listener_path) {
		f->listener = connect_listener(s->listener_path, err);
		if (f->listener < 0)
			goto fail;
	}
	return f;
fail:
	seccomp_filter_free(f);
	return NULL;
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
	int r = seccomp_load(f->ctx);

	if (r < 0)
		return hk_fail(err, -r, "load the seccomp filter");
	if (f->listener < 0)
		return 0;
	/* Kept by libseccomp from the load: no syscall. The notify fd and the
	 * listener socket are close-on-exec, left for execve to close: the
	 * fewer syscalls after the load, the fewer a profile must allow. */
	int fd = seccomp_notify_fd(f->ctx);
	if (fd < 0)
		return hk_fail(err, -fd, "seccomp: no notify fd");
	return send_notify_fd(f->listener, fd, process_state, err);
}

void seccomp_filter_free(struct hk_seccomp_filter *f)
{
	if (!f)
		return;
	if (f->ctx)
		seccomp_release(f->ctx);
	if (f->listener >= 0)
		close(f->listener);
	free(f);
}
