/* The container process's last steps: credentials, the program lookup, the
 * environment, and the final execve. */
#ifndef HUSK_LINUX_PROCESS_H
#define HUSK_LINUX_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_derived;
struct hk_process;
struct hk_err;

/* Find args[0] inside the (already pivoted) root, through PATH from the
 * process's env when it has no '/', relative ones from the cwd: called as
 * the process's user in its cwd, so what it finds execve may run. Errors
 * in runc's words, which engines map to exit codes (`exec: "x": executable
 * file not found in $PATH`, `... stat /x: no such file or directory`,
 * `... permission denied`). Returns a malloc'd path. */
char *process_find_exec(const struct hk_process *p, struct hk_err *err);
/* Without HOME in the env, take it from the container's /etc/passwd (read
 * after pivot_root or setns, so inside the container), "/" when the uid is
 * not there, as runc does: added to d's environment, never p's. */
void process_set_home(const struct hk_process *p, struct hk_derived *d);
/* setgroups, setresgid, setresuid; capabilities survive the uid change. */
int process_set_user(const struct hk_process *p, struct hk_err *err);
/* process.oomScoreAdj of the process pid (as husk sees it), written by husk
 * itself right after the clone, for the container's first process and for
 * an exec'd one alike: lowering it takes CAP_SYS_RESOURCE in the host's
 * user namespace, and a process in a user namespace cannot even open its
 * own file once it is not dumpable (runc writes it before it joins one). */
int process_set_oom_score_adj(pid_t pid, const struct hk_process *p, struct hk_err *err);
/* chdir to process.cwd resolved inside the (already pivoted) root, as a
 * container path: never through /proc/self/fd/N or another magic link to
 * something of the host's (CVE-2024-21626). */
int process_chdir(const char *cwd, struct hk_err *err);
/* Clear close-on-exec on the preserved fds: those among 3 .. 3+n-1 that
 * husk was started with (common/fds.h). An fd of husk's own in a gap of
 * that range keeps close-on-exec: only what the caller passed goes on. */
int process_preserve_fds(int preserve_fds, struct hk_err *err);
/* Make every other fd from 3 up close on exec. */
int process_cloexec_fds(int preserve_fds, struct hk_err *err);
/* Until it execs the container's program, a process of husk's holds host
 * fds and memory that /proc/<pid>/{fd,environ,mem,exe} would hand to the
 * container's processes. A non-dumpable process's /proc entries need
 * CAP_SYS_PTRACE in the user namespace of its (husk's) memory, which
 * nothing in a container without that capability has. husk calls this
 * before clone3, so its children are non-dumpable from birth: no window.
 * execve makes the container's program dumpable again as usual. (The
 * binary itself is covered whatever the capabilities: linux/selfexe.h.)
 * Unprivileged husk skips it: it must write its child's /proc files
 * itself. */
int process_guard_exe(struct hk_err *err);
/* The same whoever runs husk: exec's, whose process writes no /proc file
 * of another's, and which an ordinary user's exec needs most (the process
 * joins a container whose root is that user: dumpable, any process there
 * could trace it until its filter is on; outside attack, fifth round F1). */
int process_undumpable(struct hk_err *err);
/* execve of p's args with env; returns only on failure ("exec /x: exec
 * format error", as runc). */
int process_exec(const char *path, const struct hk_process *p, char *const *env,
		 struct hk_err *err);

#endif
