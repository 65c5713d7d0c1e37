"""Cases from the spec's `linux` object (namespaces, devices, resources,
sysctl, seccomp, propagation, masked and read-only paths, personality) and
`hooks`."""

from case import (Case, append, linux, ns_file, put, resources, runtime_prefix, sh, userns,
                  with_ns, without_ns)

VDA = (254, 0)  # the host's disk, for blockIO device rules


def namespace_cases():
    out = []
    for t in ("pid", "network", "ipc", "uts"):
        out.append(Case(f"linux.namespaces: without {t}", [without_ns(t)]))
    out.append(Case("linux.namespaces: without mount (A12)", [
        without_ns("mount"), put("mounts", []), put("linux.maskedPaths", []),
        put("linux.readonlyPaths", []), put("root.readonly", False)],
        setup=[runtime_prefix("unshare", "-m", "--propagation", "private")], issue="A12",
        args=["{rootfs}/probe"]))
    out += [Case("linux.namespaces: a cgroup namespace", [with_ns("cgroup")]),
            Case("linux.namespaces: a user namespace", [userns()]),
            Case("linux.namespaces: with time", [with_ns("time")]),
            Case("linux.namespaces: pid twice", [append("linux.namespaces", {"type": "pid"})]),
            Case("linux.namespaces: an unknown type",
                 [append("linux.namespaces", {"type": "nosuch"})]),
            Case("linux.namespaces: every type but time (a user namespace)", [userns()])]
    for kind, typ in (("net", "network"), ("ipc", "ipc"), ("uts", "uts"), ("cgroup", "cgroup")):
        edits = [with_ns(typ, f"{{host}}/ns/{kind}")]
        if typ == "uts":
            edits.append(put("hostname", "joined"))
        out.append(Case(f"linux.namespaces: {typ} joined by path"
                        f"{' with a hostname (A12)' if typ == 'uts' else ''}", edits,
                        setup=[ns_file(kind, f"{kind} by path")],
                        issue="A12" if typ == "uts" else ""))
    out.append(Case("linux.namespaces: uts joined by path, no hostname",
                    [with_ns("uts", "{host}/ns/uts"), lambda cfg, ctx: cfg.pop("hostname")],
                    setup=[ns_file("uts", "uts by path")]))
    out.append(Case("linux.namespaces: mount joined by path (A12)",
                    [with_ns("mount", "{host}/ns/mount")],
                    setup=[ns_file("mount", "mount by path")], issue="A12"))
    out.append(Case("linux.namespaces: a path that does not exist",
                    [with_ns("network", "{host}/ns/nosuch")]))
    out.append(Case("linux.namespaces: a path of another type",
                    [with_ns("ipc", "{host}/ns/net")], setup=[ns_file("net", "net by path")]))
    out.append(Case("linux.namespaces: the host's network by path",
                    [with_ns("network", "/proc/1/ns/net")]))
    for name, edits in (
            ("a user namespace of one id", [userns(100000, 1)]),
            ("a user namespace with two ranges", [userns(), lambda cfg, ctx: cfg["linux"]["uidMappings"].append(
                {"containerID": 70000, "hostID": 300000, "size": 10})]),
            ("mappings without a user namespace", [
                put("linux.uidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]),
                put("linux.gidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}])]),
            ("a user namespace without mappings", [with_ns("user"), with_ns("cgroup")]),
            ("a user namespace with overlapping ranges", [userns(), lambda cfg, ctx: cfg["linux"]["uidMappings"].append(
                {"containerID": 10, "hostID": 500000, "size": 10})])):
        out.append(Case(f"linux.uidMappings: {name}", edits))
    return out


def device_cases():
    out = []
    for name, dev in (
            ("a char device", {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                               "fileMode": 0o666, "uid": 0, "gid": 0}),
            ("owned by 1000", {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                               "uid": 1000, "gid": 1000}),
            ("a block device", {"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0}),
            ("a fifo", {"path": "/dev/myfifo", "type": "p"}),
            ("type u", {"path": "/dev/myu", "type": "u", "major": 1, "minor": 5}),
            ("outside /dev (A13)", {"path": "/mnt/mynull", "type": "c", "major": 1,
                                    "minor": 3}),
            ("over a default device", {"path": "/dev/null", "type": "c", "major": 1,
                                       "minor": 5}),
            ("in a subdirectory of /dev", {"path": "/dev/sub/dir/null", "type": "c",
                                           "major": 1, "minor": 3}),
            ("an unknown type", {"path": "/dev/x", "type": "x", "major": 1, "minor": 3}),
            ("no fileMode", {"path": "/dev/nomode", "type": "c", "major": 1, "minor": 3}),
            ("setuid fileMode", {"path": "/dev/suid", "type": "c", "major": 1, "minor": 3,
                                 "fileMode": 0o4755})):
        out.append(Case(f"linux.devices: {name}", [append("linux.devices", dev)],
                        probe=[dev["path"]], issue="A13" if "(A13)" in name else ""))
    for name, rules in (
            ("allow all", [{"allow": True, "access": "rwm"}]),
            ("allow c 1:3 rw", [{"allow": False, "access": "rwm"},
                                {"allow": True, "type": "c", "major": 1, "minor": 3,
                                 "access": "rw"}]),
            ("allow b *:* m", [{"allow": False, "access": "rwm"},
                               {"allow": True, "type": "b", "access": "m"}]),
            ("deny c 5:1 after allow all", [{"allow": True, "access": "rwm"},
                                            {"allow": False, "type": "c", "major": 5,
                                             "minor": 1, "access": "rwm"}]),
            ("an invalid access", [{"allow": True, "access": "x"}]),
            ("none", [])):
        out.append(Case(f"linux.resources.devices: {name}",
                        [resources(devices=rules)], probe=["/dev/null"]))
    return out


def memory_cases():
    m = 64 << 20
    out = []
    for name, mem in (
            ("limit 64M", {"limit": m}),
            ("limit -1", {"limit": -1}),
            ("limit 0", {"limit": 0}),
            ("limit 4096 (below usage)", {"limit": 4096}),
            ("reservation 32M", {"reservation": m // 2}),
            ("swap twice the limit", {"limit": m, "swap": 2 * m}),
            ("swap -1", {"limit": m, "swap": -1}),
            ("swap below the limit", {"limit": m, "swap": m // 2}),
            ("kernel 64M (A10)", {"kernel": m}),
            ("kernel -1 (A10)", {"kernel": -1}),
            ("kernelTCP 16M", {"kernelTCP": m // 4}),
            ("swappiness 0", {"swappiness": 0}),
            ("swappiness 100", {"swappiness": 100}),
            ("swappiness 101", {"swappiness": 101}),
            ("disableOOMKiller", {"disableOOMKiller": True}),
            ("useHierarchy false", {"useHierarchy": False}),
            ("checkBeforeUpdate", {"limit": m, "checkBeforeUpdate": True})):
        out.append(Case(f"linux.resources.memory: {name}", [resources(memory=mem)],
                        issue="A10" if "(A10)" in name else ""))
    return out


def cpu_cases():
    out = []
    for name, cpu in (
            ("shares 2", {"shares": 2}), ("shares 512", {"shares": 512}),
            ("shares 262144", {"shares": 262144}), ("shares 1", {"shares": 1}),
            ("shares 0", {"shares": 0}),
            ("quota 50000 period 100000", {"quota": 50000, "period": 100000}),
            ("quota -1", {"quota": -1}), ("period 1000", {"period": 1000}),
            ("period 999", {"period": 999}), ("quota 500", {"quota": 500}),
            ("burst 1000", {"quota": 50000, "period": 100000, "burst": 1000}),
            ("realtimeRuntime 0", {"realtimeRuntime": 0}),
            ("realtimeRuntime 1000", {"realtimeRuntime": 1000, "realtimePeriod": 1000000}),
            ("cpus 0", {"cpus": "0"}), ("cpus 0-1", {"cpus": "0-1"}),
            ("cpus 5", {"cpus": "5"}), ("mems 0", {"mems": "0"}), ("mems 1", {"mems": "1"}),
            ("idle 1", {"idle": 1})):
        out.append(Case(f"linux.resources.cpu: {name}", [resources(cpu=cpu)]))
    for lim in (100, -1, 0, 1):
        out.append(Case(f"linux.resources.pids: limit {lim}",
                        [resources(pids={"limit": lim})]))
    return out


def blkio_cases():
    dev = {"major": VDA[0], "minor": VDA[1]}
    out = []
    for name, b in (
            ("weight 500", {"weight": 500}), ("weight 10", {"weight": 10}),
            ("weight 1", {"weight": 1}), ("leafWeight 300", {"leafWeight": 300}),
            ("weightDevice", {"weightDevice": [dict(dev, weight=200)]}),
            ("throttleReadBpsDevice", {"throttleReadBpsDevice": [dict(dev, rate=1 << 20)]}),
            ("throttleWriteBpsDevice", {"throttleWriteBpsDevice": [dict(dev, rate=1 << 20)]}),
            ("throttleReadIOPSDevice", {"throttleReadIOPSDevice": [dict(dev, rate=100)]}),
            ("throttleWriteIOPSDevice", {"throttleWriteIOPSDevice": [dict(dev, rate=100)]}),
            ("a device that does not exist",
             {"throttleReadBpsDevice": [{"major": 250, "minor": 99, "rate": 1}]})):
        out.append(Case(f"linux.resources.blockIO: {name}", [resources(blockIO=b)]))
    out += [
        Case("linux.resources.hugepageLimits: 2MB",
             [resources(hugepageLimits=[{"pageSize": "2MB", "limit": 2 << 20}])]),
        Case("linux.resources.network: classID", [resources(network={"classID": 0x100001})]),
        Case("linux.resources.network: priorities",
             [resources(network={"priorities": [{"name": "lo", "priority": 5}]})]),
        Case("linux.resources.rdma", [resources(rdma={"mlx4_0": {"hcaHandles": 3}})]),
        Case("linux.resources.unified on cgroup v1",
             [resources(unified={"memory.high": "1000000"})]),
        Case("linux.resources: empty", [put("linux.resources", {})]),
        Case("linux.cgroupsPath relative", [put("linux.cgroupsPath", lambda c: f"{c.id}-rel")]),
        Case("linux.cgroupsPath absolute", [put("linux.cgroupsPath", lambda c: f"/{c.id}-abs")]),
        Case("linux.cgroupsPath nested",
             [put("linux.cgroupsPath", lambda c: f"/{c.id}-top/{c.id}-leaf")]),
        Case("linux.cgroupsPath systemd-style (slice:prefix:name)",
             [put("linux.cgroupsPath", lambda c: f"system.slice:hkdiff:{c.id}")]),
    ]
    return out


def sysctl_cases():
    out = []
    for key, val, edits in (
            ("kernel.shmmax", "65536", []), ("kernel.msgmax", "4096", []),
            ("kernel.shm_rmid_forced", "1", []), ("fs.mqueue.msg_max", "20", []),
            ("net.ipv4.ip_forward", "1", []), ("net.core.somaxconn", "256", []),
            ("net.ipv4.ip_unprivileged_port_start", "0", []),
            ("kernel.hostname", "fromsysctl", []), ("kernel.domainname", "dom.example", []),
            ("vm.swappiness", "10", []), ("kernel.shmmax", "65536", [without_ns("ipc")]),
            ("net.ipv4.ip_forward", "1", [without_ns("network")]),
            ("kernel.domainname", "dom.example", [without_ns("uts")]),
            ("net.ipv4.ip_forward", "abc", []), ("no.such.key", "1", []),
            ("net/ipv4/ip_forward", "1", [])):
        where = " without its namespace" if edits else ""
        issue = "A13" if key == "kernel.hostname" else ""
        out.append(Case(f"linux.sysctl: {key}={val}{where}",
                        [put("linux.sysctl", {key: val})] + edits,
                        probe=["/proc/sys/" + key.replace(".", "/")], issue=issue))
    return out


ALLOWED_BY_A1 = [
    "read", "write", "open", "openat", "close", "fstat", "newfstatat", "stat", "lstat",
    "statx", "lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "ioctl", "pread64", "access", "faccessat", "faccessat2", "pipe", "pipe2",
    "dup", "dup2", "dup3", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getgroups", "setgroups", "setuid", "setgid", "setresuid", "setresgid", "capget", "capset",
    "prctl", "arch_prctl", "execve", "execveat", "exit", "exit_group", "wait4", "kill",
    "uname", "fcntl", "getdents64", "getcwd", "chdir", "fchdir", "readlink", "readlinkat",
    "getrlimit", "prlimit64", "setrlimit", "getsid", "getpgrp", "getpgid", "setsid",
    "setpgid", "sched_getscheduler", "sched_getparam", "sched_getaffinity", "sched_yield",
    "getpriority", "ioprio_get", "get_mempolicy", "keyctl", "set_tid_address",
    "set_robust_list", "rseq", "futex", "getrandom", "clone", "fork", "vfork", "mkdirat",
    "fchmodat", "sethostname", "unshare", "personality", "nanosleep", "clock_nanosleep",
    "tgkill", "gettid", "sigaltstack", "madvise", "epoll_pwait", "epoll_ctl",
    "epoll_create1", "fchown", "fchownat", "umask", "tcgetpgrp", "mknodat", "symlinkat",
    "unlinkat", "rmdir", "setns", "mount", "umount2", "pivot_root", "chroot", "sysinfo",
    "newuname", "getxattr", "lgetxattr", "fgetxattr", "poll", "ppoll", "select", "pselect6",
    "socket", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "getsockopt",
    "setsockopt", "fsync", "fdatasync", "mlock", "munlock", "clock_gettime", "gettimeofday",
    "time", "sched_setaffinity", "statfs", "fstatfs", "getdents", "mremap", "waitid",
    "rt_sigtimedwait", "rt_sigsuspend", "readv", "writev", "pwrite64", "getrusage", "times",
    "setitimer", "alarm", "tkill", "getpgrp", "sched_getattr", "sched_setattr",
    "sched_setscheduler", "setpriority", "ioprio_set", "set_mempolicy", "mbind",
    "fchmod", "chmod", "chown", "lchown", "mkdir", "unlink", "rename", "renameat2",
    "linkat", "fstatfs64", "clone3"]


def seccomp(default, rules=(), **extra):
    prof = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": list(rules)}
    prof.update(extra)
    return linux(seccomp=prof)


def seccomp_cases():
    errno = {"action": "SCMP_ACT_ERRNO"}
    out = []
    for name, edits in (
            ("allow by default, no rules", [seccomp("SCMP_ACT_ALLOW")]),
            ("mkdir and mkdirat fail with EPERM", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["mkdir", "mkdirat"])])]),
            ("errnoRet 99", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["mkdirat"], errnoRet=99)])]),
            ("defaultErrnoRet 38", [seccomp("SCMP_ACT_ERRNO", [
                {"action": "SCMP_ACT_ALLOW", "names": ALLOWED_BY_A1}], defaultErrnoRet=38)]),
            ("uname killed", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_KILL", "names": ["uname"]}])]),
            ("uname kills the process", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_KILL_PROCESS", "names": ["uname"]}])]),
            ("getppid traps", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_TRAP", "names": ["getppid"]}])]),
            ("fchmodat logged", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_LOG", "names": ["fchmodat"]}])]),
            ("mkdirat traced, no tracer", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_TRACE", "names": ["mkdirat"]}])]),
            ("personality(0xffffffff) refused by argument", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["personality"], args=[
                    {"index": 0, "value": 0xffffffff, "op": "SCMP_CMP_EQ"}])])]),
            ("a masked argument", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["fchmodat"], args=[
                    {"index": 2, "value": 0o700, "valueTwo": 0o700, "op": "SCMP_CMP_MASKED_EQ"}
                ])])]),
            ("an unknown syscall name", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["nosuchsyscall", "mkdirat"])])]),
            ("an unknown action", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_NOSUCH", "names": ["mkdirat"]}])]),
            ("x86_64 only", [seccomp("SCMP_ACT_ALLOW", [dict(errno, names=["mkdirat"])],
                                     architectures=["SCMP_ARCH_X86_64"])]),
            ("no architectures", [seccomp("SCMP_ACT_ALLOW", [dict(errno, names=["mkdirat"])],
                                          architectures=[])]),
            ("flag SECCOMP_FILTER_FLAG_LOG", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["mkdirat"])], flags=["SECCOMP_FILTER_FLAG_LOG"])]),
            ("flag SECCOMP_FILTER_FLAG_SPEC_ALLOW", [seccomp("SCMP_ACT_ALLOW", [
                dict(errno, names=["mkdirat"])], flags=["SECCOMP_FILTER_FLAG_SPEC_ALLOW"])]),
            ("notify without a listener", [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_NOTIFY", "names": ["mkdirat"]}])]),
            ("default kill, nothing allowed", [seccomp("SCMP_ACT_KILL")])):
        # runc 1.1.5 hangs when its own init is killed by the filter
        out.append(Case(f"linux.seccomp: {name}", edits, probe=["--try"],
                        timeout=5 if "nothing allowed" in name else 0))
    no_new = [seccomp("SCMP_ACT_ERRNO", [{"action": "SCMP_ACT_ALLOW", "names": [
        n for n in ALLOWED_BY_A1]}])]
    a1 = [s for s in ALLOWED_BY_A1]
    for name, nnp in (("noNewPrivileges false", False), ("noNewPrivileges true", True)):
        out.append(Case(f"linux.seccomp: ERRNO default, no openat2/close_range, {name} (A1)",
                        [seccomp("SCMP_ACT_ERRNO", [{"action": "SCMP_ACT_ALLOW", "names": a1}]),
                         put("process.noNewPrivileges", nnp)], probe=["--try"], issue="A1"))
    out.append(Case("linux.seccomp: ERRNO default, openat2 allowed, no close_range (A1)",
                    [seccomp("SCMP_ACT_ERRNO", [{"action": "SCMP_ACT_ALLOW",
                                                 "names": a1 + ["openat2"]}]),
                     put("process.noNewPrivileges", False)], probe=["--try"], issue="A1"))
    out.append(Case("linux.seccomp: ERRNO default as uid 1000, noNewPrivileges false (A1)",
                    no_new + [put("process.noNewPrivileges", False),
                              put("process.user", {"uid": 1000, "gid": 1000})],
                    probe=["--try"], issue="A1"))
    return out


def path_cases():
    setup = sh("ln -s /etc/passwd $ROOTFS/mnt/lnk 2>/dev/null || "
               "(mkdir -p $ROOTFS/mnt && ln -s /etc/passwd $ROOTFS/mnt/lnk)")
    out = []
    for p in ("shared", "slave", "private", "rshared", "rslave", "rprivate", "unbindable",
              "runbindable", "nosuch"):
        out.append(Case(f"linux.rootfsPropagation={p}", [put("linux.rootfsPropagation", p)]))
    masked = "/proc/keys", "/proc/timer_list", "/proc/acpi", "/proc/kcore"
    out.append(Case("linux.maskedPaths: the defaults, read (A11)", probe=list(masked),
                    issue="A11"))
    for name, paths in (("empty", []), ("a file", ["/etc/hostname"]), ("a directory", ["/etc"]),
                        ("a path that does not exist", ["/nonexistent"]),
                        ("a symlink", ["/mnt/lnk"]), ("/dev/null itself", ["/dev/null"])):
        # /proc/keys and /proc/timer_list change from read to read: not
        # what an unmasked path is compared by
        out.append(Case(f"linux.maskedPaths: {name}", [put("linux.maskedPaths", paths)],
                        setup=[setup], probe=paths or ["/proc/acpi", "/proc/kcore"]))
    for name, paths in (("empty", []), ("a file", ["/etc/passwd"]), ("a directory", ["/etc"]),
                        ("a path that does not exist", ["/nonexistent"]),
                        ("a symlink", ["/mnt/lnk"])):
        out.append(Case(f"linux.readonlyPaths: {name}", [put("linux.readonlyPaths", paths)],
                        setup=[setup], probe=paths or ["/proc/sys", "/proc/bus"]))
    for name, pers in (("LINUX", {"domain": "LINUX"}), ("LINUX32", {"domain": "LINUX32"}),
                       ("flags", {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
                       ("an unknown domain", {"domain": "NOSUCH"})):
        out.append(Case(f"linux.personality: {name}", [put("linux.personality", pers)]))
    out += [Case("linux.mountLabel (no SELinux here)",
                 [put("linux.mountLabel", "system_u:object_r:container_file_t:s0")]),
            Case("linux.intelRdt (no resctrl here)", [put("linux.intelRdt", {"closID": "x"})])]
    return out


def b_linux_cases():
    out = []
    for name, pol in (("MPOL_BIND 0", {"mode": "MPOL_BIND", "nodes": "0"}),
                      ("MPOL_PREFERRED 0", {"mode": "MPOL_PREFERRED", "nodes": "0"}),
                      ("MPOL_LOCAL", {"mode": "MPOL_LOCAL"}),
                      ("MPOL_INTERLEAVE 0", {"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
                      ("MPOL_BIND static", {"mode": "MPOL_BIND", "nodes": "0",
                                            "flags": ["MPOL_F_STATIC_NODES"]}),
                      ("an unknown mode", {"mode": "MPOL_NOSUCH"})):
        out.append(Case(f"linux.memoryPolicy: {name} (B)", [put("linux.memoryPolicy", pol)],
                        issue="B"))
    # the runtime runs in a network namespace of the case's, where one end
    # of a veth pair waits to be moved in (this kernel has no dummy driver)
    netns = [ns_file("net", "the runtime's network namespace"),
             sh("nsenter --net=$HOST/ns/net ip link add hkv0 type veth peer name hkv1"),
             runtime_prefix("nsenter", "--net={host}/ns/net")]
    out.append(Case("linux.netDevices: an interface moved in (B)",
                    [put("linux.netDevices", {"hkv0": {}})], setup=netns, issue="B"))
    out.append(Case("linux.netDevices: renamed (B)",
                    [put("linux.netDevices", {"hkv0": {"name": "eth7"}})], setup=netns,
                    issue="B"))
    return out


HOOK = """#!/bin/sh
kind=$1
exec 2>>{host}/hooks.err
/bin/cat > {host}/state.$kind.json
/usr/bin/env | /usr/bin/sort > {host}/env.$kind
echo "$kind args=$# cwd=$(pwd)" >> {host}/hooks.log
"""


def write_hook(ctx, fail=""):
    p = ctx.host / "hook.sh"
    p.write_text(HOOK.format(host=ctx.host) + (f"[ \"$kind\" = {fail} ] && exit 1\n"
                                               if fail else "") + "exit 0\n")
    p.chmod(0o755)


KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")


def hooks(kinds=KINDS, env=True, fail="", extra=None):
    def edit(cfg, ctx):
        write_hook(ctx, fail)
        h = {}
        for k in kinds:
            hook = {"path": str(ctx.host / "hook.sh"), "args": ["hook.sh", k]}
            if k == "startContainer":
                # runs in the container: a program of its root, not the host's
                hook = {"path": "/bin/false" if fail == k else "/bin/true"}
            if env:
                hook["env"] = ["HOOKVAR=1", "PATH=/usr/bin:/bin"]
            if extra:
                hook.update(extra)
            h[k] = [hook]
        cfg["hooks"] = h
    return edit


def hook_cases():
    files = ["hooks.log"]
    out = [Case("hooks: every kind", [hooks()], host_files=files + [
        f"state.{k}.json" for k in KINDS] + [f"env.{k}" for k in ("prestart", "poststop")]),
        Case("hooks: without env (A9)", [hooks(("prestart", "poststop"), env=False)],
             host_files=files + ["env.prestart", "env.poststop"], issue="A9")]
    for k in KINDS:
        out.append(Case(f"hooks: {k} fails", [hooks(fail=k)], host_files=files))
    out += [Case("hooks: a timeout", [hooks(("createRuntime",), extra={"timeout": 1}),
                                      lambda cfg, ctx: cfg["hooks"]["createRuntime"][0].update(
                                          path="/bin/sleep", args=["sleep", "5"])]),
            Case("hooks: a path that does not exist",
                 [lambda cfg, ctx: cfg.update(hooks={"prestart": [{"path": "/nonexistent"}]})]),
            Case("hooks: a relative path",
                 [lambda cfg, ctx: cfg.update(hooks={"prestart": [{"path": "true"}]})])]
    return out


def exec_cases():
    sleeper = [put("process.args", ["/bin/sleep", "1000"])]
    procfile = sh("""cat > $HOST/process.json <<'E'
{"terminal": false, "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
 "args": ["/probe", "/etc"], "env": ["PATH=/bin", "X=1"], "cwd": "/tmp",
 "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                  "permitted": ["CAP_KILL"]},
 "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}],
 "noNewPrivileges": true}
E""")
    out = []
    for name, flags, args, edits in (
            ("plain", [], ["/probe"], []),
            ("--user 1000:1000 (A7)", ["--user", "1000:1000"], ["/probe"], []),
            ("--user 1000", ["--user", "1000"], ["/probe"], []),
            ("--user 1000 --additional-gids 5", ["--user", "1000", "--additional-gids", "5"],
             ["/probe"], []),
            ("--cwd /tmp", ["--cwd", "/tmp"], ["/probe"], []),
            ("--cwd that does not exist", ["--cwd", "/nonexistent"], ["/probe"], []),
            ("--env", ["--env", "FOO=bar", "--env", "PATH=/bin"], ["/probe"], []),
            ("--cap CAP_SYS_ADMIN", ["--cap", "CAP_SYS_ADMIN"], ["/probe"], []),
            ("--no-new-privs", ["--no-new-privs"], ["/probe"],
             [put("process.noNewPrivileges", False)]),
            ("--process", ["--process", "{host}/process.json"], [], []),
            ("a program that does not exist", [], ["/nonexistent"], []),
            ("a file that is not executable", [], ["/etc/passwd"], []),
            ("a name not in PATH", [], ["nonexistent"], []),
            ("into a user namespace", [], ["/probe"], [userns()]),
            ("with a seccomp profile", [], ["/probe", "--try"], [seccomp("SCMP_ACT_ALLOW", [
                {"action": "SCMP_ACT_ERRNO", "names": ["mkdirat"]}])]),
            ("--preserve-fds 1", ["--preserve-fds", "1"], ["/probe"], []),
            ("into a container without a pid namespace", [], ["/probe"],
             [without_ns("pid")])):
        setup = [procfile]
        if "preserve" in name:
            setup += [sh("echo hello > $HOST/fdfile"), runtime_prefix(
                "/bin/sh", "-c", 'exec 3<"$1"; shift; exec "$@"', "sh", "{host}/fdfile")]
        c = Case(f"exec {name}", sleeper + edits, setup=setup, mode="exec",
                 flags=flags, issue="A7" if "(A7)" in name else "")
        c.exec_args = args
        out.append(c)

    def pause(ctx):
        from runner import call
        call(ctx, "pause", ctx.id)

    def kill(ctx):
        import time

        from runner import call
        call(ctx, "kill", ctx.id, "KILL")
        time.sleep(0.3)
    out.append(Case("exec into a paused container", sleeper, mode="exec",
                    before_exec=pause))
    out.append(Case("exec into a stopped container", sleeper, mode="exec", before_exec=kill))
    return out


def caller_cases():
    from runner import caller_wrapper

    def wrap(ctx):
        ctx.prefix = caller_wrapper(ctx.probe_host, ignore=(1, 13), block=(10,))
    sleeper = [put("process.args", ["/bin/sleep", "1000"])]
    return [
        Case("caller ignores SIGHUP and SIGPIPE, blocks SIGUSR1: run (A4)", setup=[wrap],
             issue="A4"),
        Case("caller ignores SIGHUP and SIGPIPE, blocks SIGUSR1: create (A4)", setup=[wrap],
             mode="create", issue="A4"),
        Case("caller ignores SIGHUP and SIGPIPE, blocks SIGUSR1: exec (A4)", sleeper,
             setup=[wrap], mode="exec", issue="A4"),
        Case("session and process group: run (A3)", issue="A3"),
        Case("session and process group: create (A3)", mode="create", issue="A3"),
        Case("session and process group: exec (A3)", sleeper, mode="exec", issue="A3"),
        Case("session and process group without a pid namespace (A3)", [without_ns("pid")],
             issue="A3"),
    ]


def cases():
    return (namespace_cases() + device_cases() + memory_cases() + cpu_cases() + blkio_cases()
            + sysctl_cases() + seccomp_cases() + path_cases() + b_linux_cases()
            + hook_cases() + exec_cases() + caller_cases())
