"""Fixtures and helpers for husk's integration tests.

Every runtime call goes through `Runtime.call`, which runs
`$HUSK --root <private state root> <cmd> ...` with a timeout and with stdout /
stderr sent to files (never pipes: a detached container inherits them, and a
pipe would keep `subprocess.run` waiting until the container exits).

Tests run one at a time.  After each test its fixture force-deletes the
containers it made and then checks the whole session for leaks (state
entries, cgroups, mounts, processes); the same check runs once more when the
session ends.  A leak is an error of the test that caused it.
"""

import copy
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HUSK = os.environ.get("HUSK") or str(REPO / "build" / "husk")
IS_RUNC = os.path.basename(HUSK) == "runc"

# One token per session: container ids are "hktest-<SESSION><random hex>" so a
# leak is recognisable, and the leak checks can tell our containers from those
# of a concurrent run by someone else.
SESSION = secrets.token_hex(3)
ID_PREFIX = f"hktest-{SESSION}"
# Every container's environment carries this, so its processes can be found
# on the host after they exec'd the user's program.
MARK_ENV = f"HK_TEST_SESSION={SESSION}"
# The state root is nested one level down so that a runtime which wrongly
# accepts the id ".." still only touches a directory this session owns.
STATE_BASE = Path(f"/run/hk-test-{SESSION}")
STATE_ROOT = STATE_BASE / "root"

CMD_TIMEOUT = 20  # seconds for any single runtime invocation
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Mount points added to the shared rootfs so tests never make the runtime
# create directories in it (tests needing that use a private copy).
ROOTFS_MOUNTPOINTS = ("mnt/rw", "mnt/ro", "mnt/tmpfs")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "husk_only: asserts husk-specific behaviour (error message text, "
        "features runc has and husk rejects); skipped when $HUSK is runc",
    )


def pytest_collection_modifyitems(config, items):
    if not IS_RUNC:
        return
    skip = pytest.mark.skip(reason="husk-specific assertion; $HUSK is runc")
    for item in items:
        if "husk_only" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("integration tests must run as root", returncode=4)
    if not os.access(HUSK, os.X_OK):
        pytest.exit(f"runtime under test not executable: {HUSK} "
                    "(build it or set HUSK=)", returncode=4)


def pytest_report_header(config):
    return [f"runtime under test: {HUSK} (runc mode: {IS_RUNC})",
            f"session {SESSION}: state root {STATE_ROOT}"]


# --------------------------------------------------------------------------
# small helpers

def wait_for(pred, timeout=5.0, interval=0.02, what="condition"):
    """Poll pred() until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"


def ns_id(pid, ns):
    return os.readlink(f"/proc/{pid}/ns/{ns}")


def new_id():
    return f"{ID_PREFIX}{secrets.token_hex(4)}"


@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str

    def __str__(self):
        return (f"{' '.join(map(str, self.argv))!r} -> rc={self.rc}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")

    @property
    def err_lines(self):
        return self.err.splitlines()


# --------------------------------------------------------------------------
# config.json

def runc_default_mounts():
    """The mounts `runc spec` writes."""
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                     "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


DEFAULT_NAMESPACES = ("pid", "network", "ipc", "uts", "mount")
ALL_NAMESPACES = ("pid", "network", "ipc", "uts", "mount", "cgroup")


def make_config(rootfs, args=("sh", "-c", "true"), *, hostname="hktest",
                namespaces=DEFAULT_NAMESPACES, mounts=None, extra_mounts=(),
                env=None, cwd="/", user=None, readonly=True, annotations=None,
                terminal=False, console_size=None):
    """A config dict like `runc spec` writes, with terminal=false.

    namespaces: type names ("pid") or full dicts ({"type": .., "path": ..}).
    mounts: replaces runc's default mount list; extra_mounts are appended.
    env: replaces the default PATH; the session marker is always added.
    hostname=None leaves the key out (needed without a private uts ns).
    """
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    env = list(env) if env is not None else [DEFAULT_PATH]
    if MARK_ENV not in env:
        env.append(MARK_ENV)
    cfg = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": terminal,
            "user": user if user is not None else {"uid": 0, "gid": 0},
            "args": list(args),
            "env": env,
            "cwd": cwd,
            "capabilities": {k: list(caps) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": readonly},
        "mounts": (copy.deepcopy(mounts) if mounts is not None
                   else runc_default_mounts()) + list(extra_mounts),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [ns if isinstance(ns, dict) else {"type": ns}
                           for ns in namespaces],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"],
        },
    }
    if hostname is not None:
        cfg["hostname"] = hostname
    if annotations is not None:
        cfg["annotations"] = dict(annotations)
    if console_size is not None:
        cfg["process"]["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    return cfg


def bind(src, dst, *opts):
    return {"destination": dst, "type": "bind", "source": str(src),
            "options": ["rbind", *opts] if opts else ["rbind", "rw"]}


def tmpfs(dst, *opts):
    return {"destination": dst, "type": "tmpfs", "source": "tmpfs",
            "options": list(opts)}


class Bundle:
    def __init__(self, path, config):
        self.path = Path(path)
        self.config = config
        self.path.mkdir(parents=True, exist_ok=True)
        self.write()

    def write(self, config=None):
        if config is not None:
            self.config = config
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))


# --------------------------------------------------------------------------
# leak detection

def _cgroup_mounts():
    """[(mountpoint, fstype, super options)] of the host's cgroup mounts."""
    out = []
    with open("/proc/self/mountinfo", errors="replace") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields = pre.split()
            fstype, _src, sopts = post.split()[:3]
            if fstype in ("cgroup", "cgroup2"):
                out.append((fields[4], fstype, set(sopts.split(","))))
    return out


def own_cgroup_dirs():
    """This process's cgroup directory in every hierarchy; containers of a
    runtime without cgroupsPath land right below these."""
    mounts = _cgroup_mounts()
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            want = set(filter(None, ctrls.split(",")))
            for mp, fstype, sopts in mounts:
                if (hid == "0" and fstype == "cgroup2") or (
                        fstype == "cgroup" and want and want <= sopts):
                    d = Path(mp) / path.lstrip("/")
                    if d.is_dir():
                        dirs.append(d)
    return dirs


def cgroup_dirs_named(prefix, root="/sys/fs/cgroup", depth=6):
    found = []

    def walk(p, d):
        if d > depth:
            return
        try:
            with os.scandir(p) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        if e.name.startswith(prefix):
                            found.append(e.path)
                        walk(e.path, d + 1)
        except OSError:
            pass

    walk(root, 0)
    return found


def mountinfo_lines_mentioning(*needles):
    with open("/proc/self/mountinfo", errors="replace") as f:
        return [l.rstrip("\n") for l in f if any(str(n) in l for n in needles)]


def session_processes(rootfs_ids, needle_env=MARK_ENV, needle_cmd=str(STATE_ROOT)):
    """Live processes that belong to this session's containers: with the
    marker in their environment, their root at one of our rootfs dirs, or our
    state root on their command line (a runtime stuck before exec)."""
    me = os.getpid()
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me or not pid_alive(p):
            continue
        why = None
        try:
            if needle_env.encode() in open(f"/proc/{p}/environ", "rb").read().split(b"\0"):
                why = "environ"
        except OSError:
            pass
        try:
            st = os.stat(f"/proc/{p}/root")
            if (st.st_dev, st.st_ino) in rootfs_ids:
                why = "root"
        except OSError:
            pass
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read()
            if needle_cmd.encode() in cmd:
                why = "cmdline"
        except OSError:
            cmd = b""
        if why:
            found.append((int(p), why, cmd.replace(b"\0", b" ").decode(errors="replace")))
    return found

def assert_nothing_left(hk, cid, cg_before=None):
    """After a failed create or run of cid: no state, cgroup, mount or
    process left. Only cgroups carrying the id are checked (other sessions
    share the parent); with cg_before (cgroup_dirs_named(ID_PREFIX) taken
    before), no other cgroup of this session's either."""
    left = os.listdir(STATE_ROOT) if STATE_ROOT.exists() else []
    assert left == [], f"state left: {left}"
    if STATE_BASE.exists():
        assert sorted(os.listdir(STATE_BASE)) in ([], ["root"]), os.listdir(STATE_BASE)
    assert hk.list_ids() == []
    assert cgroup_dirs_named(cid) == [], f"cgroup of {cid} left"
    if cg_before is not None:
        assert set(cgroup_dirs_named(ID_PREFIX)) == cg_before
    assert mountinfo_lines_mentioning(hk.sess.tmp, STATE_BASE) == []
    wait_for(lambda: not session_processes(hk.sess.rootfs_ids), timeout=3,
             what="no container process")



def find_leaks(sess):
    leaks = []
    if STATE_ROOT.exists():
        left = sorted(os.listdir(STATE_ROOT))
        if left:
            leaks.append(f"state root entries: {left}")
    extra = sorted(set(os.listdir(STATE_BASE)) - {"root"}) if STATE_BASE.exists() else []
    if extra:
        leaks.append(f"unexpected entries in {STATE_BASE}: {extra}")
    cg = cgroup_dirs_named(ID_PREFIX)
    if cg:
        leaks.append(f"cgroups: {cg}")
    mi = mountinfo_lines_mentioning(sess.tmp, STATE_BASE)
    if mi:
        leaks.append(f"mounts: {mi}")
    procs = session_processes(sess.rootfs_ids)
    if procs:
        leaks.append("processes: " + "; ".join(f"pid {p} ({why}): {cmd}" for p, why, cmd in procs))
    return leaks


def reap_leaks(sess):
    """Best effort removal of what a failed test left, so one leak does not
    cascade into every later test.  Touches only things that carry this
    session's marks."""
    for pid, _why, _cmd in session_processes(sess.rootfs_ids):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    time.sleep(0.2)
    for line in reversed(mountinfo_lines_mentioning(sess.tmp, STATE_BASE)):
        mp = line.split()[4]
        subprocess.run(["umount", "-l", mp], timeout=10, capture_output=True)
    for d in sorted(cgroup_dirs_named(ID_PREFIX), key=len, reverse=True):
        for sub, _dirs, _files in sorted(os.walk(d), key=lambda t: -len(t[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass
    if STATE_ROOT.exists():
        for e in os.listdir(STATE_ROOT):
            shutil.rmtree(STATE_ROOT / e, ignore_errors=True)


def wait_no_leaks(sess, timeout=3.0):
    """Processes of a killed container need a moment to be reaped."""
    deadline = time.monotonic() + timeout
    while True:
        leaks = find_leaks(sess)
        if not leaks or time.monotonic() > deadline:
            return leaks
        time.sleep(0.05)


def rootfs_snapshot(root):
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            snap[os.path.relpath(p, root)] = (st.st_mode, st.st_size if not os.path.isdir(p) else 0)
    return snap


# --------------------------------------------------------------------------
# session

@dataclass
class Session:
    tmp: Path
    rootfs: Path
    rootfs_ids: set = field(default_factory=set)

    def register_rootfs(self, path):
        st = os.stat(path)
        self.rootfs_ids.add((st.st_dev, st.st_ino))


@pytest.fixture(scope="session")
def session_env():
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-test-{SESSION}-", dir="/tmp"))
    rootfs = tmp / "rootfs"
    try:
        STATE_BASE.mkdir(mode=0o700)
        STATE_ROOT.mkdir(mode=0o700)
        subprocess.run([str(REPO / "tests" / "mkrootfs.sh"), str(rootfs)],
                       check=True, timeout=60, capture_output=True)
        for d in ROOTFS_MOUNTPOINTS:
            (rootfs / d).mkdir(parents=True, exist_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(STATE_BASE, ignore_errors=True)
        raise
    sess = Session(tmp=tmp, rootfs=rootfs)
    sess.register_rootfs(rootfs)
    yield sess
    # never rm -rf through a mount point that is still there
    if not mountinfo_lines_mentioning(tmp, STATE_BASE):
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(STATE_BASE, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def session_leak_check(session_env):
    """Once every test (and its fixture) is done: nothing of ours may be left
    anywhere, and the shared read-only rootfs must be unchanged.  A failure
    here is an error of the session (pytest exits non-zero)."""
    snap = rootfs_snapshot(session_env.rootfs)
    foreign_before = set(cgroup_dirs_named("hktest-"))
    yield
    problems = wait_no_leaks(session_env)
    if problems:
        reap_leaks(session_env)
    # hktest-* cgroups of other sessions (a concurrent run, an old crash) are
    # not ours to judge or remove; new ones are worth a warning
    foreign = set(cgroup_dirs_named("hktest-")) - foreign_before
    foreign = sorted(d for d in foreign if ID_PREFIX not in d)
    if foreign:
        warnings.warn(f"hktest-* cgroups of another session appeared: {foreign}")
    assert not problems, "session leaked:\n  " + "\n  ".join(problems)
    assert rootfs_snapshot(session_env.rootfs) == snap, \
        "the runtime modified the shared read-only rootfs"


# --------------------------------------------------------------------------
# per-test runtime wrapper

class Runtime:
    def __init__(self, sess, workdir):
        self.sess = sess
        self.work = workdir
        self.ids = []
        self._n = 0
        # argv put before $HUSK, e.g. ["ip", "netns", "exec", NS] to run the
        # runtime (and so its hooks) inside a test's network namespace
        self.prefix = []

    # -- raw invocation
    def call(self, *args, timeout=CMD_TIMEOUT, cwd=None, out_path=None,
             err_path=None, env=None, root=True):
        argv = (list(self.prefix) + [HUSK] + (["--root", str(STATE_ROOT)] if root else [])
                + [str(a) for a in args])
        self._n += 1
        out_path = Path(out_path or self.work / f"call{self._n}.out")
        err_path = Path(err_path or self.work / f"call{self._n}.err")
        with open(out_path, "wb") as o, open(err_path, "wb") as e:
            try:
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o,
                                   stderr=e, timeout=timeout, cwd=cwd, env=env)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"{argv} did not finish in {timeout}s")
        return Result(argv, p.returncode, out_path.read_text(errors="replace"),
                      err_path.read_text(errors="replace"))

    def ok(self, *args, **kw):
        r = self.call(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    # -- bundles
    def new_id(self):
        cid = new_id()
        self.ids.append(cid)
        return cid

    def track(self, cid):
        self.ids.append(cid)
        return cid

    def dir(self, name):
        d = self.work / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def rootfs_copy(self, name="rootfs-copy"):
        dst = self.work / name
        subprocess.run(["cp", "-a", str(self.sess.rootfs), str(dst)],
                       check=True, timeout=30)
        self.sess.register_rootfs(dst)
        return dst

    def config(self, args=("sh", "-c", "true"), rootfs=None, **kw):
        return make_config(rootfs or self.sess.rootfs, args, **kw)

    def bundle(self, args=("sh", "-c", "true"), name=None, rootfs=None, **kw):
        self._n += 1
        return Bundle(self.work / (name or f"bundle{self._n}"),
                      self.config(args, rootfs=rootfs, **kw))

    # -- lifecycle
    def create(self, bundle, cid=None, *extra, check=True):
        cid = cid or self.new_id()
        out = bundle.path / f"{cid}.stdout"
        r = self.call("create", "--bundle", bundle.path, *extra, cid,
                      out_path=out, err_path=bundle.path / f"{cid}.stderr")
        if check:
            assert r.rc == 0, str(r)
            return cid
        return cid, r

    def run_fg(self, bundle, cid=None, *extra, timeout=CMD_TIMEOUT):
        cid = cid or self.new_id()
        return self.call("run", "--bundle", bundle.path, *extra, cid, timeout=timeout)

    def run_detached(self, bundle, cid=None, *extra):
        cid = cid or self.new_id()
        r = self.call("run", "--detach", "--bundle", bundle.path, *extra, cid,
                      out_path=bundle.path / f"{cid}.stdout",
                      err_path=bundle.path / f"{cid}.stderr")
        assert r.rc == 0, str(r)
        return cid

    def state(self, cid):
        r = self.ok("state", cid)
        return json.loads(r.out)

    def status(self, cid):
        r = self.call("state", cid)
        if r.rc != 0:
            return None
        return json.loads(r.out)["status"]

    def wait_status(self, cid, status, timeout=5.0):
        wait_for(lambda: self.status(cid) == status, timeout,
                 interval=0.03, what=f"{cid} to be {status}")

    def start(self, cid):
        return self.ok("start", cid)

    def kill(self, cid, *sig):
        return self.ok("kill", cid, *sig)

    def delete(self, cid, force=False):
        return self.ok("delete", *(["--force"] if force else []), cid)

    def list_ids(self):
        return self.ok("list", "-q").out.split()

    def cleanup(self):
        errors = []
        for cid in reversed(self.ids):
            r = self.call("delete", "--force", cid)
            if r.rc != 0 and self.status(cid) is not None:
                errors.append(str(r))
        return errors


@pytest.fixture
def hk(session_env, request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=session_env.tmp))
    # a runtime that mishandles the id ".." may have removed it
    STATE_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    rt = Runtime(session_env, work)
    yield rt
    errors = rt.cleanup()
    leaks = wait_no_leaks(session_env)
    if leaks:
        reap_leaks(session_env)
    else:
        shutil.rmtree(work, ignore_errors=True)
    assert not errors, "delete --force failed:\n" + "\n".join(errors)
    assert not leaks, "test leaked:\n  " + "\n  ".join(leaks)


@pytest.fixture
def rootfs(session_env):
    return session_env.rootfs


def call_with_fds(hk, redirect, files, *args, timeout=CMD_TIMEOUT):
    """Like hk.call, but the runtime starts with files[0] open as fd 3,
    files[1] as fd 4, ... (redirect: the shell's "<>" read/write or ">"
    write): a shell opens them, then execs the runtime."""
    redir = " ".join(f'{3 + i}{redirect}"${i + 1}"' for i in range(len(files)))
    script = f'exec {redir}; shift {len(files)}; exec "$@"'
    argv = ["/bin/sh", "-c", script, "sh", *map(str, files),
            HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    hk._n += 1
    out_path = hk.work / f"call{hk._n}.out"
    err_path = hk.work / f"call{hk._n}.err"
    with open(out_path, "wb") as o, open(err_path, "wb") as e:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o,
                               stderr=e, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{argv} did not finish in {timeout}s")
    return Result(argv, p.returncode, out_path.read_text(errors="replace"),
                  err_path.read_text(errors="replace"))


@pytest.fixture
def traversable():
    """make(path, ...): let every uid search each path and the directories
    above it (o+x), for a container process that is HOST_ID on the host.
    The modes are restored when the test ends."""
    changed = {}

    def make(*paths):
        for p in paths:
            for d in [Path(p), *Path(p).parents]:
                mode = stat.S_IMODE(os.stat(d).st_mode)
                if not mode & 0o001:
                    changed.setdefault(d, mode)
                    os.chmod(d, mode | 0o001)

    yield make
    for d, mode in changed.items():
        try:
            os.chmod(d, mode)
        except FileNotFoundError:
            pass
