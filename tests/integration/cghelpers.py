"""The cgroup tests' helpers (test_cgroups*.py): the host's cgroup layout
(V1 / V2, read from /proc/self/mountinfo once), a container's files (CG),
bundles with resources, and the checks they share."""

import json
import os
import posixpath
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CMD_TIMEOUT, HUSK, IS_RUNC, STATE_ROOT, Result, bind, wait_for

MiB = 1 << 20
# waits on a container's progress: generous, for the VM's emulated CPU
# (wait_for returns as soon as the condition holds)
WAIT = 15
RUNC = shutil.which("runc")

# Findings still open, by key (C1-C3 were fixed: linux.devices and the
# default rules as runc has them, the cpuset section of events --stats,
# update -r - reading fd 0).
KNOWN = {}
NO_DEV_STDIN = not os.path.exists("/dev/stdin")


def _known(request, key, when=True):
    """A finding still open (in KNOWN): xfail, for an AssertionError only."""
    if key in KNOWN and when and not IS_RUNC:
        request.applymarker(pytest.mark.xfail(raises=AssertionError,
                                              reason=f"HUSK BUG {key}: {KNOWN[key]}"))


# --------------------------------------------------------------------------
# the host's cgroup layout

@dataclass(frozen=True)
class Mount:
    mp: str        # mount point
    root: str      # the hierarchy's directory shown there (mountinfo field 4)
    fstype: str    # cgroup | cgroup2
    opts: frozenset


def _mounts():
    """The cgroup mounts, one per hierarchy (the first mount of each)."""
    out, seen = [], set()
    with open("/proc/self/mountinfo", errors="replace") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields = pre.split()
            fstype, _src, sopts = post.split()[:3]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            opts = frozenset(o for o in sopts.split(",") if o not in ("rw", "ro"))
            key = fields[2] if fstype == "cgroup" else "cgroup2"  # st_dev: one per hierarchy
            if key in seen:
                continue
            seen.add(key)
            out.append(Mount(fields[4], fields[3], fstype, opts))
    return out


MOUNTS = _mounts()
# husk (and runc) use the v1 backend as soon as one v1 hierarchy is there;
# cgroup2 is then one more hierarchy to join (hybrid).
V1 = any(m.fstype == "cgroup" for m in MOUNTS)
V2 = not V1 and any(m.fstype == "cgroup2" for m in MOUNTS)

v1_only = pytest.mark.skipif(not V1, reason="cgroup v1 semantics; this host is pure cgroup v2")
v2_only = pytest.mark.skipif(not V2, reason="cgroup v2 semantics; this host has v1 controllers")


def _mount_for(hid, ctrls):
    """The mount of the hierarchy a /proc/<pid>/cgroup line names."""
    want = set(filter(None, ctrls.split(",")))
    for m in MOUNTS:
        if hid == "0" and m.fstype == "cgroup2":
            return m
        if hid != "0" and m.fstype == "cgroup" and want and want <= m.opts:
            return m
    return None


def _under(m, path):
    """Host directory of the hierarchy path `path` (from the hierarchy's
    root) where m shows it."""
    if m.root != "/" and (path == m.root or path.startswith(m.root + "/")):
        path = path[len(m.root):]
    return Path(m.mp) / path.lstrip("/")


def have(ctrl):
    """Is controller ctrl there for containers?"""
    if V2:
        try:
            return ctrl in Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
        except OSError:
            return False
    return any(m.fstype == "cgroup" and ctrl in m.opts for m in MOUNTS)


class CG:
    """A process's cgroup directories: v1 one per controller (keys
    "memory", "cpu", "name=systemd", ...; "unified" for the cgroup2
    hierarchy of a hybrid host), v2 the one directory under every key."""

    def __init__(self, dirs):
        self.dirs = dirs

    @classmethod
    def of(cls, pid):
        dirs = {}
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                hid, ctrls, path = line.rstrip("\n").split(":", 2)
                m = _mount_for(hid, ctrls)
                if m is None:
                    continue
                d = _under(m, path)
                if hid == "0":
                    dirs["" if V2 else "unified"] = d
                for c in filter(None, ctrls.split(",")):
                    dirs[c] = d
        return cls(dirs)

    def dir(self, ctrl):
        return self.dirs[""] if V2 else self.dirs[ctrl]

    def file(self, ctrl, v1_file, v2_file=None):
        """The container's file for ctrl: v1_file on v1, v2_file on v2
        (the same name when v2_file is None)."""
        return self.dir(ctrl) / ((v2_file or v1_file) if V2 else v1_file)

    def read(self, ctrl, v1_file, v2_file=None):
        return self.file(ctrl, v1_file, v2_file).read_text().strip()

    def all_dirs(self):
        return sorted(set(self.dirs.values()))


def cg_file(pid, ctrl, v1_file, v2_file=None):
    return CG.of(pid).file(ctrl, v1_file, v2_file)


def _keyed(text, key):
    """The value of `key N` in a flat keyed file (memory.events, cpu.stat)."""
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    raise AssertionError(f"no {key} in {text!r}")


def cpu_usage_ns(cg):
    if V2:
        return _keyed(cg.read("cpu", "", "cpu.stat"), "usage_usec") * 1000
    return int(cg.read("cpuacct", "cpuacct.usage"))


def oom_kills(cg):
    if V2:
        return _keyed(cg.read("memory", "", "memory.events"), "oom_kill")
    return _keyed(cg.read("memory", "memory.oom_control"), "oom_kill")


def frozen(cg):
    if V2:
        return _keyed(cg.read("", "", "cgroup.events"), "frozen") == 1
    return cg.read("freezer", "freezer.state") == "FROZEN"


def own_path(m):
    """This process's (and so the runtime's) cgroup in hierarchy m."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if _mount_for(hid, ctrls) == m:
                return path
    raise AssertionError(f"not in hierarchy {m}")


def expected_dirs(cgroups_path):
    """{mount point: directory} where a container with this cgroupsPath
    belongs: absolute from each hierarchy's root, relative from our own
    cgroup in it."""
    res = {}
    for m in MOUNTS:
        base = "/" if cgroups_path.startswith("/") else own_path(m)
        res[m.mp] = _under(m, posixpath.join(base, cgroups_path.lstrip("/")))
    return res


# --------------------------------------------------------------------------
# containers

def _bundle(hk, args, *, resources=None, cgroups_path=None, devices=None, out=None,
            caps=None, **kw):
    """A bundle; resources are merged over make_config's (deny-all devices),
    out is bound at /mnt/rw."""
    extra = list(kw.pop("extra_mounts", ()))
    if out is not None:
        extra.append(bind(out, "/mnt/rw"))
    b = hk.bundle(list(args), extra_mounts=extra, **kw)
    lx = b.config["linux"]
    if resources:
        lx["resources"].update(resources)
    if cgroups_path is not None:
        lx["cgroupsPath"] = cgroups_path
    if devices is not None:
        lx["devices"] = devices
    if caps:
        for k in b.config["process"]["capabilities"].values():
            k.extend(caps)
    b.write()
    return b


def _read(path):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _sleeper(hk, **kw):
    """A running container whose process sleeps: (cid, host pid, CG)."""
    b = _bundle(hk, ["sleep", "1000"], **kw)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    wait_for(lambda: _read(f"/proc/{pid}/comm") == "sleep", timeout=WAIT,
             what="sleep in the container")
    return cid, pid, CG.of(pid)


def _call_input(hk, text, *args):
    """hk.call with text on standard input."""
    argv = [HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    p = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=CMD_TIMEOUT)
    return Result(argv, p.returncode, p.stdout.decode(errors="replace"),
                  p.stderr.decode(errors="replace"))


def _popen(hk, name, *args):
    """A runtime command left running, stdout and stderr to files."""
    out = open(hk.work / f"{name}.out", "wb")
    err = open(hk.work / f"{name}.err", "wb")
    p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), *map(str, args)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    out.close()
    err.close()
    p.out_path, p.err_path = hk.work / f"{name}.out", hk.work / f"{name}.err"
    return p


def _stop(p):
    if p is not None and p.poll() is None:
        p.kill()
        p.wait(timeout=CMD_TIMEOUT)


def _json_lines(path):
    res = []
    for line in Path(path).read_text().splitlines():
        try:
            res.append(json.loads(line))
        except ValueError:
            pass  # a line being written
    return res


def _assert_refused(r, *needles):
    """Exit 1, one line on stderr naming the problem."""
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and r.err.startswith("husk: "), str(r)
    for n in needles:
        assert n in r.err, f"{n!r} not in the message\n{r}"


WAIT_GO = "touch /mnt/rw/started; while [ ! -e /mnt/rw/go ]; do sleep 0.02; done; "


COUNTER = ("i=0; while :; do i=$((i+1)); echo $i > /mnt/rw/counter.new; "
           "mv /mnt/rw/counter.new /mnt/rw/counter; sleep 0.01; done")


def _mem_limit(cg):
    return int(cg.read("memory", "memory.limit_in_bytes", "memory.max"))


def _weight_file(cg):
    """The file a blockIO weight lands in (v1: blkio.weight without BFQ,
    blkio.bfq.weight with it; v2: io.bfq.weight, io.weight), or None."""
    if V2:
        names = ("io.bfq.weight", "io.weight")
        ctrl = "io"
    else:
        names = ("blkio.weight", "blkio.bfq.weight")
        ctrl = "blkio"
    try:
        d = cg.dir(ctrl)
    except KeyError:
        return None
    for n in names:
        if (d / n).exists():
            return d / n
    return None


def _weight_value(f):
    """The default weight in a weight file ("300" or "default 300")."""
    for line in f.read_text().splitlines():
        w = line.split()
        if len(w) == 1 or w[0] == "default":
            return int(w[-1])
    raise AssertionError(f"no default weight in {f}")


def _weight_in(f, weight):
    """What a blkio weight reads as in weight file f: io.weight has its own
    scale (1..10000), the others take v1's (10..1000)."""
    return 1 + (weight - 10) * 9999 // 990 if f.name == "io.weight" else weight
