"""The OCI face run by an ordinary user, as an engine would call it or a
person by hand (issue 22): exec (it died with SIGABRT, exit 134, and said
nothing: husk joined the pid namespace before the container's user
namespace, and could not come back), namespaces the kernel will not let
the user join (said, not aborted on), a pid namespace joined by path, the
config `runc spec --rootless` writes, cgroups a user has been delegated,
oomScoreAdj and runc's global --rootless flag.

The user is the throwaway one of test_userns.py's `rootless` fixture (made
with a subordinate id range, and removed with everything it ran). Rootless
podman driving husk is in test_rootless_podman.py.
"""

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT_PATH, IS_RUNC, Result, cgroup_dirs_named, pid_alive, wait_for
from engines import on_a_terminal
from test_userns import map_lines, status_fields
from test_userns_rootless import rootless, rootless_config  # noqa: F401


def user_env(user):
    return [f"PATH={DEFAULT_PATH[5:]}", f"HOME={user.home}", f"USER={user.name}",
            f"LOGNAME={user.name}", f"XDG_RUNTIME_DIR={user.xdg}"]


def as_user(user, *argv, timeout=20, via=()):
    """argv run as the user (through `via`, e.g. unshare), stdout and
    stderr to files."""
    cmd = ["runuser", "-u", user.name, "--", *via, "env", "-i", *user_env(user),
           *[str(a) for a in argv]]
    user.hk._n += 1
    out = user.hk.work / f"u{user.hk._n}.out"
    err = user.hk.work / f"u{user.hk._n}.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=timeout)
    return Result(cmd, p.returncode, out.read_text(errors="replace"),
                  err.read_text(errors="replace"))


def run_detached(user, args, edit=None, hostname=None):
    b = user.bundle(f"b-{secrets.token_hex(2)}")
    rootless_config(b, args, hostname=hostname, edit=edit)
    cid = user.new_id()
    r = user.call("run", "--detach", "--bundle", b, cid)
    assert r.rc == 0, str(r)
    return b, cid, user.state(cid)["pid"]


def stop(user, cid):
    user.ok("kill", cid, "KILL")
    wait_for(lambda: user.status(cid) == "stopped", what=f"{cid} stopped")
    user.ok("delete", cid)
    assert user.call("state", cid).rc != 0


# --------------------------------------------------------------------------
# exec

def test_exec(rootless):
    """issue 22, 5: exec of a running rootless container (on main: SIGABRT,
    exit 134, nothing printed)."""
    _b, cid, pid = run_detached(rootless, ["sleep", "1000"], hostname="hk-exec")
    r = rootless.call("exec", cid, "sh", "-c",
                      "id -u; hostname; cat /proc/self/uid_map; ps -o pid,comm")
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[:2] == ["0", "hk-exec"], str(r)
    assert map_lines(lines[2]) == [["0", str(rootless.uid), "1"]], str(r)
    assert ["1", "sleep"] in [l.split() for l in lines[3:]], str(r)
    # its status comes back; it ran as the user on the host, in the
    # container's namespaces
    r = rootless.call("exec", cid, "sh", "-c", "exit 5")
    assert r.rc == 5, str(r)
    pid_file = rootless.work / "exec.pid"
    rootless.ok("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "1000")
    epid = int(pid_file.read_text())
    assert status_fields(epid)["Uid"].split() == [str(rootless.uid)] * 4
    for ns in ("user", "pid", "mnt", "net", "uts", "ipc"):
        assert os.readlink(f"/proc/{epid}/ns/{ns}") == os.readlink(f"/proc/{pid}/ns/{ns}"), ns
    stop(rootless, cid)
    wait_for(lambda: not pid_alive(epid), what="the exec'd process to die with the container")


@pytest.mark.husk_only  # runc 1.1.5: "lstat : no such file or directory", exit 1
def test_kill_all_without_a_cgroup(rootless):
    """kill --all of a container with no cgroup of its own (none delegated)
    reaches every process of its pid namespace (on main: none, and exit 0):
    here the child its first process waits for, which ignores TERM."""
    _b, cid, pid = run_detached(
        rootless, ["sh", "-c", "trap '' TERM; (trap - TERM; exec sleep 1000) & wait"])
    assert cgroup_dirs_named(cid) == []
    children = Path(f"/proc/{pid}/task/{pid}/children")
    child = int(wait_for(lambda: children.read_text().split(), what="its child")[0])
    rootless.ok("kill", cid, "TERM")   # the first process only: ignored
    assert rootless.status(cid) == "running" and pid_alive(child)
    rootless.ok("kill", "--all", cid, "TERM")
    wait_for(lambda: not pid_alive(child), what="its child to get TERM")
    wait_for(lambda: rootless.status(cid) == "stopped", what=f"{cid} stopped")
    rootless.ok("delete", cid)


def test_exec_on_a_terminal(rootless):
    _b, cid, _pid = run_detached(rootless, ["sleep", "1000"])
    argv = ["runuser", "-u", rootless.name, "--", "env", "-i", *user_env(rootless),
            rootless.runtime, "exec", "-t", cid, "sh", "-c",
            "tty; [ -t 0 ] && echo stdin-is-a-tty; exit 3"]
    rc, out = on_a_terminal(argv, {"PATH": DEFAULT_PATH[5:]}, timeout=30)
    assert rc == 3, out
    assert "/dev/pts/" in out and "stdin-is-a-tty" in out, out
    stop(rootless, cid)


def test_exec_from_another_user_namespace(rootless):
    """The user's container, exec'd from another user namespace of the
    user's (`unshare --user --map-root-user`, as a rootless engine's is):
    the kernel shows nobody there the container's namespaces, let alone
    lets them in. The exec fails saying so; the container runs on."""
    _b, cid, pid = run_detached(rootless, ["sleep", "1000"])
    r = as_user(rootless, rootless.runtime, "exec", cid, "true",
                via=["unshare", "--user", "--map-root-user"])
    # (runc 1.1.5: "exec failed: fchown fd 3: invalid argument", 255)
    assert r.rc not in (0, 134, -6) and r.err.strip(), str(r)
    assert pid_alive(pid) and rootless.status(cid) == "running"
    stop(rootless, cid)


@pytest.mark.husk_only
def test_exec_from_another_user_namespace_message(rootless):
    _b, cid, pid = run_detached(rootless, ["sleep", "1000"])
    r = as_user(rootless, rootless.runtime, "exec", cid, "true",
                via=["unshare", "--user", "--map-root-user"])
    assert r.rc == 255, str(r)
    assert len(r.err_lines) == 1, str(r)
    line = r.err_lines[0]
    assert f"/proc/{pid}/ns/" in line and "Permission denied" in line, line
    assert "made from another user namespace" in line, line
    stop(rootless, cid)


# --------------------------------------------------------------------------
# namespaces by path

def _join(cfg, pid, *types):
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] in types:
            ns["path"] = f"/proc/{pid}/ns/{'net' if ns['type'] == 'network' else ns['type']}"


@pytest.mark.husk_only  # runc 1.1.5 wants uid mappings with a joined user namespace
def test_pid_namespace_joined_by_path(rootless):
    """A second container in the first one's user and pid namespaces: the
    user may not point its own children at that pid namespace (on main:
    SIGABRT, 134), so the process joins it itself, after the user
    namespace."""
    _b, cid, pid = run_detached(rootless, ["sleep", "1000"])
    b2 = rootless.bundle("b-join")

    def edit(cfg):
        _join(cfg, pid, "user", "pid")
        del cfg["linux"]["uidMappings"], cfg["linux"]["gidMappings"]

    rootless_config(b2, ["ps", "-o", "pid,comm"], edit=edit)
    cid2 = rootless.new_id()
    r = rootless.call("run", "--bundle", b2, cid2)
    assert r.rc == 0, str(r)
    assert ["1", "sleep"] in [l.split() for l in r.out.splitlines()], str(r)
    stop(rootless, cid)


def test_pid_namespace_of_another_user_namespace(rootless):
    """The same pid namespace with a new user namespace of its own: the
    kernel refuses the join (the new one has no privilege over it), and
    the create fails with that, leaving nothing."""
    _b, cid, pid = run_detached(rootless, ["sleep", "1000"])
    b2 = rootless.bundle("b-join")
    rootless_config(b2, ["true"], edit=lambda cfg: _join(cfg, pid, "pid"))
    cid2 = rootless.new_id()
    r = rootless.call("run", "--bundle", b2, cid2)
    assert r.rc == 1, str(r)
    assert rootless.call("state", cid2).rc != 0
    if not IS_RUNC:
        assert len(r.err_lines) == 1, str(r)
        assert "pid namespace" in r.err and "Operation not permitted" in r.err, str(r)
    stop(rootless, cid)


# --------------------------------------------------------------------------
# runc's own rootless config

@pytest.mark.skipif(not shutil.which("runc"), reason="runc is not installed")
def test_config_of_runc_spec_rootless(rootless):
    """What `runc spec --rootless` writes (no network or cgroup namespace,
    /sys bound, /sys/fs/cgroup of type cgroup) runs as it is: create,
    start, exec, kill, delete."""
    b = rootless.work / "b-runc"
    b.mkdir()
    rootless.chown(b)
    rootfs = rootless.hk.rootfs_copy(f"{rootless.work.name}/b-runc/rootfs")
    rootless.chown(rootfs, recursive=True)
    r = as_user(rootless, "sh", "-c", f"cd {b} && runc spec --rootless")
    assert r.rc == 0, str(r)
    cfg = json.loads((b / "config.json").read_text())
    assert {ns["type"] for ns in cfg["linux"]["namespaces"]} == {
        "pid", "ipc", "uts", "mount", "user"}
    rootless_config(b, ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"])
    cid = rootless.new_id()
    rootless.ok("create", "--bundle", b, cid)
    assert rootless.status(cid) == "created"
    rootless.ok("start", cid)
    wait_for(lambda: rootless.status(cid) == "running", what=f"{cid} running")
    r = rootless.call("exec", cid, "sh", "-c", "id -u; ls /sys/fs/cgroup >/dev/null && echo ok")
    assert r.rc == 0 and r.out.split() == ["0", "ok"], str(r)
    rootless.ok("kill", cid, "TERM")
    wait_for(lambda: rootless.status(cid) == "stopped", what=f"{cid} stopped")
    rootless.ok("delete", cid)
    assert os.listdir(rootless.state_dir) == []


# --------------------------------------------------------------------------
# cgroups

def _cgroup_mounts():
    """{"pids": v1 pids mount point, "cgroup2": the cgroup2 mount point}."""
    found = {}
    with open("/proc/self/mountinfo", errors="replace") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields = pre.split()
            fstype, _src, sopts = post.split()[:3]
            if fields[3] != "/":
                continue
            if fstype == "cgroup2":
                found.setdefault("cgroup2", fields[4])
            elif fstype == "cgroup" and "pids" in sopts.split(","):
                found.setdefault("pids", fields[4])
    return found


class Delegation:
    """Cgroups made by root and given to the user, as systemd delegates
    one: a directory of the v1 pids hierarchy and of the cgroup2 one (with
    a leaf for husk itself, whose parent holds the containers'), each with
    the files a delegate may write."""

    def __init__(self, user):
        self.user = user
        self.name = f"hk-deleg-{secrets.token_hex(3)}"
        m = _cgroup_mounts()
        self.v1 = Path(m["pids"]) / self.name if "pids" in m else None
        self.v2 = Path(m["cgroup2"]) / self.name if "cgroup2" in m else None
        self.made = []

    def _give(self, d, files):
        d.mkdir()
        self.made.append(d)
        os.chown(d, self.user.uid, self.user.gid)
        for f in files:
            if (d / f).exists():
                os.chown(d / f, self.user.uid, self.user.gid)

    def make(self):
        if self.v1:
            self._give(self.v1, ["cgroup.procs", "tasks"])
        if self.v2:
            self._give(self.v2, ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"])
            self._give(self.v2 / "husk", ["cgroup.procs", "cgroup.threads"])

    def enter_argv(self, argv):
        """argv (as root) after moving itself into the delegated cgroups."""
        moves = []
        if self.v1:
            moves.append(f"echo $$ > {self.v1}/cgroup.procs")
        if self.v2:
            moves.append(f"echo $$ > {self.v2}/husk/cgroup.procs")
        return ["sh", "-c", " && ".join(moves) + ' && exec "$@"', "sh", *argv]

    def container_dirs(self, cid):
        """Where the container's cgroups are: all in the delegated trees
        (runc 1.1.5 makes the cgroup2 one below husk's own cgroup, husk
        beside it, as on a pure cgroup v2 host)."""
        found = [Path(d) for d in cgroup_dirs_named(cid)]
        tops = [t for t in (self.v1, self.v2) if t]
        assert all(any(t in d.parents for t in tops) for d in found), (found, tops)
        if self.v1:
            assert self.v1 / cid in found, found
        return found

    def remove(self):
        """Whatever still runs in them (a failed test's containers, all
        of this test's making) is killed, then the directories go, deepest
        first."""
        for top in reversed(self.made):
            if not top.exists():
                continue
            dirs = sorted((Path(r) for r, _d, _f in os.walk(top)),
                          key=lambda p: len(p.parts), reverse=True)
            for d in dirs:
                for pid in (d / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), 9)
                    except OSError:
                        pass
                wait_for(lambda: _rmdir(d), timeout=5, what=f"rmdir {d}")


def _rmdir(d):
    try:
        d.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


@pytest.fixture
def delegation(rootless):
    d = Delegation(rootless)
    if not d.v1 and not d.v2:
        pytest.skip("no pids or cgroup2 hierarchy mounted")
    try:
        d.make()
        yield d
    finally:
        d.remove()


def test_delegated_cgroups_are_used(rootless, delegation):
    """Cgroups delegated to the user hold the container (and a pids limit
    works there); the ones not delegated are skipped, as runc skips them
    rootless; the container sees the ones it is in; exec joins them;
    delete removes what husk made."""
    b = rootless.bundle()

    def edit(cfg):
        if delegation.v1:
            cfg["linux"]["resources"] = {"pids": {"limit": 42}}

    rootless_config(b, ["sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max "
                        "2>/dev/null; exec sleep 1000"], edit=edit)
    cid = rootless.new_id()
    argv = ["runuser", "-u", rootless.name, "--", "env", "-i", *user_env(rootless),
            rootless.runtime, "run", "--detach", "--bundle", b, cid]
    out = rootless.work / "deleg.out"
    with open(out, "wb") as o:
        p = subprocess.run(delegation.enter_argv(argv), stdin=subprocess.DEVNULL, stdout=o,
                           stderr=subprocess.STDOUT, timeout=20)
    assert p.returncode == 0, out.read_text()
    pid = rootless.state(cid)["pid"]
    dirs = delegation.container_dirs(cid)
    for d in dirs:
        assert str(pid) in (d / "cgroup.procs").read_text().split(), d
    if delegation.v1:
        assert (delegation.v1 / cid / "pids.max").read_text().strip() == "42"
    # exec'd from the delegated cgroup too (a move out of another needs the
    # common ancestor's cgroup.procs on cgroup v2: skipped, as with runc)
    pid_file = rootless.work / "exec.pid"
    argv = ["runuser", "-u", rootless.name, "--", "env", "-i", *user_env(rootless),
            rootless.runtime, "exec", "--detach", "--pid-file", pid_file, cid, "sleep", "1000"]
    with open(out, "wb") as o:
        p = subprocess.run(delegation.enter_argv(argv), stdin=subprocess.DEVNULL, stdout=o,
                           stderr=subprocess.STDOUT, timeout=20)
    assert p.returncode == 0, out.read_text()
    epid = pid_file.read_text().strip()
    for d in dirs:
        assert epid in (d / "cgroup.procs").read_text().split(), d
    stop(rootless, cid)
    assert cgroup_dirs_named(cid) == []


@pytest.mark.husk_only
def test_delegated_cgroups_seen_inside(rootless, delegation):
    """In its cgroup namespace the container's /sys/fs/cgroup shows the
    hierarchies it is in, not those husk skipped."""
    if not delegation.v1:
        pytest.skip("no v1 pids hierarchy")
    b = rootless.bundle()
    rootless_config(b, ["sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max"],
                    edit=lambda cfg: cfg["linux"].__setitem__(
                        "resources", {"pids": {"limit": 42}}))
    cid = rootless.new_id()
    argv = ["runuser", "-u", rootless.name, "--", "env", "-i", *user_env(rootless),
            rootless.runtime, "run", "--bundle", b, cid]
    p = subprocess.run(delegation.enter_argv(argv), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    seen = p.stdout.split()
    want = {"pids", "unified"} if delegation.v2 else {"pids"}
    assert set(seen[:-1]) == want and seen[-1] == "42", p.stdout


def test_limit_without_a_delegated_cgroup(rootless):
    """A limit needs a cgroup: without one delegated the create fails,
    saying which (runc: "cannot set pids limit: container could not join
    or create cgroup"), and leaves nothing."""
    b = rootless.bundle()
    rootless_config(b, ["true"], edit=lambda cfg: cfg["linux"].__setitem__(
        "resources", {"pids": {"limit": 42}}))
    cid = rootless.new_id()
    r = rootless.call("run", "--bundle", b, cid)
    assert r.rc != 0, str(r)
    assert "pids" in r.err, str(r)
    assert rootless.call("state", cid).rc != 0
    assert cgroup_dirs_named(cid) == []


def test_rootless_flag(rootless):
    """runc's --rootless: false makes a cgroup the user cannot create an
    error; true and auto (rootless here) skip it."""
    b = rootless.bundle()
    rootless_config(b, ["true"])
    for value, ok in (("false", False), ("true", True), ("auto", True)):
        cid = rootless.new_id()
        r = rootless.call("--rootless", value, "run", "--bundle", b, cid)
        assert (r.rc == 0) == ok, (value, str(r))
        if not ok:
            assert "ermission denied" in r.err, str(r)
        assert rootless.call("state", cid).rc != 0


# --------------------------------------------------------------------------
# oomScoreAdj

def _own_oom_score_adj():
    return int(Path("/proc/self/oom_score_adj").read_text())


def test_oom_score_adj_raised(rootless):
    """Raising it needs no privilege (on main: "create a private procfs:
    Operation not permitted")."""
    want = min(_own_oom_score_adj() + 100, 1000)
    b = rootless.bundle()
    rootless_config(b, ["cat", "/proc/self/oom_score_adj"],
                    edit=lambda cfg: cfg["process"].__setitem__("oomScoreAdj", want))
    r = rootless.call("run", "--bundle", b, rootless.new_id())
    assert r.rc == 0 and r.out.strip() == str(want), str(r)


def test_oom_score_adj_lowered_is_refused(rootless):
    """Below its floor the kernel wants CAP_SYS_RESOURCE of the host: the
    create fails, as runc's does, saying so."""
    b = rootless.bundle()
    rootless_config(b, ["true"],
                    edit=lambda cfg: cfg["process"].__setitem__("oomScoreAdj", -999))
    cid = rootless.new_id()
    r = rootless.call("run", "--bundle", b, cid)
    assert r.rc != 0, str(r)
    assert rootless.call("state", cid).rc != 0
    if not IS_RUNC:
        assert len(r.err_lines) == 1, str(r)
        assert "process.oomScoreAdj" in r.err and "CAP_SYS_RESOURCE" in r.err, str(r)
