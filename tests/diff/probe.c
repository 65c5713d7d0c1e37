/* The differential harness's observer (tests/diff/README.md): run as a
 * container's process under husk and under runc, it prints what the
 * process sees of itself, one fact a line, "field: value", in an order
 * that does not depend on the runtime. The harness normalises and compares
 * the two outputs; nothing here judges.
 *
 *   probe [--exit N] [--signal N] [--nowait] [--try] [PATH...]
 *	--exit N	exit with status N (default 0)
 *	--signal N	end by raising signal N (default action restored first)
 *	--nowait	do not wait for stdin's end before exiting (by default
 *			the harness reads the cgroup files from the host while
 *			the probe waits, then closes the pipe)
 *	--try		try a few harmless system calls and print their errno
 *			(what a seccomp profile does to them)
 *	PATH		stat, writability and the first bytes of each
 *
 *   probe --caller [--ignore SIG,...] [--block SIG,...] -- PROGRAM ARGS...
 *	on the host: exec PROGRAM with those signals ignored and blocked, as
 *	an engine that ignores SIGPIPE starts its runtime (issue 16 A4)
 *
 * Linked statically: it runs in a busybox rootfs. Every line is flushed
 * as it is written, so a process a seccomp profile kills half way still
 * leaves what it saw. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static void out(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(const char *field, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", field);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Bytes as text: printable ASCII as it is, anything else as \xNN, so a
 * line is always one line. */
static void escaped(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
	}
	dst[o] = '\0';
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	int e = errno;
	close(fd);
	errno = e;
	if (r < 0)
		return -1;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Every line of a file, under one field name. */
static void lines_of(const char *field, const char *path)
{
	static char buf[1 << 20];

	if (read_file(path, buf, sizeof(buf)) < 0) {
		out(field, "error %s", strerrorname_np(errno));
		return;
	}
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		out(field, "%s", l);
}

static void status_fields(void)
{
	static const char *const keep[] = {"Umask",
					   "Uid",
					   "Gid",
					   "Groups",
					   "SigBlk",
					   "SigIgn",
					   "SigCgt",
					   "CapInh",
					   "CapPrm",
					   "CapEff",
					   "CapBnd",
					   "CapAmb",
					   "NoNewPrivs",
					   "Seccomp",
					   "Seccomp_filters",
					   "Speculation_Store_Bypass",
					   "SpeculationIndirectBranch",
					   "Cpus_allowed_list",
					   "Mems_allowed_list"};
	static char buf[16384];

	if (read_file("/proc/self/status", buf, sizeof(buf)) < 0) {
		out("status", "error %s", strerrorname_np(errno));
		return;
	}
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(l, ':');
		if (!colon)
			continue;
		*colon = '\0';
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			if (strcmp(l, keep[i]) != 0)
				continue;
			char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			char field[64];
			snprintf(field, sizeof(field), "status.%s", l);
			out(field, "%s", v);
		}
	}
}

static const char *relation(pid_t what, pid_t self)
{
	if (what == self)
		return "self";
	if (what == 0)
		return "outside the pid namespace";
	if (what < 0)
		return strerrorname_np(errno);
	return "another process";
}

static void process_ids(void)
{
	pid_t self = getpid();

	out("proc.pid", "%s", self == 1 ? "1" : "not 1");
	out("proc.ppid", "%s", getppid() == 0 ? "0 (outside the pid namespace)" : "visible");
	out("proc.sid", "%s", relation(getsid(0), self));
	out("proc.pgid", "%s", relation(getpgrp(), self));
	pid_t fg = tcgetpgrp(0);
	out("proc.tty", "%s", fg < 0 ? "stdin is no terminal" : relation(fg, self));
}

static void fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		out("fd", "error %s", strerrorname_np(errno));
		return;
	}
	int skip = dirfd(d);
	int seen[1024], n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 1024) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == skip)
			continue;
		seen[n++] = atoi(e->d_name);
	}
	closedir(d);
	/* readdir's order is the kernel's, but sorted reads better */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
			int t = seen[j];
			seen[j] = seen[j - 1];
			seen[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		char link[64], target[4096], info[256], esc[8192];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", seen[i]);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = '\0';
		escaped(esc, sizeof(esc), target, strlen(target));
		snprintf(link, sizeof(link), "/proc/self/fdinfo/%d", seen[i]);
		unsigned long flags = 0;
		if (read_file(link, info, sizeof(info)) > 0) {
			char *f = strstr(info, "flags:");
			if (f)
				flags = strtoul(f + 6, NULL, 8);
		}
		out("fd", "%d %s flags=0%lo", seen[i], esc, flags);
	}
}

static void rlimits(void)
{
	static const struct {
		int res;
		const char *name;
	} lim[] = {{RLIMIT_CPU, "cpu"},           {RLIMIT_FSIZE, "fsize"},
		   {RLIMIT_DATA, "data"},         {RLIMIT_STACK, "stack"},
		   {RLIMIT_CORE, "core"},         {RLIMIT_RSS, "rss"},
		   {RLIMIT_NPROC, "nproc"},       {RLIMIT_NOFILE, "nofile"},
		   {RLIMIT_MEMLOCK, "memlock"},   {RLIMIT_AS, "as"},
		   {RLIMIT_LOCKS, "locks"},       {RLIMIT_SIGPENDING, "sigpending"},
		   {RLIMIT_MSGQUEUE, "msgqueue"}, {RLIMIT_NICE, "nice"},
		   {RLIMIT_RTPRIO, "rtprio"},     {RLIMIT_RTTIME, "rttime"}};

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit r;
		char field[32];
		snprintf(field, sizeof(field), "rlimit.%s", lim[i].name);
		if (getrlimit(lim[i].res, &r) < 0) {
			out(field, "error %s", strerrorname_np(errno));
			continue;
		}
		char s[32], h[32];
		snprintf(s, sizeof(s), "%llu", (unsigned long long)r.rlim_cur);
		snprintf(h, sizeof(h), "%llu", (unsigned long long)r.rlim_max);
		out(field, "%s %s", r.rlim_cur == RLIM_INFINITY ? "unlimited" : s,
		    r.rlim_max == RLIM_INFINITY ? "unlimited" : h);
	}
}

static void identity(void)
{
	char cwd[4096];
	struct utsname u;

	if (getcwd(cwd, sizeof(cwd)))
		out("cwd", "%s", cwd);
	else
		out("cwd", "error %s", strerrorname_np(errno));
	if (uname(&u) == 0) {
		out("uts.hostname", "%s", u.nodename);
		out("uts.domainname", "%s", u.domainname);
	}
	for (char **e = environ; *e; e++) {
		char esc[8192];
		escaped(esc, sizeof(esc), *e, strlen(*e));
		out("env", "%s", esc);
	}
	char buf[256];
	if (read_file("/proc/self/oom_score_adj", buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		out("oom_score_adj", "%s", buf);
	}
	out("personality", "0x%x", (unsigned)personality(0xffffffff));
}

static void scheduling(void)
{
	struct sched_param sp = {0};
	int policy = sched_getscheduler(0);

	sched_getparam(0, &sp);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	out("sched", "policy %d priority %d nice %d", policy & ~SCHED_RESET_ON_FORK,
	    sp.sched_priority, errno ? -999 : nice);
	out("sched.reset_on_fork", "%s", policy & SCHED_RESET_ON_FORK ? "yes" : "no");
	/* ioprio_get(IOPRIO_WHO_PROCESS, 0) */
	long io = syscall(SYS_ioprio_get, 1, 0);
	if (io < 0)
		out("ioprio", "error %s", strerrorname_np(errno));
	else
		out("ioprio", "class %ld data %ld", io >> 13, io & 0x1fff);
	int mode = -1;
	unsigned long mask[16] = {0};
	if (syscall(SYS_get_mempolicy, &mode, mask, sizeof(mask) * 8, NULL, 0) < 0)
		out("mempolicy", "error %s", strerrorname_np(errno));
	else
		out("mempolicy", "mode %d flags 0x%x nodes 0x%lx", mode & 0xffff,
		    (unsigned)mode & ~0xffffu, mask[0]);
}

static void keyring(void)
{
	char desc[512];
	/* keyctl(KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, ...) */
	long n = syscall(SYS_keyctl, 6, -3, desc, sizeof(desc) - 1);
	if (n < 0) {
		out("keyring.session", "error %s", strerrorname_np(errno));
		return;
	}
	desc[n < (long)sizeof(desc) ? n : (long)sizeof(desc) - 1] = '\0';
	/* type;uid;gid;perm;description */
	out("keyring.session", "%s", desc);
}

static char type_of(mode_t m)
{
	if (S_ISREG(m))
		return 'f';
	if (S_ISDIR(m))
		return 'd';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISCHR(m))
		return 'c';
	if (S_ISBLK(m))
		return 'b';
	if (S_ISFIFO(m))
		return 'p';
	if (S_ISSOCK(m))
		return 's';
	return '?';
}

static void describe(const char *field, const char *path, int at, const char *name)
{
	struct stat st;
	char buf[256], esc[1200];

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		out(field, "%s error %s", path, strerrorname_np(errno));
		return;
	}
	char extra[4200] = "";
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(at, name, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		snprintf(extra, sizeof(extra), " -> %s", target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		snprintf(extra, sizeof(extra), " %u:%u", major(st.st_rdev), minor(st.st_rdev));
	}
	out(field, "%s %c%04o %u:%u%s", path, type_of(st.st_mode), st.st_mode & 07777, st.st_uid,
	    st.st_gid, extra);
	if (strcmp(field, "path") != 0)
		return;
	/* writable? access() says EROFS for a read-only mount, without writing */
	out("path.w", "%s %s", path, access(path, W_OK) == 0 ? "ok" : strerrorname_np(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		int n = 0;
		if (d) {
			while (readdir(d))
				n++;
			closedir(d);
		}
		out("path.r", "%s %s", path,
		    d ? (n > 2 ? "entries" : "empty") : strerrorname_np(errno));
		return;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		out("path.r", "%s %s", path, strerrorname_np(errno));
		return;
	}
	ssize_t r = read(fd, buf, 64);
	int e = errno;
	close(fd);
	if (r < 0) {
		out("path.r", "%s read %s", path, strerrorname_np(e));
		return;
	}
	escaped(esc, sizeof(esc), buf, (size_t)r);
	out("path.r", "%s \"%s\"", path, esc);
}

static void dev_entries(void)
{
	DIR *d = opendir("/dev");
	if (!d) {
		out("dev", "error %s", strerrorname_np(errno));
		return;
	}
	char *names[512];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 512)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			names[n++] = strdup(e->d_name);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		char path[600];
		snprintf(path, sizeof(path), "/dev/%s", names[i]);
		describe("dev", path, dirfd(d), names[i]);
		free(names[i]);
	}
	closedir(d);
}

static void net_devices(void)
{
	static char buf[65536];

	if (read_file("/proc/self/net/dev", buf, sizeof(buf)) < 0) {
		out("net", "error %s", strerrorname_np(errno));
		return;
	}
	char *save = NULL;
	int line = 0;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (line++ < 2)
			continue; /* the two header lines */
		char *colon = strchr(l, ':');
		if (!colon)
			continue;
		*colon = '\0';
		while (*l == ' ')
			l++;
		out("net", "%s", l);
	}
}

/* Each errno as the name, so two libcs cannot word it differently. */
static void try_syscalls(void)
{
	struct {
		const char *name;
		long r;
		int e;
	} t[8];
	int n = 0;

#define TRY(label, call)           \
	do {                       \
		errno = 0;         \
		t[n].name = label; \
		t[n].r = (call);   \
		t[n].e = errno;    \
		n++;               \
	} while (0)
	TRY("getppid", syscall(SYS_getppid) < 0 ? -1 : 0);
	TRY("mkdir", syscall(SYS_mkdirat, AT_FDCWD, "/tmp/.probe-try", 0700));
	if (t[n - 1].r == 0)
		rmdir("/tmp/.probe-try");
	TRY("chmod", syscall(SYS_fchmodat, AT_FDCWD, "/", 0755));
	TRY("uname", syscall(SYS_uname, &(struct utsname){0}));
	TRY("sethostname", syscall(SYS_sethostname, "x", 0));
	TRY("unshare", syscall(SYS_unshare, 0));
	TRY("personality", syscall(SYS_personality, 0xffffffff) < 0 ? -1 : 0);
#undef TRY
	for (int i = 0; i < n; i++)
		out("try", "%s %s", t[i].name, t[i].r < 0 ? strerrorname_np(t[i].e) : "ok");
}

static void signal_list(const char *list, int ignore, sigset_t *block)
{
	char *copy = strdup(list), *save = NULL;

	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (ignore)
			signal(atoi(s), SIG_IGN);
		else
			sigaddset(block, atoi(s));
	}
	free(copy);
}

static int caller(int argc, char **argv)
{
	sigset_t block;
	int i;

	sigemptyset(&block);
	for (i = 2; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2)
		signal_list(argv[i + 1], strcmp(argv[i], "--ignore") == 0, &block);
	if (i + 1 >= argc) {
		fprintf(stderr, "probe --caller: no program\n");
		return 2;
	}
	sigprocmask(SIG_BLOCK, &block, NULL);
	execv(argv[i + 1], argv + i + 1);
	fprintf(stderr, "probe --caller: exec %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--caller") == 0)
		return caller(argc, argv);

	int status = 0, sig = 0;
	int wait = 1, try = 0, i;

	/* fds first: anything this program opens would show */
	out("probe", "begin");
	fds();
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc)
			status = atoi(argv[++i]);
		else if (strcmp(argv[i], "--signal") == 0 && i + 1 < argc)
			sig = atoi(argv[++i]);
		else if (strcmp(argv[i], "--nowait") == 0)
			wait = 0;
		else if (strcmp(argv[i], "--try") == 0)
			try = 1;
	}
	status_fields();
	process_ids();
	identity();
	rlimits();
	scheduling();
	keyring();
	lines_of("uid_map", "/proc/self/uid_map");
	lines_of("gid_map", "/proc/self/gid_map");
	lines_of("setgroups", "/proc/self/setgroups");
	lines_of("cgroup", "/proc/self/cgroup");
	lines_of("timens_offsets", "/proc/self/timens_offsets");
	lines_of("mount", "/proc/self/mountinfo");
	net_devices();
	dev_entries();
	for (; i < argc; i++)
		describe("path", argv[i], AT_FDCWD, argv[i]);
	if (try)
		try_syscalls();
	out("probe", "end");
	if (wait) {
		char c;
		while (read(0, &c, 1) > 0)
			;
	}
	if (sig) {
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	return status;
}
