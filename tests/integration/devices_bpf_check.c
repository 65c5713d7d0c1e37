/* Helper of test_devices_bpf.py: puts husk's device program on a cgroup2
 * directory the test made, and reports what a process in it may do.
 *
 *   devices_bpf_check attach CGROUP TMPDIR [--defaults] RULE...
 *	attach the program for RULEs ("allow c 1:3 rw", "deny a *:* rwm"),
 *	plus cg_default_allow with --defaults; then a child joins CGROUP and
 *	prints one line per attempt: "open /dev/null rw ok", "mknod b 7:0
 *	EPERM" (mknod in TMPDIR).
 *   devices_bpf_check broken CGROUP
 *	attach a program the verifier refuses; print the error.
 *   devices_bpf_check bench CGROUP N
 *	N times: make CGROUP/bN, time build and load+attach of the OCI
 *	default config's rules, remove it; print the medians in µs.
 * Exit status 0, or 1 with the error on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/err.h"
#include "spec/spec.h"

static int die(const char *what, const struct hk_err *err)
{
	fprintf(stderr, "devices_bpf_check: %s: %s\n", what, err ? err->msg : strerror(errno));
	return 1;
}

static int parse_num(const char *s, int64_t *v)
{
	char *end;
	if (strcmp(s, "*") == 0) {
		*v = -1;
		return 0;
	}
	*v = strtoll(s, &end, 10);
	return *end ? -1 : 0;
}

/* "allow c 1:3 rw" */
static int parse_rule(const char *s, struct hk_dev_rule *r)
{
	char verb[8], maj[24], min[24], acc[8] = "";
	char type;

	if (sscanf(s, "%7s %c %23[^:]:%23s %7s", verb, &type, maj, min, acc) < 4 ||
	    strlen(acc) > 3 || parse_num(maj, &r->major) < 0 || parse_num(min, &r->minor) < 0)
		return -1;
	r->allow = strcmp(verb, "allow") == 0;
	r->type = type;
	snprintf(r->access, sizeof(r->access), "%s", acc);
	return 0;
}

static void report(const char *what, int ok)
{
	printf("%s %s\n", what, ok == 0 ? "ok" : strerrorname_np(errno));
}

static void try_all(const char *tmp)
{
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					   "/dev/kmsg"};
	static const struct {
		const char *name;
		int flags;
	} modes[] = {{"r", O_RDONLY}, {"w", O_WRONLY}, {"rw", O_RDWR}};
	static const struct {
		char type;
		unsigned major, minor;
	} nodes[] = {{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 8}, {'c', 4, 1}, {'b', 7, 0}};
	char what[300];

	for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++)
		for (size_t m = 0; m < 3; m++) {
			int fd = open(devs[d], modes[m].flags | O_CLOEXEC);
			snprintf(what, sizeof(what), "open %s %s", devs[d], modes[m].name);
			report(what, fd < 0 ? -1 : 0);
			if (fd >= 0)
				close(fd);
		}
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/node%zu", tmp, i);
		mode_t mode = (nodes[i].type == 'c' ? S_IFCHR : S_IFBLK) | 0600;
		int r = mknod(path, mode, makedev(nodes[i].major, nodes[i].minor));
		snprintf(what, sizeof(what), "mknod %c %u:%u", nodes[i].type, nodes[i].major,
			 nodes[i].minor);
		report(what, r);
		if (r == 0)
			unlink(path);
	}
}

static int join(const char *cgroup)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		return -1;
	return close(fd);
}

static int run_child(const char *cgroup, const char *tmp)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return die("fork", NULL);
	if (pid == 0) {
		if (join(cgroup) < 0)
			_exit(die("join cgroup", NULL));
		try_all(tmp);
		fflush(stdout);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return die("waitpid", NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int cmd_attach(int argc, char **argv)
{
	struct hk_dev_rule rules[256];
	struct hk_err err = {0};
	size_t n = 0;
	int i = 4;
	int defaults = argc > 4 && strcmp(argv[4], "--defaults") == 0;

	for (i += defaults; i < argc && n < 256; i++)
		if (parse_rule(argv[i], &rules[n++]) < 0) {
			fprintf(stderr, "devices_bpf_check: bad rule \"%s\"\n", argv[i]);
			return 1;
		}
	for (size_t j = 0; defaults && j < cg_n_default_allow && n < 256; j++)
		rules[n++] = cg_default_allow[j];
	int fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return die(argv[2], NULL);
	if (cg_v2_devices_apply(fd, argv[2], rules, n, &err) < 0)
		return die("apply", &err);
	close(fd);
	return run_child(argv[2], argv[3]);
}

static int cmd_broken(const char *cgroup)
{
	/* exit with r0 never set */
	const struct bpf_insn prog[] = {{.code = BPF_JMP | BPF_EXIT}};
	struct hk_err err = {0};

	int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return die(cgroup, NULL);
	if (cg_devices_bpf_attach(fd, cgroup, prog, 1, &err) == 0)
		return die("the broken program was attached", &err);
	printf("%s\n", err.msg);
	close(fd);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One round: build, then load+attach, on a fresh cgroup. */
static int bench_once(const char *cgroup, int i, double *build_us, double *attach_us)
{
	struct hk_dev_rule deny_all = {
		.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"};
	struct hk_spec s = {.dev_rules = &deny_all, .n_dev_rules = 1};
	struct hk_err err = {0};
	struct bpf_insn *insns = NULL;
	char dir[4096];
	size_t n, len;

	snprintf(dir, sizeof(dir), "%s/b%d", cgroup, i);
	if (mkdir(dir, 0755) < 0)
		return die(dir, NULL);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	double t0 = now_us();
	struct hk_dev_rule *rules = cg_device_rules(&s, &n);
	int r = cg_devices_bpf_build(rules, n, &insns, &len, &err);
	double t1 = now_us();
	if (r == 0)
		r = cg_devices_bpf_attach(fd, dir, insns, len, &err);
	double t2 = now_us();
	free(rules);
	free(insns);
	close(fd);
	rmdir(dir);
	if (r < 0)
		return die("bench", &err);
	*build_us = t1 - t0;
	*attach_us = t2 - t1;
	return 0;
}

static int cmd_bench(const char *cgroup, int rounds)
{
	double build[1000], attach[1000];

	if (rounds < 1 || rounds > 1000)
		return die("rounds: 1 to 1000", NULL);
	for (int i = 0; i < rounds; i++)
		if (bench_once(cgroup, i, &build[i], &attach[i]) != 0)
			return 1;
	qsort(build, (size_t)rounds, sizeof(double), cmp_double);
	qsort(attach, (size_t)rounds, sizeof(double), cmp_double);
	printf("build %.1f us, load+attach %.1f us (median of %d; load+attach min %.1f, max "
	       "%.1f)\n",
	       build[rounds / 2], attach[rounds / 2], rounds, attach[0], attach[rounds - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "attach") == 0)
		return cmd_attach(argc, argv);
	if (argc == 3 && strcmp(argv[1], "broken") == 0)
		return cmd_broken(argv[2]);
	if (argc == 4 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: devices_bpf_check attach CGROUP TMPDIR [--defaults] RULE... | "
			"broken CGROUP | bench CGROUP N\n");
	return 2;
}
