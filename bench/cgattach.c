/* How long entering the v1 cgroups takes (bench/README.md, "The cgroup
 * tail"): cgattach MODE ROUNDS GAP_MS, as root on a v1 or hybrid host.
 * MODE 0: the parent writes a child's pid to each hierarchy's
 * cgroup.procs (as husk did); 1: the child writes 0 to each tasks file
 * the parent opened (as husk does now). Uses cgroups named
 * husk-cgattach-<pid> in each hierarchy, removed at the end. Prints the
 * mean and max per round, in ms. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const hier[] = {"cpu",     "cpuacct", "cpuset", "memory", "devices",
				   "freezer", "blkio",   "pids",   "systemd"};
#define NH (sizeof(hier) / sizeof(hier[0]))

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int copy_file(const char *from, const char *to)
{
	char v[4096];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY);
	ssize_t n = in >= 0 ? read(in, v, sizeof(v)) : -1;
	int r = n > 0 && out >= 0 && write(out, v, (size_t)n) == n ? 0 : -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

int main(int argc, char **argv)
{
	char dir[NH][128], p[256];
	int mode = argc > 1 ? atoi(argv[1]) : 1, rounds = argc > 2 ? atoi(argv[2]) : 40;
	int gap = argc > 3 ? atoi(argv[3]) : 50, made = 0, fail = 0;
	double total = 0, most = 0;

	for (size_t i = 0; i < NH; i++) {
		snprintf(dir[i], sizeof(dir[i]), "/sys/fs/cgroup/%s/husk-cgattach-%d", hier[i],
			 (int)getpid());
		if (mkdir(dir[i], 0755) < 0) {
			fprintf(stderr, "cgattach: mkdir %s: %s\n", dir[i], strerror(errno));
			fail = 1;
			goto out;
		}
		made = (int)i + 1;
		if (strcmp(hier[i], "cpuset") == 0)
			for (int k = 0; k < 2; k++) {
				const char *f = k ? "cpuset.mems" : "cpuset.cpus";
				char from[256];
				snprintf(from, sizeof(from), "/sys/fs/cgroup/cpuset/%s", f);
				snprintf(p, sizeof(p), "%s/%s", dir[i], f);
				if (copy_file(from, p) < 0) {
					fprintf(stderr, "cgattach: %s\n", p);
					fail = 1;
					goto out;
				}
			}
	}
	for (int r = 0; r < rounds && !fail; r++) {
		int fds[NH], go[2], st;
		for (size_t i = 0; i < NH; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir[i], mode ? "tasks" : "cgroup.procs");
			fds[i] = open(p, O_WRONLY | O_CLOEXEC);
		}
		if (pipe(go) < 0)
			return 1;
		pid_t c = fork();
		if (c == 0) {
			char x;
			if (read(go[0], &x, 1) != 1)
				_exit(255);
			double t0 = now_ms();
			for (size_t i = 0; mode && i < NH; i++)
				if (write(fds[i], "0", 1) != 1)
					_exit(255);
			int tenths = (int)((now_ms() - t0) * 10);
			_exit(tenths > 250 ? 250 : tenths);
		}
		char buf[24];
		snprintf(buf, sizeof(buf), "%d", (int)c);
		double t0 = now_ms();
		for (size_t i = 0; !mode && i < NH; i++)
			if (write(fds[i], buf, strlen(buf)) < 0)
				fail = 1;
		double d = now_ms() - t0;
		if (write(go[1], "x", 1) != 1 || waitpid(c, &st, 0) < 0 || WEXITSTATUS(st) == 255)
			fail = 1;
		if (mode)
			d = WEXITSTATUS(st) / 10.0;
		total += d;
		most = d > most ? d : most;
		for (size_t i = 0; i < NH; i++)
			close(fds[i]);
		close(go[0]);
		close(go[1]);
		usleep((useconds_t)gap * 1000);
	}
	if (!fail)
		printf("%s: mean %.3f ms, max %.3f ms over %d rounds %d ms apart\n",
		       mode ? "child writes 0 to tasks" : "parent writes pid to cgroup.procs",
		       total / rounds, most, rounds, gap);
out:
	for (int i = 0; i < made; i++)
		rmdir(dir[i]);
	return fail;
}
