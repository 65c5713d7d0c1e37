/* husk launch's default seccomp profile: an allow-list in the spirit of
 * Docker's default profile. Everything not listed fails with EPERM; the
 * calls that only a capability should open (mount, unshare, ptrace, module
 * loading, clock setting, ...) are allowed only when the container gets
 * that capability (--cap-add); clone may not make namespaces without
 * CAP_SYS_ADMIN, and clone3 reports ENOSYS then, so libc falls back to
 * clone, whose flags a filter can see. */
#include <stdint.h>
#include <stdio.h>

#include "launch/launch-int.h"
#include "spec/json.h"
#include "spec/spec.h"

static const char *const allowed[] = {
	"accept",
	"accept4",
	"access",
	"adjtimex",
	"alarm",
	"arch_prctl",
	"bind",
	"brk",
	"cachestat",
	"capget",
	"capset",
	"chdir",
	"chmod",
	"chown",
	"chown32",
	"clock_adjtime",
	"clock_adjtime64",
	"clock_getres",
	"clock_getres_time64",
	"clock_gettime",
	"clock_gettime64",
	"clock_nanosleep",
	"clock_nanosleep_time64",
	"close",
	"close_range",
	"connect",
	"copy_file_range",
	"creat",
	"dup",
	"dup2",
	"dup3",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_ctl_old",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_wait",
	"epoll_wait_old",
	"eventfd",
	"eventfd2",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fadvise64_64",
	"fallocate",
	"fanotify_mark",
	"fchdir",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"fchown",
	"fchown32",
	"fchownat",
	"fcntl",
	"fcntl64",
	"fdatasync",
	"fgetxattr",
	"flistxattr",
	"flock",
	"fork",
	"fremovexattr",
	"fsetxattr",
	"fstat",
	"fstat64",
	"fstatat64",
	"fstatfs",
	"fstatfs64",
	"fsync",
	"ftruncate",
	"ftruncate64",
	"futex",
	"futex_requeue",
	"futex_time64",
	"futex_wait",
	"futex_waitv",
	"futex_wake",
	"futimesat",
	"get_mempolicy",
	"get_robust_list",
	"get_thread_area",
	"getcpu",
	"getcwd",
	"getdents",
	"getdents64",
	"getegid",
	"getegid32",
	"geteuid",
	"geteuid32",
	"getgid",
	"getgid32",
	"getgroups",
	"getgroups32",
	"getitimer",
	"getpeername",
	"getpgid",
	"getpgrp",
	"getpid",
	"getppid",
	"getpriority",
	"getrandom",
	"getresgid",
	"getresgid32",
	"getresuid",
	"getresuid32",
	"getrlimit",
	"getrusage",
	"getsid",
	"getsockname",
	"getsockopt",
	"gettid",
	"gettimeofday",
	"getuid",
	"getuid32",
	"getxattr",
	"inotify_add_watch",
	"inotify_init",
	"inotify_init1",
	"inotify_rm_watch",
	"io_cancel",
	"io_destroy",
	"io_getevents",
	"io_pgetevents",
	"io_pgetevents_time64",
	"io_setup",
	"io_submit",
	"ioctl",
	"ioprio_get",
	"ioprio_set",
	"ipc",
	"kill",
	"landlock_add_rule",
	"landlock_create_ruleset",
	"landlock_restrict_self",
	"lchown",
	"lchown32",
	"lgetxattr",
	"link",
	"linkat",
	"listen",
	"listxattr",
	"llistxattr",
	"_llseek",
	"lremovexattr",
	"lseek",
	"lsetxattr",
	"lstat",
	"lstat64",
	"madvise",
	"map_shadow_stack",
	"membarrier",
	"memfd_create",
	"memfd_secret",
	"mincore",
	"mkdir",
	"mkdirat",
	"mknod",
	"mknodat",
	"mlock",
	"mlock2",
	"mlockall",
	"mmap",
	"mmap2",
	"modify_ldt",
	"mprotect",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedreceive_time64",
	"mq_timedsend",
	"mq_timedsend_time64",
	"mq_unlink",
	"mremap",
	"mseal",
	"msgctl",
	"msgget",
	"msgrcv",
	"msgsnd",
	"msync",
	"munlock",
	"munlockall",
	"munmap",
	"name_to_handle_at",
	"nanosleep",
	"newfstatat",
	"_newselect",
	"open",
	"openat",
	"openat2",
	"pause",
	"pidfd_open",
	"pidfd_send_signal",
	"pipe",
	"pipe2",
	"pkey_alloc",
	"pkey_free",
	"pkey_mprotect",
	"poll",
	"ppoll",
	"ppoll_time64",
	"prctl",
	"pread64",
	"preadv",
	"preadv2",
	"prlimit64",
	"process_mrelease",
	"pselect6",
	"pselect6_time64",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"read",
	"readahead",
	"readlink",
	"readlinkat",
	"readv",
	"recv",
	"recvfrom",
	"recvmmsg",
	"recvmmsg_time64",
	"recvmsg",
	"remap_file_pages",
	"removexattr",
	"rename",
	"renameat",
	"renameat2",
	"restart_syscall",
	"rmdir",
	"rseq",
	"rt_sigaction",
	"rt_sigpending",
	"rt_sigprocmask",
	"rt_sigqueueinfo",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigtimedwait",
	"rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"sched_getaffinity",
	"sched_getattr",
	"sched_getparam",
	"sched_getscheduler",
	"sched_rr_get_interval",
	"sched_rr_get_interval_time64",
	"sched_setaffinity",
	"sched_setattr",
	"sched_setparam",
	"sched_setscheduler",
	"sched_yield",
	"seccomp",
	"select",
	"semctl",
	"semget",
	"semop",
	"semtimedop",
	"semtimedop_time64",
	"send",
	"sendfile",
	"sendfile64",
	"sendmmsg",
	"sendmsg",
	"sendto",
	"set_robust_list",
	"set_thread_area",
	"set_tid_address",
	"setfsgid",
	"setfsgid32",
	"setfsuid",
	"setfsuid32",
	"setgid",
	"setgid32",
	"setgroups",
	"setgroups32",
	"setitimer",
	"setpgid",
	"setpriority",
	"setregid",
	"setregid32",
	"setresgid",
	"setresgid32",
	"setresuid",
	"setresuid32",
	"setreuid",
	"setreuid32",
	"setrlimit",
	"setsid",
	"setsockopt",
	"setuid",
	"setuid32",
	"setxattr",
	"shmat",
	"shmctl",
	"shmdt",
	"shmget",
	"shutdown",
	"sigaltstack",
	"signalfd",
	"signalfd4",
	"sigprocmask",
	"sigreturn",
	"socket",
	"socketcall",
	"socketpair",
	"splice",
	"stat",
	"stat64",
	"statfs",
	"statfs64",
	"statx",
	"symlink",
	"symlinkat",
	"sync",
	"sync_file_range",
	"syncfs",
	"sysinfo",
	"tee",
	"tgkill",
	"time",
	"timer_create",
	"timer_delete",
	"timer_getoverrun",
	"timer_gettime",
	"timer_gettime64",
	"timer_settime",
	"timer_settime64",
	"timerfd_create",
	"timerfd_gettime",
	"timerfd_gettime64",
	"timerfd_settime",
	"timerfd_settime64",
	"times",
	"tkill",
	"truncate",
	"truncate64",
	"ugetrlimit",
	"umask",
	"uname",
	"unlink",
	"unlinkat",
	"utime",
	"utimensat",
	"utimensat_time64",
	"utimes",
	"vfork",
	"vmsplice",
	"wait4",
	"waitid",
	"waitpid",
	"write",
	"writev",
};

/* Calls a capability opens, as in Docker's profile. */
static const struct {
	int cap; /* CAP_* number */
	const char *names[16];
} by_cap[] = {
	{21 /* SYS_ADMIN */,
	 {"bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "mount",
	  "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
	  "setdomainname", "sethostname", "setns"}},
	{21 /* SYS_ADMIN */, {"umount", "umount2", "unshare", "lookup_dcookie"}},
	{19 /* SYS_PTRACE */,
	 {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
	  "ptrace"}},
	{22 /* SYS_BOOT */, {"reboot"}},
	{18 /* SYS_CHROOT */, {"chroot"}},
	{16 /* SYS_MODULE */, {"delete_module", "init_module", "finit_module"}},
	{20 /* SYS_PACCT */, {"acct"}},
	{17 /* SYS_RAWIO */, {"iopl", "ioperm"}},
	{25 /* SYS_TIME */, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
	{26 /* SYS_TTY_CONFIG */, {"vhangup"}},
	{23 /* SYS_NICE */, {"mbind", "set_mempolicy", "set_mempolicy_home_node"}},
	{34 /* SYSLOG */, {"syslog"}},
	{39 /* BPF */, {"bpf"}},
	{38 /* PERFMON */, {"perf_event_open"}},
};

/* CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define HK_ENOSYS 38

static hk_json *rule(const char *const *names, size_t n, const char *action)
{
	hk_json *r = hk_json_new_obj(), *a = hk_json_new_arr();

	for (size_t i = 0; i < n && names[i]; i++)
		hk_json_append(a, hk_json_new_str(names[i]));
	hk_json_set(r, "names", a);
	hk_json_set_str(r, "action", action);
	return r;
}

static hk_json *arg_rule(const char *name, unsigned idx, uint64_t value, uint64_t two,
			 const char *op)
{
	const char *names[] = {name};
	hk_json *r = rule(names, 1, "SCMP_ACT_ALLOW"), *args = hk_json_new_arr();
	hk_json *a = hk_json_new_obj();

	hk_json_set_int(a, "index", idx);
	hk_json_set_u64(a, "value", value);
	hk_json_set_u64(a, "valueTwo", two);
	hk_json_set_str(a, "op", op);
	hk_json_append(args, a);
	hk_json_set(r, "args", args);
	return r;
}

static void add_conditional(hk_json *rules, uint64_t caps)
{
	static const uint64_t personas[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
	bool admin = caps & (1ULL << 21);

	for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++)
		hk_json_append(rules, arg_rule("personality", 0, personas[i], 0, "SCMP_CMP_EQ"));
	if (admin) {
		const char *clone[] = {"clone"};
		hk_json_append(rules, rule(clone, 1, "SCMP_ACT_ALLOW"));
		return;
	}
	hk_json_append(rules, arg_rule("clone", 0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"));
	const char *clone3[] = {"clone3"};
	hk_json *r = rule(clone3, 1, "SCMP_ACT_ERRNO");
	hk_json_set_int(r, "errnoRet", HK_ENOSYS);
	hk_json_append(rules, r);
}

hk_json *launch_seccomp_default(uint64_t caps)
{
	hk_json *s = hk_json_new_obj(), *archs = hk_json_new_arr(), *rules = hk_json_new_arr();

	hk_json_set_str(s, "defaultAction", "SCMP_ACT_ERRNO");
	hk_json_set_int(s, "defaultErrnoRet", 1); /* EPERM */
#if defined(__x86_64__)
	hk_json_append(archs, hk_json_new_str("SCMP_ARCH_X86_64"));
	/* 32-bit programs keep working; x32 (off in Debian's kernels unless
	 * booted with syscall.x32=y) is left out: each architecture costs
	 * libseccomp ~5 ms of compiling (the first start only: the program is
	 * cached, linux/seccomp-cache.h), and a call of an architecture the
	 * filter lacks is killed. */
	hk_json_append(archs, hk_json_new_str("SCMP_ARCH_X86"));
#elif defined(__aarch64__)
	hk_json_append(archs, hk_json_new_str("SCMP_ARCH_AARCH64"));
	hk_json_append(archs, hk_json_new_str("SCMP_ARCH_ARM"));
#endif
	hk_json_set(s, "architectures", archs);
	hk_json_append(rules,
		       rule(allowed, sizeof(allowed) / sizeof(allowed[0]), "SCMP_ACT_ALLOW"));
	for (size_t i = 0; i < sizeof(by_cap) / sizeof(by_cap[0]); i++)
		if (caps & (1ULL << by_cap[i].cap))
			hk_json_append(rules, rule(by_cap[i].names, 16, "SCMP_ACT_ALLOW"));
	add_conditional(rules, caps);
	hk_json_set(s, "syscalls", rules);
	return s;
}
