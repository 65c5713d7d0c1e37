/* seccomp_kill SYSCALL CMD [ARG...]: run CMD under a seccomp filter that
 * allows everything but SYSCALL, which kills the process (SIGSYS), as a
 * sandboxing caller might. For test_start_faults.py: husk's page-mapping
 * hints (common/entry.c) must not make it die where it ran before. */
#include <seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: seccomp_kill SYSCALL CMD [ARG...]\n");
		return 2;
	}
	int nr = seccomp_syscall_resolve_name(argv[1]);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (nr == __NR_SCMP_ERROR || !ctx ||
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0) < 0 || seccomp_load(ctx) < 0) {
		fprintf(stderr, "seccomp_kill: cannot filter %s\n", argv[1]);
		return 2;
	}
	execvp(argv[2], argv + 2);
	perror("seccomp_kill: exec");
	return 127;
}
