"""Cases from the spec's `process` object, `root`, `hostname`,
`ociVersion`, `annotations` and the command line's flags."""

from case import CAPS, Case, append, drop, process, put, sh, userns, without_ns

ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]

SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")

RLIMITS = ["RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
           "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
           "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
           "RLIMIT_SIGPENDING", "RLIMIT_STACK"]


def caps(**sets):
    """process.capabilities with the given sets (others empty)."""
    return process(capabilities={k: list(v) for k, v in sets.items()})


def user_cases():
    out = []
    for uid, gid in ((1000, 1000), (65534, 65534), (1000, 0), (0, 1000), (1, 1),
                     (4242, 4242), (0, 65534)):
        out.append(Case(f"process.user uid={uid} gid={gid}",
                        [put("process.user", {"uid": uid, "gid": gid})]))
    for gids in ([], [1, 2, 3], [0], [65534], list(range(100, 132)), [5, 5]):
        listed = ",".join(map(str, gids[:4])) + ("..." if len(gids) > 4 else "")
        out.append(Case(f"process.user.additionalGids: {len(gids)} ({listed or 'none'})",
                        [put("process.user.additionalGids", gids)]))
    for mask in (0, 0o77, 0o777, 0o22, 0o2):
        out.append(Case(f"process.user.umask={mask:o}", [put("process.user.umask", mask)]))
    out.append(Case("process.user.username (ignored on linux)",
                    [put("process.user.username", "nobody")]))
    out.append(Case("process.user uid=1000 with all capabilities",
                    [put("process.user", {"uid": 1000, "gid": 1000}),
                     caps(**{s: ALL_CAPS for s in SETS})]))
    out.append(Case("process.user uid=1000 with ambient capabilities",
                    [put("process.user", {"uid": 1000, "gid": 1000}),
                     caps(bounding=CAPS, effective=CAPS, permitted=CAPS, inheritable=CAPS,
                          ambient=CAPS)]))
    return out


def args_cases():
    script = sh("printf '#!/probe\\n' > $ROOTFS/script && chmod 755 $ROOTFS/script && "
                "printf '#!/nonexistent\\n' > $ROOTFS/badinterp && chmod 755 $ROOTFS/badinterp && "
                "ln -s /probe $ROOTFS/probelink && ln -s /nowhere $ROOTFS/dangling && "
                "mkdir -p $ROOTFS/opt/a $ROOTFS/opt/b && printf x > $ROOTFS/opt/a/probe && "
                "cp $ROOTFS/probe $ROOTFS/opt/b/probe")
    out = []
    for name, args, env in (
            ("an absolute path", ["/probe"], None),
            ("a name found in PATH", ["probe"], ["PATH=/bin:/"]),
            ("a name and no PATH", ["probe"], []),
            ("a relative path", ["./probe"], None),
            ("a path that does not exist", ["/nonexistent"], None),
            ("a name not in PATH", ["nonexistent"], None),
            ("a file that is not executable (A5)", ["/etc/passwd"], None),
            ("a directory", ["/etc"], None),
            ("a script (#!/probe)", ["/script"], None),
            ("a script with a missing interpreter", ["/badinterp"], None),
            ("a symlink to the probe", ["/probelink"], None),
            ("a dangling symlink", ["/dangling"], None),
            ("PATH: a non-executable first, then the program", ["probe"],
             ["PATH=/opt/a:/opt/b"]),
            ("an empty string", [""], None),
            ("no args at all", [], None)):
        edits = [put("process.args", args)]
        if env is not None:
            edits.append(put("process.env", env))
        out.append(Case(f"process.args: {name}", edits, setup=[script], args=args,
                        issue="A5" if "(A5)" in name or "not in PATH" in name else ""))
    out.append(Case("process.args: arguments with spaces and unicode",
                    probe=["/etc/h\u00e9", "a b"]))
    return out


def env_cases():
    out = []
    for name, env in (
            ("empty", []),
            ("no PATH", ["TERM=xterm"]),
            ("a duplicate name", [PATH_ENV, "A=1", "A=2"]),
            ("a value with =", [PATH_ENV, "A=b=c"]),
            ("an entry without =", [PATH_ENV, "JUSTANAME"]),
            ("an empty value", [PATH_ENV, "A="]),
            ("an empty name", [PATH_ENV, "=value"]),
            ("HOME given", [PATH_ENV, "HOME=/tmp"]),
            ("a long value", [PATH_ENV, "LONG=" + "x" * 32768]),
            ("non-ASCII", [PATH_ENV, "GR\u00dcSS=gr\u00fc\u00dfe"]),
            ("a relative PATH", ["PATH=bin:."])):
        out.append(Case(f"process.env: {name}", [put("process.env", env)]))
    for uid in (1, 1000, 4242):
        out.append(Case(f"process.env: HOME from /etc/passwd for uid {uid}",
                        [put("process.user", {"uid": uid, "gid": uid})]))
    return out


PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cwd_cases():
    links = sh("ln -s /etc $ROOTFS/lnk && ln -s ../../.. $ROOTFS/esc && "
               "mkdir -m 700 $ROOTFS/private && mkdir -m 755 $ROOTFS/srv")
    out = []
    for cwd in ("/tmp", "/etc/passwd", "/nonexistent", "/nonexistent/deeper", "tmp",
                "/tmp/../etc", "/lnk", "/esc", "", "/srv/", "/proc/self"):
        out.append(Case(f"process.cwd={cwd!r}", [put("process.cwd", cwd)], setup=[links]))
    out.append(Case("process.cwd: a 0700 directory as uid 1000", [
        put("process.cwd", "/private"), put("process.user", {"uid": 1000, "gid": 1000})],
        setup=[links]))
    out.append(Case("process.cwd: missing, read-write root", [
        put("process.cwd", "/made/here"), put("root.readonly", False)]))
    out.append(Case("process.cwd: missing, read-only root (A8)", [
        put("process.cwd", "/made/here")], issue="A8"))
    out.append(Case("process.cwd: on a tmpfs mount", [
        put("process.cwd", "/mnt/t"),
        append("mounts", {"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs"})]))
    return out


def caps_cases():
    out = [Case("process.capabilities: absent", [drop("process.capabilities")]),
           Case("process.capabilities: all sets empty", [caps()]),
           Case("process.capabilities: every capability in every set",
                [caps(**{s: ALL_CAPS for s in SETS})]),
           Case("process.capabilities: bounding only", [caps(bounding=ALL_CAPS)]),
           Case("process.capabilities: effective without permitted",
                [caps(bounding=CAPS, effective=CAPS)]),
           Case("process.capabilities: ambient without inheritable",
                [caps(bounding=CAPS, effective=CAPS, permitted=CAPS, ambient=CAPS)]),
           Case("process.capabilities: inheritable only",
                [caps(bounding=CAPS, inheritable=CAPS)]),
           Case("process.capabilities: an unknown name",
                [caps(bounding=CAPS + ["CAP_NO_SUCH"], effective=CAPS, permitted=CAPS)]),
           Case("process.capabilities: a lower-case name",
                [caps(bounding=["cap_kill"], effective=["cap_kill"], permitted=["cap_kill"])]),
           Case("process.capabilities: a name without CAP_",
                [caps(bounding=["KILL"], effective=["KILL"], permitted=["KILL"])]),
           Case("process.capabilities: CAP_SYS_ADMIN everywhere",
                [caps(**{s: ["CAP_SYS_ADMIN"] for s in SETS})]),
           Case("process.capabilities: a set missing (no ambient)",
                [caps(bounding=CAPS, effective=CAPS, permitted=CAPS, inheritable=CAPS)])]
    return out


def rlimit_cases():
    out = []
    values = {"RLIMIT_NICE": (10, 20), "RLIMIT_RTPRIO": (5, 10), "RLIMIT_NOFILE": (512, 2048),
              "RLIMIT_CORE": (0, 18446744073709551615)}
    for t in RLIMITS:
        soft, hard = values.get(t, (1 << 20, 1 << 21))
        if t in ("RLIMIT_CPU", "RLIMIT_RTTIME"):
            soft, hard = (3600, 7200)
        out.append(Case(f"process.rlimits: {t} {soft}/{hard}", [
            put("process.rlimits", [{"type": t, "soft": soft, "hard": hard}])]))
    for name, lim in (
            ("soft above hard", [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]),
            ("an unknown type", [{"type": "RLIMIT_NOSUCH", "soft": 1, "hard": 1}]),
            ("one type twice", [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
                                {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]),
            ("empty", []),
            ("NOFILE above the caller's hard limit",
             [{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]),
            ("NOFILE above nr_open", [{"type": "RLIMIT_NOFILE", "soft": 1 << 24,
                                       "hard": 1 << 24}]),
            ("NOFILE 0", [{"type": "RLIMIT_NOFILE", "soft": 0, "hard": 0}]),
            ("every type unlimited", [{"type": t, "soft": 18446744073709551615,
                                       "hard": 18446744073709551615}
                                      for t in RLIMITS if t != "RLIMIT_NOFILE"])):
        out.append(Case(f"process.rlimits: {name}", [put("process.rlimits", lim)]))
    return out


def misc_process_cases():
    out = [Case("process.noNewPrivileges=false", [put("process.noNewPrivileges", False)]),
           Case("process.noNewPrivileges absent", [drop("process.noNewPrivileges")])]
    for adj in (-1000, -500, 0, 500, 1000, 1001):
        out.append(Case(f"process.oomScoreAdj={adj}", [put("process.oomScoreAdj", adj)]))
    out += [Case("process.apparmorProfile (no AppArmor here)",
                 [put("process.apparmorProfile", "unconfined")]),
            Case("process.selinuxLabel (no SELinux here)",
                 [put("process.selinuxLabel", "system_u:system_r:container_t:s0")]),
            Case("process.consoleSize without a terminal",
                 [put("process.consoleSize", {"height": 10, "width": 40})]),
            Case("process.commandLine (windows only)", [put("process.commandLine", "probe")])]
    return out


def b_process_cases():
    """Issue 16 B: fields of runc 1.2+ that runc 1.1.5 does not know."""
    out = []
    for name, sched in (
            ("SCHED_OTHER nice 5", {"policy": "SCHED_OTHER", "nice": 5}),
            ("SCHED_BATCH", {"policy": "SCHED_BATCH"}),
            ("SCHED_IDLE", {"policy": "SCHED_IDLE"}),
            ("SCHED_FIFO 10", {"policy": "SCHED_FIFO", "priority": 10}),
            ("SCHED_RR 5 reset-on-fork", {"policy": "SCHED_RR", "priority": 5,
                                          "flags": ["SCHED_FLAG_RESET_ON_FORK"]}),
            ("SCHED_DEADLINE", {"policy": "SCHED_DEADLINE", "runtime": 1000000,
                                "deadline": 5000000, "period": 10000000}),
            ("an unknown policy", {"policy": "SCHED_NOSUCH"})):
        out.append(Case(f"process.scheduler: {name} (B)", [put("process.scheduler", sched)],
                        issue="B"))
    for name, prio in (("RT 0", {"class": "IOPRIO_CLASS_RT", "priority": 0}),
                       ("BE 4", {"class": "IOPRIO_CLASS_BE", "priority": 4}),
                       ("IDLE", {"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
                       ("an unknown class", {"class": "IOPRIO_CLASS_NOSUCH", "priority": 0})):
        out.append(Case(f"process.ioPriority: {name} (B)", [put("process.ioPriority", prio)],
                        issue="B"))
    for name, aff in (("initial 0", {"initial": "0"}), ("final 1", {"final": "1"}),
                      ("initial 0-1, final 0", {"initial": "0-1", "final": "0"}),
                      ("a cpu that does not exist", {"final": "63"})):
        out.append(Case(f"process.execCPUAffinity: {name} (B)",
                        [put("process.execCPUAffinity", aff)], issue="B"))
    return out


def root_cases():
    return [
        Case("root.readonly=false", [put("root.readonly", False)]),
        Case("root.readonly absent", [drop("root.readonly")]),
        Case("root.path relative to the bundle", [put("root.path", "../rootfs")]),
        Case("root.path that does not exist", [put("root.path", "/nonexistent/rootfs")]),
        Case("root.path a file", [lambda cfg, ctx: cfg["root"].update(
            path=str(ctx.rootfs / "etc" / "passwd"))]),
        Case("root.path with a trailing slash", [lambda cfg, ctx: cfg["root"].update(
            path=str(ctx.rootfs) + "/")]),
        Case("root.path a symlink to the rootfs", [lambda cfg, ctx: cfg["root"].update(
            path=str(ctx.run / "rootlink"))], setup=[sh("ln -s rootfs $RUN/rootlink")]),
    ]


def uts_cases():
    return [
        Case("hostname empty", [put("hostname", "")]),
        Case("hostname absent", [drop("hostname")]),
        Case("hostname of 64 characters", [put("hostname", "h" * 64)]),
        Case("hostname of 65 characters", [put("hostname", "h" * 65)]),
        Case("hostname non-ASCII", [put("hostname", "h\u00f6st")]),
        Case("hostname without a uts namespace", [without_ns("uts"), put("hostname", "x")]),
        Case("domainname", [put("domainname", "example.org")]),
        Case("domainname without a uts namespace", [without_ns("uts"),
                                                    put("domainname", "example.org")]),
    ]


def version_cases():
    out = []
    for v in ("1.0.0", "1.0.2", "1.1.0", "1.2.0", "1.3.0", "0.5.0", "2.0.0", "", "garbage"):
        out.append(Case(f"ociVersion={v!r}", [put("ociVersion", v)]))
    out.append(Case("ociVersion absent", [drop("ociVersion")]))
    out.append(Case("annotations", [put("annotations", {"org.example/a": "b", "x": ""})]))
    out.append(Case("an unknown top-level field", [put("nosuchfield", {"a": 1})]))
    return out


def cli_cases():
    fd_wrap = ("/bin/sh", "-c", 'exec 3<"$1"; export LISTEN_PID=$$; shift; exec "$@"', "sh",
               "{host}/fdfile")
    from case import runtime_env, runtime_prefix
    mkfd = sh("echo hello > $HOST/fdfile")
    return [
        Case("run --no-pivot", flags=["--no-pivot"]),
        Case("run --no-new-keyring", flags=["--no-new-keyring"]),
        Case("run --keep (A13)", flags=["--keep"], issue="A13"),
        Case("run --pid-file", flags=["--pid-file", "{host}/pid"], host_files=["pid"]),
        Case("run --no-subreaper", flags=["--no-subreaper"]),
        Case("run --preserve-fds 1", flags=["--preserve-fds", "1"],
             setup=[mkfd, runtime_prefix(*fd_wrap)]),
        Case("run with LISTEN_FDS=1", setup=[mkfd, runtime_prefix(*fd_wrap),
                                             runtime_env(LISTEN_FDS="1")]),
        Case("run --console-socket without a terminal",
             flags=["--console-socket", "{host}/nosock"]),
        Case("create, then start", mode="create"),
        Case("create --no-pivot, then start", mode="create", flags=["--no-pivot"]),
        Case("create --keep (runc: no such flag)", mode="create", flags=["--keep"]),
    ]


def combo_cases():
    """A few fields again in a user namespace, and without a pid namespace."""
    out = []
    for name, edits in (
            ("uid 1000", [put("process.user", {"uid": 1000, "gid": 1000})]),
            ("all capabilities", [caps(**{s: ALL_CAPS for s in SETS})]),
            ("read-write root", [put("root.readonly", False)]),
            ("umask 077", [put("process.user.umask", 0o77)]),
            ("rlimit NPROC", [put("process.rlimits", [{"type": "RLIMIT_NPROC", "soft": 100,
                                                        "hard": 100}])]),
            ("oomScoreAdj 100", [put("process.oomScoreAdj", 100)])):
        out.append(Case(f"user namespace: {name}", [userns()] + edits))
    for name, edits in (
            ("plain", []),
            ("uid 1000", [put("process.user", {"uid": 1000, "gid": 1000})]),
            ("no proc mount", [lambda cfg, ctx: cfg.update(
                mounts=[m for m in cfg["mounts"] if m["destination"] != "/proc"])])):
        out.append(Case(f"no pid namespace: {name}", [without_ns("pid")] + edits))
    return out


def cases():
    return (user_cases() + args_cases() + env_cases() + cwd_cases() + caps_cases()
            + rlimit_cases() + misc_process_cases() + b_process_cases() + root_cases()
            + uts_cases() + version_cases() + cli_cases() + combo_cases())
