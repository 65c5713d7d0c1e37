"""The process tail (src/linux/tail.h): the last steps before execve, one
order for `run`/`create` and `exec`.

* husk's own setup syscalls all run before the container's seccomp filter,
  whatever the profile (issue 16 A1): an ERRNO-default profile that lists
  neither openat2 nor close_range (older engines' profiles) runs, also
  without noNewPrivileges; and an error after the filter still reaches the
  caller.
* The process gets a session of its own (A3): `kill 0` inside reaches
  nothing outside.
* It starts with default signal dispositions and an empty mask (A4).
* Exec failures in runc's words, which engines turn into exit codes (A5).
* A missing process.cwd on a read-only root is made first (A8).

Each runs under runc too (HUSK=$(which runc)) unless marked husk_only, with
the reason.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (CMD_TIMEOUT, HUSK, IS_RUNC, REPO, STATE_ROOT, Result, bind, pid_alive,
                      wait_for)

CAP_MASK = 0x20000420  # make_config's CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE
ARCHS = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


# --------------------------------------------------------------------------
# seccomp: the filter is the last of husk's steps

def _allow_list():
    """husk launch's default allow-list (in the spirit of Docker's)."""
    text = (REPO / "src" / "launch" / "seccomp-default.c").read_text()
    body = text.split("static const char *const allowed[] = {", 1)[1].split("};", 1)[0]
    names = re.findall(r'"([a-z0-9_]+)"', body)
    assert "execve" in names and "openat2" in names, "the allow-list moved"
    return names


def _errno_profile(without):
    """ERRNO by default, the allow-list but `without`."""
    names = [n for n in _allow_list() if n not in without]
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ARCHS,
            "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}


def _with_profile(hk, args, profile, nnp, **kw):
    b = hk.bundle(list(args), **kw)
    b.config["linux"]["seccomp"] = profile
    b.config["process"]["noNewPrivileges"] = nnp
    b.write()
    return b


# What an engine's profile from before openat2 (5.6) and close_range (5.9)
# lacks: runc returns ENOSYS for syscalls newer than a profile knows, and
# falls back; husk makes them before the filter.
OLD_PROFILE_LACKS = {"openat2", "close_range"}


@pytest.mark.parametrize("nnp", [False, True])
def test_errno_profile_without_openat2_and_close_range(hk, nnp):
    b = _with_profile(hk, ["sh", "-c", "echo ok; grep ^Seccomp: /proc/self/status"],
                      _errno_profile(OLD_PROFILE_LACKS), nnp, user={"uid": 1000, "gid": 1000})
    r = hk.run_fg(b)
    assert r.rc == 0 and r.out.startswith("ok\n"), str(r)
    assert "Seccomp:\t2" in r.out, str(r)


# Everything husk does to set a process up, none of which the program needs.
HUSK_SETUP_SYSCALLS = OLD_PROFILE_LACKS | {
    "setgroups", "setgroups32", "setresuid", "setresuid32", "setresgid", "setresgid32",
    "setuid", "setuid32", "setgid", "setgid32", "prctl", "setsid", "chdir", "fchdir", "umask",
    "faccessat", "faccessat2", "sched_setattr", "sched_setaffinity", "ioprio_set",
    "set_mempolicy", "setrlimit", "prlimit64", "sendto", "sendmsg", "personality",
    "rt_sigprocmask", "rt_sigaction", "getsid",
}


# runc 1.1.5 loads the filter before it changes user and capabilities when
# noNewPrivileges is false (so the profile must allow setresuid, capset...),
# and its Go runtime keeps running under it: husk needs none of it, but
# capset when noNewPrivileges is false (the kernel wants CAP_SYS_ADMIN to
# load the filter then; it is dropped right after).
@pytest.mark.husk_only
@pytest.mark.parametrize("nnp", [False, True])
def test_filter_is_the_last_step(hk, nnp):
    lacks = HUSK_SETUP_SYSCALLS | ({"capset"} if nnp else set())
    b = _with_profile(hk, ["echo", "ok"], _errno_profile(lacks), nnp,
                      user={"uid": 1000, "gid": 1000, "additionalGids": [5]}, cwd="/tmp")
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]
    b.config["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 3}
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 5}
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_LOCAL"}
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0 and r.out == "ok\n", str(r)


@pytest.mark.parametrize("user", [{"uid": 0, "gid": 0}, {"uid": 1000, "gid": 1000}])
def test_no_capability_left_over_without_nnp(hk, user):
    """Without noNewPrivileges CAP_SYS_ADMIN is held to load the filter, then
    dropped: the program has exactly the config's sets (the user's through
    the ambient set)."""
    b = _with_profile(hk, ["grep", "^Cap", "/proc/self/status"],
                      _errno_profile(OLD_PROFILE_LACKS), False, user=user)
    caps = b.config["process"]["capabilities"]
    caps["inheritable"] = list(caps["ambient"])
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    got = {l.split(":")[0]: int(l.split()[1], 16) for l in r.out.splitlines()}
    assert got == {"CapInh": CAP_MASK, "CapPrm": CAP_MASK, "CapEff": CAP_MASK,
                   "CapBnd": CAP_MASK, "CapAmb": CAP_MASK}, r.out


def test_nothing_waits_for_start_holding_cap_sys_admin(hk):
    """Without noNewPrivileges the filter is loaded, and CAP_SYS_ADMIN held
    for it dropped, before the process waits for `start`: a process that
    can ptrace it meanwhile (CAP_SYS_PTRACE in a shared pid namespace) finds
    only the config's capabilities, as under runc."""
    b = _with_profile(hk, ["true"], _errno_profile(OLD_PROFILE_LACKS), False,
                      user={"uid": 1000, "gid": 1000})
    cid = hk.create(b)
    pid = hk.state(cid)["pid"]
    status = {l.split(":")[0]: l.split(":", 1)[1].strip()
              for l in open(f"/proc/{pid}/status").read().splitlines()}
    for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert not int(status[k], 16) & (1 << 21), status
    assert status["Seccomp"] == "2", status
    hk.start(cid)
    hk.wait_status(cid, "stopped")


def _deny_execve():
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ARCHS,
            "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.mark.parametrize("nnp", [False, True])
def test_error_after_the_filter_reaches_run(hk, nnp):
    b = _with_profile(hk, ["echo", "ok"], _deny_execve(), nnp)
    r = hk.run_fg(b)
    assert r.rc != 0 and r.out == "", str(r)
    assert "exec /bin/echo: operation not permitted" in r.err, str(r)


def test_error_after_the_filter_reaches_stderr_after_create(hk):
    """create returned long ago: the process tells its own stderr, as runc."""
    b = _with_profile(hk, ["echo", "ok"], _deny_execve(), True)
    cid = hk.create(b)
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    err = (b.path / f"{cid}.stderr").read_text()
    assert "exec /bin/echo: operation not permitted" in err, err


# --------------------------------------------------------------------------
# One tail for run and exec: what had drifted

USERNS = {"namespaces": ["pid", "network", "ipc", "uts", "mount", "user"]}
MAPS = [{"containerID": 0, "hostID": 100000, "size": 65536}]


@pytest.mark.parametrize("userns", [False, True])
def test_oom_score_adj_of_run_and_exec(hk, traversable, userns):
    """oomScoreAdj for the first process and an exec'd one, also in a user
    namespace (its process cannot write its own file: husk does)."""
    if userns:
        traversable(hk.sess.rootfs)
    b = hk.bundle(["sh", "-c", "cat /proc/self/oom_score_adj; sleep 1000"],
                  **(USERNS if userns else {}))
    b.config["process"]["oomScoreAdj"] = 300
    if userns:
        b.config["linux"]["uidMappings"] = MAPS
        b.config["linux"]["gidMappings"] = MAPS
    b.write()
    cid = hk.run_detached(b)
    wait_for(lambda: (b.path / f"{cid}.stdout").read_text(), what="the first process")
    assert (b.path / f"{cid}.stdout").read_text() == "300\n"
    r = hk.call("exec", cid, "cat", "/proc/self/oom_score_adj")
    assert r.rc == 0 and r.out == "300\n", str(r)


# runc 1.1.5 leaves an exec'd process in the default execution domain;
# runc 1.2 applies linux.personality to it too, as husk does.
@pytest.mark.husk_only
def test_personality_of_exec(hk):
    b = hk.bundle(["sleep", "1000"])
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.write()
    cid = hk.run_detached(b)
    r = hk.call("exec", cid, "uname", "-m")
    assert r.rc == 0 and r.out == "i686\n", str(r)


# --------------------------------------------------------------------------
# A session of its own

def _stat_ids(text):
    """pid, pgid, sid of a /proc/<pid>/stat line."""
    after = text.rsplit(")", 1)[1].split()
    return int(text.split()[0]), int(after[2]), int(after[3])


STAT_OF_SHELL = "cat /proc/$$/stat"


def test_run_has_its_own_session(hk):
    r = hk.run_fg(hk.bundle(["sh", "-c", STAT_OF_SHELL]))
    assert r.rc == 0, str(r)
    pid, pgid, sid = _stat_ids(r.out)
    assert pid == pgid == sid == 1, r.out


def test_detached_and_exec_have_their_own_sessions(hk):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    wait_for(lambda: open(f"/proc/{pid}/comm").read().strip() == "sleep", what="sleep")
    hpid, hpgid, hsid = _stat_ids(open(f"/proc/{pid}/stat").read())
    assert hpid == hpgid == hsid, "the container's first process leads no session"
    r = hk.call("exec", cid, "sh", "-c", STAT_OF_SHELL)
    assert r.rc == 0, str(r)
    pid, pgid, sid = _stat_ids(r.out)
    assert pid == pgid == sid and pid != 1, r.out


def test_kill_0_inside_reaches_nothing_outside(hk):
    """A shell in a session of its own starts a sentinel, then becomes the
    runtime: the container's `kill 0` must not reach the sentinel (its
    process group's) nor the runtime."""
    b = hk.bundle(["sh", "-c", "kill -TERM 0; echo survived"])
    cid = hk.new_id()
    pidfile = hk.work / "sentinel.pid"
    script = 'sleep 60 >/dev/null 2>&1 & echo $! > "$1"; shift; exec "$@"'
    p = subprocess.run(["sh", "-c", script, "sh", str(pidfile), HUSK, "--root", str(STATE_ROOT),
                        "run", "--bundle", str(b.path), cid],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=CMD_TIMEOUT,
                       start_new_session=True)
    sentinel = int(pidfile.read_text())
    try:
        alive = pid_alive(sentinel)
    finally:
        os.kill(sentinel, signal.SIGKILL)
    assert alive, "the container's kill 0 killed a process outside it"
    # the shell, its pid namespace's init, takes no signal it has no
    # handler for: it goes on
    assert p.returncode == 0 and p.stdout == b"survived\n", (p.returncode, p.stdout, p.stderr)


# --------------------------------------------------------------------------
# Signals: default dispositions, empty mask

def _ignore_raw(sig):
    """SIG_IGN through the system call: glibc (and so Python) refuses the
    two signals it keeps for itself, 32 and 33."""
    import ctypes
    ksa = (ctypes.c_ulong * 4)(1, 0, 0, 0)  # SIG_IGN, flags, restorer, mask
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(13, sig, ctypes.byref(ksa), None, 8) != 0:  # x86-64 rt_sigaction
        raise OSError(ctypes.get_errno(), "rt_sigaction")


def _ignoring(*sigs, block=()):
    def pre():
        for s in sigs:
            if s in (32, 33):
                _ignore_raw(s)
            else:
                signal.signal(s, signal.SIG_IGN)
        if block:
            signal.pthread_sigmask(signal.SIG_BLOCK, block)
    return pre


def _call(hk, *args, preexec):
    """hk.call with the runtime started by preexec (the caller's signals)."""
    argv = [HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=CMD_TIMEOUT, preexec_fn=preexec, restore_signals=False)
    return Result(argv, p.returncode, p.stdout, p.stderr)


SIGNAL_STATE = "grep -E '^Sig(Ign|Blk)' /proc/self/status; yes | head -n1"


def _assert_clean(r):
    assert r.rc == 0, str(r)
    assert "SigIgn:\t0000000000000000" in r.out, r.out
    assert r.out.endswith("y\n") and "Broken pipe" not in r.err, str(r)


def test_ignored_signals_are_not_inherited(hk):
    """podman ignores SIGPIPE, nohup SIGHUP: `yes | head -n1` must end yes by
    SIGPIPE, not print an error and exit 1."""
    b = hk.bundle(["sh", "-c", SIGNAL_STATE])
    cid = hk.new_id()
    _assert_clean(_call(hk, "run", "--bundle", b.path, cid,
                        preexec=_ignoring(signal.SIGPIPE, signal.SIGHUP)))
    cid2 = hk.run_detached(hk.bundle(["sleep", "1000"]))
    _assert_clean(_call(hk, "exec", cid2, "sh", "-c", SIGNAL_STATE,
                        preexec=_ignoring(signal.SIGPIPE, signal.SIGHUP)))


# runc 1.1.5 leaves them ignored (glibc's sigaction refuses them, and so
# did husk's reset: a make run under which 32 was ignored showed it).
@pytest.mark.husk_only
def test_ignored_glibc_signals_are_not_inherited(hk):
    b = hk.bundle(["grep", "^SigIgn", "/proc/self/status"])
    r = _call(hk, "run", "--bundle", b.path, hk.new_id(), preexec=_ignoring(32, 33))
    assert r.rc == 0 and r.out == "SigIgn:\t0000000000000000\n", str(r)


# runc 1.1.5 resets the dispositions but passes its caller's blocked mask on
# (crun empties it, as husk does).
@pytest.mark.husk_only
def test_blocked_signals_are_not_inherited(hk):
    b = hk.bundle(["grep", "^SigBlk", "/proc/self/status"])
    cid = hk.new_id()
    r = _call(hk, "run", "--bundle", b.path, cid,
              preexec=_ignoring(block=(signal.SIGUSR1, signal.SIGTERM)))
    assert r.rc == 0 and r.out == "SigBlk:\t0000000000000000\n", str(r)


# --------------------------------------------------------------------------
# Exec failures in runc's words

def _said(r):
    """What the runtime said (runc quotes its message in a log line)."""
    return r.err.replace('\\"', '"')


EXEC_FAILURES = [
    ("nosuch", 'exec: "nosuch": executable file not found in $PATH'),
    ("/nosuch", 'exec: "/nosuch": stat /nosuch: no such file or directory'),
    ("/etc/passwd", 'exec: "/etc/passwd": permission denied'),  # no x bit
    ("/tmp", 'exec: "/tmp": permission denied'),                # a directory
]


@pytest.mark.parametrize("arg0,words", EXEC_FAILURES)
def test_exec_failure_wording_run(hk, arg0, words):
    r = hk.run_fg(hk.bundle([arg0]))
    assert r.rc != 0 and words in _said(r), str(r)


@pytest.mark.parametrize("arg0,words", EXEC_FAILURES)
def test_exec_failure_wording_exec(hk, arg0, words):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = hk.call("exec", cid, arg0)
    assert r.rc != 0 and words in _said(r), str(r)


def test_exec_failures_seen_as_the_user(hk):
    """Checked as the process's user, after its cwd: a binary in a
    directory it cannot search, one on a noexec mount, one that is not a
    program (exec format error: after start, as with runc)."""
    rootfs = hk.rootfs_copy()
    (rootfs / "root" / "prog").write_bytes((rootfs / "bin" / "busybox").read_bytes())
    os.chmod(rootfs / "root" / "prog", 0o755)
    os.chmod(rootfs / "root", 0o700)
    (rootfs / "junk").write_text("not a program\n")
    os.chmod(rootfs / "junk", 0o755)
    noexec = hk.dir("noexec")
    (noexec / "prog").write_bytes((rootfs / "bin" / "busybox").read_bytes())
    os.chmod(noexec / "prog", 0o755)
    user = {"uid": 1000, "gid": 1000}
    r = hk.run_fg(hk.bundle(["/root/prog", "true"], rootfs=rootfs, user=user))
    assert r.rc != 0 and 'exec: "/root/prog": stat /root/prog: permission denied' in _said(r), \
        str(r)
    r = hk.run_fg(hk.bundle(["/mnt/ro/prog", "true"], rootfs=rootfs,
                            extra_mounts=[bind(noexec, "/mnt/ro", "ro", "noexec")]))
    assert r.rc != 0 and "exec /mnt/ro/prog: permission denied" in r.err, str(r)
    r = hk.run_fg(hk.bundle(["/junk"], rootfs=rootfs))
    assert r.rc == 1 and "exec /junk: exec format error" in r.err, str(r)
    # relative to process.cwd, as execve will see it
    r = hk.run_fg(hk.bundle(["./busybox", "echo", "rel"], rootfs=rootfs, cwd="/bin"))
    assert r.rc == 0 and r.out == "rel\n", str(r)


# --------------------------------------------------------------------------
# process.cwd on a read-only root

def test_missing_cwd_on_read_only_root(hk):
    """Kubernetes' readOnlyRootFilesystem with a workingDir the image lacks."""
    rootfs = hk.rootfs_copy()
    r = hk.run_fg(hk.bundle(["sh", "-c", "pwd; touch /x 2>&1; true"], rootfs=rootfs, readonly=True,
                            cwd="/work/dir"))
    assert r.rc == 0 and r.out.startswith("/work/dir\n"), str(r)
    assert "Read-only file system" in r.out, str(r)
    assert (rootfs / "work" / "dir").is_dir()
