"""Hostile input: malformed and adversarial config.json files, and root
filesystems laid out to lead the runtime astray.

Every case runs `husk create` (and a delete), and passes only if husk
either refuses it -- exit status 1, exactly one line on stderr, starting
"husk: " and naming the problem -- or makes a correct container.  In no case
may husk crash (die by a signal, print a sanitizer report when $HUSK is
build-asan/husk), hang (every call has a timeout), or change the host: the
host paths a hostile symlink points at are checked before and after, and the
fixtures' leak checks (state, cgroups, mounts, processes) run after each
case.

The config corpus is tests/data/hostile/cases/, written by
tests/data/hostile/make.py together with manifest.json, which says what each
case expects.  A finding not fixed yet in husk is listed in KNOWN below: the
tests showing it are xfails (for an AssertionError only: any other error
still fails) and show up as XPASS once it is fixed; then its entry goes.
(Not strict, so that a fix landing does not fail the suite.)

    /usr/bin/python3 -m pytest tests/integration/test_hostile.py
    HUSK=$PWD/build-asan/husk /usr/bin/python3 -m pytest tests/integration/test_hostile.py
    tests/data/hostile/make.py      # after changing the corpus
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (ID_PREFIX, MARK_ENV, REPO, STATE_ROOT, bind, make_config,
                      cgroup_dirs_named, own_cgroup_dirs, pid_alive, rootfs_snapshot, wait_for)

DATA = REPO / "tests" / "data" / "hostile"
MANIFEST = json.loads((DATA / "manifest.json").read_text())

# A parse error takes milliseconds; a container a few tens of them; the
# slowest case is a hook killed after its 1 s timeout.
TIMEOUT = 15
# Cases that hung husk before a fix (F2, F3) get less, so that a regression
# does not stall the suite.
HANG_TIMEOUT = 4

# What a sanitizer prints when it finds something (ASan, UBSan, LSan).
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "==ERROR:", "SUMMARY: ")

# Findings still open, by the report's numbers; each test showing one is an
# xfail (for an AssertionError only: any other error still fails), and shows
# up as XPASS once the bug is fixed: then its entry goes. The manifest's
# "finding" fields and the comments below name the findings fixed since,
# whose cases now pass for real.
KNOWN = {
    "F1": "cgroupsPath naming an existing cgroup: husk still puts the container's "
          "device rules on it (cgroup-v1.c v1_create -> apply_devices) and kill --all "
          "SIGKILLs every process in it (cgroup.c cg_signal_all)",
}

pytestmark = pytest.mark.husk_only


def _known(request, key):
    """A finding still open (in KNOWN): xfail."""
    if key in KNOWN:
        request.applymarker(pytest.mark.xfail(raises=AssertionError,
                                              reason=f"{key}: {KNOWN[key]}"))


# --------------------------------------------------------------------------
# checks shared by every case

def assert_no_crash(r):
    assert r.rc >= 0, f"husk died by signal {-r.rc}\n{r}"
    assert r.rc in (0, 1), f"unexpected exit status\n{r}"
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, f"sanitizer report\n{r}"


def assert_refused(r, message=None):
    """Exit 1 and exactly one line on stderr, "husk: ...", naming the problem."""
    assert_no_crash(r)
    assert r.rc == 1, str(r)
    lines = r.err.split("\n")
    assert len(lines) == 2 and lines[1] == "", f"expected exactly one line\n{r}"
    assert lines[0].startswith("husk: ") and len(lines[0]) > len("husk: "), str(r)
    if message is not None:
        assert message in lines[0], f"expected {message!r} in the message\n{r}"


def assert_created(hk, cid, r):
    """A created container: state "created", its process alive and waiting."""
    assert_no_crash(r)
    assert r.rc == 0, str(r)
    assert all("warning" in l for l in r.err_lines), str(r)
    st = hk.state(cid)
    assert st["status"] == "created", st
    assert st["pid"] > 0 and pid_alive(st["pid"]), st
    return st


def assert_gone(hk, cid):
    assert hk.status(cid) is None
    assert not (STATE_ROOT / cid).exists()


class HostWatch:
    """Fingerprints of host paths (what a hostile symlink points at, and the
    host's /) taken before a case; check() says what changed since."""

    def __init__(self, *paths):
        self.paths = [Path(p) for p in paths]
        self.before = {p: self._print(p) for p in self.paths}

    @staticmethod
    def _print(p):
        """Type, identity, owner and content; no times (reading a file or a
        directory is no change), except a regular file's mtime."""
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return None
        fp = (st.st_mode, st.st_ino, st.st_uid, st.st_gid, st.st_rdev)
        if os.path.islink(p):
            return fp + (os.readlink(p),)
        if os.path.isdir(p):
            return fp + (tuple(sorted(os.listdir(p))),)
        if os.path.isfile(p):
            return fp + (st.st_size, st.st_mtime_ns,
                         hashlib.sha256(Path(p).read_bytes()).hexdigest())
        return fp

    def check(self):
        changed = [str(p) for p in self.paths if self._print(p) != self.before[p]]
        assert not changed, f"host paths changed: {changed}"


def host_root_entries():
    return sorted(os.listdir("/"))


# --------------------------------------------------------------------------
# 1. the config corpus

def _case_id(entry):
    return Path(entry["file"]).stem


def _config_bytes(entry, rootfs):
    data = (DATA / entry["file"]).read_bytes()
    return data.replace(b"@ROOTFS@", str(rootfs).encode()).replace(
        b"@MARK_ENV@", MARK_ENV.encode())


@pytest.mark.parametrize("entry", MANIFEST, ids=_case_id)
def test_hostile_config(hk, rootfs, request, entry):
    _known(request, entry.get("finding"))
    bundle = hk.dir("bundle")
    (bundle / "config.json").write_bytes(_config_bytes(entry, rootfs))
    snap = rootfs_snapshot(rootfs)
    slash = host_root_entries()
    timeout = HANG_TIMEOUT if entry.get("finding") in ("F2", "F3") else TIMEOUT
    cid = hk.new_id()
    r = hk.call("create", "--bundle", bundle, cid, timeout=timeout,
                out_path=bundle / "out", err_path=bundle / "err")
    if entry["expect"] == "ok" or (entry["expect"] == "either" and r.rc == 0):
        assert_created(hk, cid, r)
        d = hk.call("delete", cid)
        assert_no_crash(d)
        assert d.rc == 0, str(d)
        assert all("warning" in l for l in d.err_lines), str(d)
    else:
        assert_refused(r, entry["message"])
    assert_gone(hk, cid)
    assert rootfs_snapshot(rootfs) == snap, "the shared rootfs was modified"
    assert host_root_entries() == slash, "entries appeared in or vanished from the host's /"


def test_manifest_is_current():
    """make.py writes what is committed: the corpus has no stray files, and
    has at least the 200 cases promised."""
    files = {e["file"] for e in MANIFEST}
    on_disk = {f"cases/{p.name}" for p in (DATA / "cases").iterdir()}
    assert files == on_disk
    assert len(MANIFEST) >= 200
    for e in MANIFEST:
        assert e["expect"] in ("ok", "error", "either"), e
        assert e["expect"] == "ok" or e.get("message") is not None, e


# --------------------------------------------------------------------------
# 2. whole files that are hostile in themselves

def _bundle_with(hk, name, make):
    b = hk.dir(name)
    make(b / "config.json")
    return b


@pytest.mark.parametrize("kind", ["17mb", "40mb", "dev-zero", "directory", "dangling", "loop"])
def test_hostile_config_file(hk, request, kind):
    """config.json too big (husk reads at most 16 MiB), endless, not a file,
    or a symlink to nowhere."""
    def make(p):
        if kind.endswith("mb"):
            cfg = json.dumps(make_config(hk.sess.rootfs)).encode()
            p.write_bytes(cfg[:-1] + b" " * (int(kind[:-2]) << 20) + cfg[-1:])
        elif kind == "dev-zero":
            p.symlink_to("/dev/zero")
        elif kind == "directory":
            p.mkdir()
        elif kind == "dangling":
            p.symlink_to(hk.work / "no-such-config")
        else:
            p.symlink_to(p)
    b = _bundle_with(hk, f"bundle-{kind}", make)
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b, cid, timeout=TIMEOUT)
    assert_refused(r, "config.json")
    assert_gone(hk, cid)


# --------------------------------------------------------------------------
# 3. adversarial root filesystems (each on a private copy of the busybox rootfs)

class Layout:
    """What a rootfs case has to hand: the copy, a host directory of decoys
    (outside the rootfs) that hostile symlinks point at, and an out dir
    bound at /mnt/rw."""

    def __init__(self, hk):
        self.hk = hk
        self.copy = hk.rootfs_copy()
        self.host = hk.dir("host-decoys")
        (self.host / "file").write_text("host file\n")
        (self.host / "dir").mkdir()
        (self.host / "dir" / "inside").write_text("host\n")
        (self.host / "passwd").write_text("root:x:0:0:root:/HOST-LEAK:/bin/sh\n")
        marker = self.host / "ran-on-host"
        (self.host / "exe").write_text(f"#!/bin/sh\ntouch {marker}\n")
        (self.host / "exe").chmod(0o755)
        self.out = hk.dir("out")

    def up(self, to):
        """A relative symlink target from <copy>/<at> climbing far past /."""
        return "../" * 16 + str(to).lstrip("/")

    def link(self, at, target):
        p = self.copy / at.lstrip("/")
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(target)

    def watch(self):
        return HostWatch(self.host, self.host / "file", self.host / "dir",
                         self.host / "dir" / "inside", self.host / "passwd",
                         self.host / "exe", self.host / "ran-on-host", "/etc/shadow",
                         "/etc/passwd", "/dev/null", "/")


def _mounts(*extra, dev=True):
    m = [{"destination": "/proc", "type": "proc", "source": "proc"}]
    if dev:
        m.append({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                  "options": ["nosuid", "mode=755", "size=1m"]})
    return m + list(extra)


def _tmpfs(dest):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}


def _userns(cfg):
    cfg["linux"]["namespaces"].append({"type": "user"})
    m = [{"containerID": 0, "hostID": 0, "size": 65536}]
    cfg["linux"]["uidMappings"] = m
    cfg["linux"]["gidMappings"] = m
    return cfg


# Each: (set up the copy, config keyword arguments, what the container must
# print as $HOME if it is made (None: it must be refused), the finding it
# showed: xfail while in KNOWN, a shorter timeout for F2 (a hang)).
def _dest_loop(L):
    L.link("/mnt/a", "b")
    L.link("/mnt/b", "a")
    return dict(mounts=_mounts(_tmpfs("/mnt/a")))


def _dest_self_loop(L):
    L.link("/mnt/self", "self")
    return dict(mounts=_mounts(_tmpfs("/mnt/self")))


def _dest_long_chain(L):
    for i in range(45):
        L.link(f"/mnt/l{i}", f"l{i + 1}")
    return dict(mounts=_mounts(_tmpfs("/mnt/l0")))


def _dest_abs_host(L):
    L.link("/mnt/esc", str(L.host / "dir"))
    return dict(mounts=_mounts(_tmpfs("/mnt/esc")))


def _dest_dotdot_host(L):
    L.link("/mnt/esc", L.up(L.host / "dir"))
    return dict(mounts=_mounts(_tmpfs("/mnt/esc")))


def _dest_below_host_link(L):
    L.link("/mnt/esc", str(L.host / "dir"))
    return dict(mounts=_mounts(_tmpfs("/mnt/esc/new/deeper")))


def _dest_dangling_host(L):
    L.link("/mnt/esc", str(L.host / "not-there"))
    return dict(mounts=_mounts(_tmpfs("/mnt/esc")))


def _dest_to_root(L):
    L.link("/mnt/root", "/")
    return dict(mounts=_mounts(_tmpfs("/mnt/root")))


def _dest_magic_link(L):
    L.link("/mnt/magic", "/proc/self/root/etc")
    return dict(mounts=_mounts(_tmpfs("/mnt/magic")))


def _dest_through_file(L):
    (L.copy / "mnt" / "file").write_text("x")
    return dict(mounts=_mounts(_tmpfs("/mnt/file/x")))


def _bind_file_over_link(L):
    L.link("/etc/hostname", str(L.host / "file"))
    src = L.hk.dir("bindsrc") / "hostname"
    src.write_text("from the bundle\n")
    return dict(mounts=_mounts({"destination": "/etc/hostname", "type": "bind",
                                "source": str(src), "options": ["bind", "ro"]}))


def _proc_to_etc(L):
    (L.copy / "proc").rmdir()
    L.link("/proc", "/etc")
    return {}


def _proc_to_host(L):
    (L.copy / "proc").rmdir()
    L.link("/proc", str(L.host / "dir"))
    return {}


def _sys_to_etc(L):
    L.link("/sys", "etc")
    return dict(mounts=_mounts({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                                "options": ["ro", "nosuid", "nodev", "noexec"]}))


def _dev_to_root(L):
    L.link("/dev", "/")
    return {}


def _dev_to_host(L):
    L.link("/dev", str(L.host / "dir"))
    return {}


def _dev_to_host_no_tmpfs(L):
    L.link("/dev", str(L.host / "dir"))
    return dict(mounts=_mounts(dev=False))


def _devnull_to_host(L):
    (L.copy / "dev").mkdir(exist_ok=True)
    L.link("/dev/null", str(L.host / "file"))
    return dict(mounts=_mounts(dev=False))


def _devnull_to_host_dotdot(L):
    (L.copy / "dev").mkdir(exist_ok=True)
    L.link("/dev/null", L.up(L.host / "file"))
    return dict(mounts=_mounts(dev=False))


def _devnull_to_host_userns(L):
    (L.copy / "dev").mkdir(exist_ok=True)
    L.link("/dev/null", str(L.host / "file"))
    return dict(mounts=_mounts(dev=False), userns=True)


def _devtty_to_host_dir(L):
    (L.copy / "dev").mkdir(exist_ok=True)
    L.link("/dev/tty", str(L.host / "dir"))
    return dict(mounts=_mounts(dev=False))


def _passwd_to_shadow(L):
    (L.copy / "etc" / "shadow").write_text("root:x:0:0:root:/from-container-shadow:/bin/sh\n")
    L.link("/etc/passwd", "/etc/shadow")
    return {}


def _passwd_to_host(L):
    L.link("/etc/passwd", str(L.host / "passwd"))
    return {}


def _passwd_to_host_dotdot(L):
    L.link("/etc/passwd", L.up(L.host / "passwd"))
    return {}


def _passwd_to_host_etc_shadow(L):
    L.link("/etc/passwd", L.up("/etc/shadow"))
    return {}


def _passwd_fifo(L):
    (L.copy / "etc" / "passwd").unlink()
    os.mkfifo(L.copy / "etc" / "passwd")
    return {}


def _passwd_dev_zero(L):
    L.link("/etc/passwd", "/dev/zero")
    return {}


def _passwd_dir(L):
    (L.copy / "etc" / "passwd").unlink()
    (L.copy / "etc" / "passwd").mkdir()
    return {}


def _passwd_loop(L):
    L.link("/etc/passwd", "passwd")
    return {}


def _passwd_huge_line(L):
    (L.copy / "etc" / "passwd").write_text(
        "x" * (2 << 20) + "\n" + ":" * 5000 + "\nroot:x:0:0:r:/long-ok:/bin/sh\n")
    return {}


def _passwd_long_line_split(L):
    """A line longer than passwd_lookup's 1024-byte buffer: its tail must not
    be read as an entry of its own."""
    head = "user:x:1000:1000:"
    (L.copy / "etc" / "passwd").write_text(
        head + "g" * (1023 - len(head)) + "a:x:0:0:y:/split-home:/bin/sh\n"
        "root:x:0:0:r:/root-home:/bin/sh\n")
    return {}


def _passwd_empty_gecos(L):
    """An empty GECOS field, as useradd writes it ("_apt:x:100:65534::/nonexistent:...")."""
    (L.copy / "etc" / "passwd").write_text("root:x:0:0::/home-of-root:/bin/sh\n")
    return {}


def _sh_to_host(L):
    for name in ("bin/sh", "bin/busybox"):
        (L.copy / name).unlink()
    L.link("/bin/sh", str(L.host / "exe"))
    return {}


def _cwd_to_host(L):
    L.link("/work", str(L.host / "dir"))
    return dict(cwd="/work")


def _cwd_dangling_host(L):
    L.link("/work", str(L.host / "not-there"))
    return dict(cwd="/work")


def _masked_link_to_host(L):
    L.link("/etc/evil", str(L.host / "file"))
    L.link("/etc/evildir", str(L.host / "dir"))
    return dict(masked=["/etc/evil", "/etc/evildir"])


def _readonly_link_to_host(L):
    L.link("/etc/evil", str(L.host / "dir"))
    return dict(readonly_paths=["/etc/evil", "/etc/evil/inside"])


LAYOUTS = {
    "dest-loop-a-b-a": (_dest_loop, None, None),
    "dest-self-loop": (_dest_self_loop, None, None),
    "dest-chain-45": (_dest_long_chain, None, None),
    "dest-abs-host-dir": (_dest_abs_host, "/root", None),
    "dest-dotdot-host-dir": (_dest_dotdot_host, "/root", None),
    "dest-below-host-link": (_dest_below_host_link, "/root", None),
    "dest-dangling-host": (_dest_dangling_host, "/root", None),
    "dest-symlink-to-root": (_dest_to_root, "/root", None),
    "dest-magic-link": (_dest_magic_link, "/root", None),
    "dest-through-file": (_dest_through_file, None, None),
    "bind-file-over-host-link": (_bind_file_over_link, "/root", None),
    "proc-symlink-etc": (_proc_to_etc, None, None),
    "proc-symlink-host": (_proc_to_host, None, None),
    "sys-symlink-etc": (_sys_to_etc, None, None),
    "dev-symlink-root": (_dev_to_root, "/root", None),
    "dev-symlink-host": (_dev_to_host, "/root", None),
    "dev-symlink-host-no-tmpfs": (_dev_to_host_no_tmpfs, "/root", None),
    "devnull-symlink-host": (_devnull_to_host, "/root", None),
    "devnull-symlink-host-dotdot": (_devnull_to_host_dotdot, "/root", None),
    "devnull-symlink-host-userns": (_devnull_to_host_userns, "/root", None),
    "devtty-symlink-host-dir": (_devtty_to_host_dir, "/root", None),
    "passwd-symlink-shadow": (_passwd_to_shadow, "/from-container-shadow", None),
    "passwd-symlink-host": (_passwd_to_host, "/", None),
    "passwd-symlink-host-dotdot": (_passwd_to_host_dotdot, "/", None),
    "passwd-symlink-host-etc-shadow": (_passwd_to_host_etc_shadow, "/", None),
    "passwd-fifo": (_passwd_fifo, "/", "F2"),  # hung husk before F2's fix
    "passwd-dev-zero": (_passwd_dev_zero, "/", None),
    "passwd-directory": (_passwd_dir, "/", None),
    "passwd-symlink-loop": (_passwd_loop, "/", None),
    "passwd-huge-line": (_passwd_huge_line, "/long-ok", None),
    "passwd-long-line-split": (_passwd_long_line_split, "/root-home", "F9"),  # fixed
    "passwd-empty-gecos": (_passwd_empty_gecos, "/home-of-root", "F9"),  # fixed
    "bin-sh-symlink-host": (_sh_to_host, None, None),
    "cwd-symlink-host": (_cwd_to_host, "/root", None),
    "cwd-dangling-host": (_cwd_dangling_host, "/root", None),
    "masked-symlink-host": (_masked_link_to_host, "/root", None),
    "readonly-symlink-host": (_readonly_link_to_host, "/root", None),
}

SCRIPT = 'echo "$HOME" > /mnt/rw/home; touch /mnt/rw/done'


def _layout_config(L, opts):
    mounts = opts.pop("mounts", None) or _mounts()
    userns = opts.pop("userns", False)
    masked = opts.pop("masked", None)
    ro = opts.pop("readonly_paths", None)
    cfg = make_config(L.copy, ["sh", "-c", SCRIPT], mounts=mounts,
                      extra_mounts=[bind(L.out, "/mnt/rw")], readonly=False, **opts)
    cfg["linux"]["maskedPaths"] = masked or []
    cfg["linux"]["readonlyPaths"] = ro or []
    return _userns(cfg) if userns else cfg


@pytest.mark.parametrize("name", LAYOUTS)
def test_hostile_rootfs(hk, request, name):
    setup, home, known = LAYOUTS[name]
    _known(request, known)
    L = Layout(hk)
    cfg = _layout_config(L, setup(L))
    b = hk.bundle(name="bundle")
    b.write(cfg)
    watch = L.watch()
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid,
                timeout=HANG_TIMEOUT if known in ("F2", "F3") else TIMEOUT)
    if r.rc == 0:
        assert_created(hk, cid, r)
        hk.start(cid)
        wait_for(lambda: (L.out / "done").exists() or hk.status(cid) == "stopped",
                 what="the container's script")
        if home is not None:
            assert (L.out / "done").exists(), "the container's script did not finish"
            assert (L.out / "home").read_text() == home + "\n"
        hk.delete(cid, force=True)
    else:
        assert_refused(r)
    assert_gone(hk, cid)
    watch.check()
    if home is None and r.rc == 0:
        # cases with home None are refusals: nothing of them may have run
        pytest.fail(f"{name}: expected a refusal, got a container\n{r}")


# --------------------------------------------------------------------------
# 4. cgroupsPath naming a cgroup that is not the container's (finding F1)

def _devices_list(d):
    try:
        return (d / "devices.list").read_text()
    except OSError:
        return None


@pytest.mark.parametrize("how", ["device-rules", "delete", "kill-all", "failed-create"])
def test_cgroups_path_of_existing_cgroup(hk, request, how):
    """A config whose cgroupsPath names a cgroup that already exists (here
    one of ours in every hierarchy, holding a `sleep`) must leave that
    cgroup and its other processes alone: not remove it, not kill its
    processes (delete, kill --all, a failed create), not put the
    container's device rules on it.  With `cgroupsPath: "/"` the victims
    would be every process of the host's root cgroup."""
    if how in ("device-rules", "kill-all"):
        _known(request, "F1")  # delete and failed-create: fixed
    name = f"{ID_PREFIX}victim{secrets.token_hex(3)}"
    dirs = [d / name for d in own_cgroup_dirs()]
    victim = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL,
                              start_new_session=True)
    cid = hk.new_id()
    try:
        for d in dirs:
            d.mkdir()
            for f in ("cpuset.cpus", "cpuset.mems"):  # a new v1 cpuset has none
                if (d / f).exists():
                    (d / f).write_text((d.parent / f).read_text())
            (d / "cgroup.procs").write_text(str(victim.pid))
        devices = {d: _devices_list(d) for d in dirs}
        extra = [] if how != "failed-create" else [
            {**_tmpfs("/mnt/tmpfs"), "options": ["bogus-opt"]}]
        b = hk.bundle(["sleep", "10"], extra_mounts=extra)
        b.config["linux"]["cgroupsPath"] = name  # relative: below husk's own cgroup
        b.write()
        r = hk.call("create", "--bundle", b.path, cid)
        if how == "failed-create":
            assert_refused(r)
        else:
            assert r.rc == 0, str(r)
            changed = [str(d) for d in dirs if _devices_list(d) != devices[d]]
            if how == "device-rules":
                assert not changed, f"the container's device rules landed on {changed}"
            if how == "kill-all":
                hk.ok("kill", "--all", cid, "KILL")
            hk.delete(cid, force=True)
        time.sleep(0.1)
        assert victim.poll() is None, f"husk killed a process of the cgroup {name}"
        gone = [str(d) for d in dirs if not d.is_dir()]
        assert not gone, f"husk removed the pre-existing cgroups {gone}"
    finally:
        hk.call("delete", "--force", cid)  # its process is in the victim cgroups too
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
        victim.wait()
        for d in own_cgroup_dirs():
            p = d / name
            if p.is_dir():
                wait_for(lambda: _rmdir(p), what=f"rmdir {p}")


def _rmdir(p):
    try:
        p.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# 5. the child's error, every time (finding F11: fixed, runtime/sync.c reads
# again once after the reset)

def test_child_error_not_lost(hk, request):
    """A create that fails in the container's process (here: a mount option
    the kernel refuses) must report that process's error every time, not a
    "Connection reset by peer" of the sync socket. It is a race (the process
    fails and exits between husk's send of CGROUP and its next read), so
    this catches it only sometimes."""
    b = hk.bundle()
    # the /dev tmpfs: the process fails early, before it reads husk's
    # message that it is in its cgroup (left unread, it resets the socket)
    b.config["mounts"][1]["options"] = ["hk-bogus-option"]
    b.write()
    lost = []
    for _ in range(100):
        cid = hk.new_id()
        r = hk.call("create", "--bundle", b.path, cid)
        assert_no_crash(r)
        assert r.rc == 1, str(r)
        if "hk-bogus-option" not in r.err:
            lost.append(r.err.strip())
        assert_gone(hk, cid)
    assert not lost, f"{len(lost)} of 100 creates lost the child's error: {lost[:3]}"


# --------------------------------------------------------------------------
# cgroups a container makes below its own (outside attack, F8): with a
# writable cgroup mount (systemd or docker in a container), kill --all and
# delete --force must reach them

def _rw_cgroup(cfg):
    for m in cfg["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = [o for o in m.get("options", []) if o != "ro"] + ["rw"]
    return cfg


@pytest.mark.husk_only  # runc cannot run this config on this hybrid host
def test_nested_cgroups_killed_and_removed(hk):
    ns = ("mount", "network", "uts", "ipc", "cgroup")  # no pid namespace: host pids
    script = ("mkdir -p /sys/fs/cgroup/pids/n1/n2; sleep 1000 & p=$!; "
              "echo $p > /sys/fs/cgroup/pids/n1/n2/cgroup.procs && echo $p > /tmp/hid; "
              "exec sleep 1000")
    b = hk.bundle(["sh", "-c", script], namespaces=ns, rootfs=hk.rootfs_copy(),
                  readonly=False)
    _rw_cgroup(b.config)
    b.write()
    cid = hk.run_detached(b)
    hid = b.config["root"]["path"] + "/tmp/hid"
    wait_for(lambda: os.path.exists(hid) and open(hid).read().strip(), what="the hidden sleep")
    hidden = int(open(hid).read())
    try:
        r = hk.ok("ps", cid)
        assert str(hidden) in r.out, f"ps leaves out the process in a nested cgroup:\n{r.out}"
        hk.ok("kill", "--all", cid, "KILL")
        wait_for(lambda: not pid_alive(hidden), timeout=5,
                 what="kill --all to reach the nested cgroup's process")
    finally:
        r = hk.call("delete", "--force", cid)
    assert r.rc == 0, str(r)
    assert not [d for d in cgroup_dirs_named(cid) if os.path.exists(d)]


def _rw_cgroup_container(hk, script):
    """A container with no pid namespace (host pids) and a writable cgroup
    mount, running script; returns (id, bundle)."""
    ns = ("mount", "network", "uts", "ipc", "cgroup")
    b = hk.bundle(["sh", "-c", script], namespaces=ns, rootfs=hk.rootfs_copy(),
                  readonly=False)
    _rw_cgroup(b.config)
    b.write()
    return hk.run_detached(b), b


def _hidden_pid(b, timeout=30):
    hid = b.config["root"]["path"] + "/tmp/hid"
    wait_for(lambda: os.path.exists(hid) and open(hid).read().strip(), timeout=timeout,
             what="the hidden sleep")
    return int(open(hid).read())


def _ps_kill_delete_reach(hk, cid, hidden, before=None):
    try:
        if before:
            before()
        r = hk.ok("ps", cid, timeout=60)
        assert str(hidden) in r.out, f"ps leaves out the hidden process:\n{r.out}"
        hk.ok("kill", "--all", cid, "KILL", timeout=60)
        wait_for(lambda: not pid_alive(hidden), timeout=10,
                 what="kill --all to reach the hidden process")
    finally:
        if pid_alive(hidden):
            os.kill(hidden, 9)
        r = hk.call("delete", "--force", cid, timeout=120)
    assert r.rc == 0, str(r)
    assert not [d for d in cgroup_dirs_named(cid) if os.path.exists(d)]


# Each hierarchy the container sees (v1's, hybrid's unified, or v2's one),
# for a script to run $1 in, in a subshell cd'ed there.
_EACH_HIERARCHY = ("each() { if [ -e /sys/fs/cgroup/cgroup.procs ]; then (cd /sys/fs/cgroup && $1); "
                   "else for h in /sys/fs/cgroup/*/; do [ -L ${h%/} ] || (cd $h && $1); done; fi; }; ")


@pytest.mark.husk_only  # runc cannot run this config on this hybrid host
def test_deep_nested_cgroup(hk):
    """Re-attack: a process 40 cgroups down in every hierarchy (names of 90
    characters: its path is near PATH_MAX) was not seen by ps, survived kill
    --all and made delete --force fail: the walk stopped at depth 32."""
    name = "d" * 90
    script = (_EACH_HIERARCHY +
              "deep() { i=0; while [ $i -lt 40 ]; do mkdir " + name + " && cd " + name +
              " || return 1; [ -e cpuset.cpus ] && cat ../cpuset.cpus > cpuset.cpus && "
              "cat ../cpuset.mems > cpuset.mems; i=$((i+1)); done; echo $p > cgroup.procs; }; "
              "sleep 1000 & p=$!; each deep; echo $p > /tmp/hid; exec sleep 1000")
    cid, b = _rw_cgroup_container(hk, script)
    hidden = _hidden_pid(b)
    cg = open(f"/proc/{hidden}/cgroup").read()
    assert cg.count(name) >= 40, f"the process is not deep:\n{cg}"
    _ps_kill_delete_reach(hk, cid, hidden)


@pytest.mark.husk_only
def test_wide_nested_cgroups(hk):
    """Re-attack: 4,200 sibling cgroups in every hierarchy, a process in the
    one readdir gives last: the walk stopped after 4,096 directories."""
    script = (_EACH_HIERARCHY + "wide() { mkdir $(seq 1 4200 | sed s/^/w/); }; "
              "sleep 1000 & p=$!; each wide; echo $p > /tmp/hid; exec sleep 1000")
    cid, b = _rw_cgroup_container(hk, script)
    hidden = _hidden_pid(b, timeout=90)

    def move():
        moved = 0
        for d in cgroup_dirs_named(cid, depth=4):
            names = [n for n in os.listdir(d) if n.startswith("w")]
            if len(names) == 4200 and not os.path.exists(os.path.join(d, "cpuset.cpus")):
                with open(os.path.join(d, names[-1], "cgroup.procs"), "w") as f:
                    f.write(str(hidden))
                moved += 1
        assert moved, "no hierarchy got the 4,200 cgroups"
    _ps_kill_delete_reach(hk, cid, hidden, before=move)


@pytest.mark.husk_only
def test_deep_empty_cgroup_chain_deleted(hk):
    """Re-attack: an empty chain of 34 cgroups made delete --force fail for
    good (and its error named another hierarchy than the busy one)."""
    script = ("mkdir -p /sys/fs/cgroup/pids/$(seq -s/ 1 34 | sed 's/[0-9]*/d/g') && "
              "touch /tmp/hid; exec sleep 1000")
    cid, b = _rw_cgroup_container(hk, script)
    wait_for(lambda: os.path.exists(b.config["root"]["path"] + "/tmp/hid"),
             what="the chain")
    r = hk.call("delete", "--force", cid, timeout=120)
    assert r.rc == 0, str(r)
    assert not [d for d in cgroup_dirs_named(cid) if os.path.exists(d)]
    assert cid not in hk.ok("list", "-q").out.split()


@pytest.mark.husk_only
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/freezer"), reason="no v1 freezer")
def test_frozen_child_cgroup_thawed_on_delete(hk):
    """Re-attack: a process in a child freezer cgroup the container froze
    itself could not die (v1 frozen tasks die only once thawed), so delete
    --force failed and the process stayed."""
    script = ("mkdir /sys/fs/cgroup/freezer/f || exit 1; sleep 1000 & p=$!; "
              "echo $p > /sys/fs/cgroup/freezer/f/cgroup.procs && "
              "echo FROZEN > /sys/fs/cgroup/freezer/f/freezer.state && "
              "echo $p > /tmp/hid; exec sleep 1000")
    cid, b = _rw_cgroup_container(hk, script)
    hidden = _hidden_pid(b)
    try:
        r = hk.call("delete", "--force", cid, timeout=120)
        assert r.rc == 0, str(r)
        wait_for(lambda: not pid_alive(hidden), timeout=10, what="the frozen process to die")
    finally:
        for d in cgroup_dirs_named(cid):
            f = os.path.join(d, "f", "freezer.state")
            if os.path.exists(f):
                open(f, "w").write("THAWED")
        if pid_alive(hidden):
            os.kill(hidden, 9)
    assert not [d for d in cgroup_dirs_named(cid) if os.path.exists(d)]
