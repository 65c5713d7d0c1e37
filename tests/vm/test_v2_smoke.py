"""Pure cgroup v2: the VM is what it should be, and a husk container gets a
cgroup of its own there, gone after delete.

Runs inside the VM (`make vm-test`, tests/vm/run sets HUSK_VM=1); skipped
anywhere else. Self-contained on purpose (no conftest): it can share a
pytest run with tests/integration files, whose own `from conftest import`
must find theirs.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HUSK = os.environ.get("HUSK") or str(REPO / "build" / "husk")
CGROOT = Path("/sys/fs/cgroup")
TIMEOUT = 60  # s for one husk call: everything is slow under TCG

pytestmark = pytest.mark.skipif(os.environ.get("HUSK_VM") != "1",
                                reason="runs inside the VM of tests/vm/run")


def mounts():
    """[(mount point, fs type)] from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            out.append((pre.split()[4], post.split()[0]))
    return out


def test_kernel_has_only_cgroup_v2():
    assert "cgroup_no_v1=all" in Path("/proc/cmdline").read_text().split()
    cg = [(mp, fs) for mp, fs in mounts() if fs in ("cgroup", "cgroup2")]
    assert cg == [("/sys/fs/cgroup", "cgroup2")]
    assert Path("/proc/self/cgroup").read_text() == "0::/\n"
    # every v1 controller is left unbound (hierarchy 0)
    for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
        name, hier = line.split()[:2]
        assert hier == "0", f"controller {name} on v1 hierarchy {hier}"


def test_every_controller_is_enabled_at_the_root():
    avail = (CGROOT / "cgroup.controllers").read_text().split()
    for c in ("cpu", "io", "memory", "pids"):
        assert c in avail
    assert sorted((CGROOT / "cgroup.subtree_control").read_text().split()) == sorted(avail)


class Husk:
    """husk with a private state root, and a bundle on the busybox rootfs."""

    def __init__(self, tmp, rootfs):
        self.tmp = tmp
        self.root = Path(f"/run/hk-vm-{secrets.token_hex(3)}")
        self.bundle = tmp / "bundle"
        self.bundle.mkdir()
        self.ids = []
        self.call("spec", cwd=self.bundle)
        self.config = json.loads((self.bundle / "config.json").read_text())
        self.config["process"]["terminal"] = False
        self.config["root"] = {"path": str(rootfs), "readonly": True}

    def call(self, *args, cwd=None, check=True):
        argv = [HUSK, "--root", str(self.root), *map(str, args)]
        with open(self.tmp / "out", "w+") as out, open(self.tmp / "err", "w+") as err:
            # files, not pipes: a detached container inherits them
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               cwd=cwd, timeout=TIMEOUT)
            out.seek(0)
            err.seek(0)
            r.stdout, r.stderr = out.read(), err.read()
        assert not check or r.returncode == 0, f"{argv}: exit {r.returncode}\n{r.stderr}"
        return r

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)
        (self.bundle / "config.json").write_text(json.dumps(self.config))

    def new_id(self):
        self.ids.append(f"hkvm-{secrets.token_hex(4)}")
        return self.ids[-1]

    def cleanup(self):
        for cid in self.ids:
            self.call("delete", "--force", cid, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def rootfs():
    tmp = Path(tempfile.mkdtemp(prefix="hk-vm-rootfs-"))
    try:
        subprocess.run([str(REPO / "tests" / "mkrootfs.sh"), str(tmp / "rootfs")],
                       check=True, timeout=TIMEOUT, capture_output=True)
        yield tmp / "rootfs"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def husk(rootfs):
    tmp = Path(tempfile.mkdtemp(prefix="hk-vm-"))
    h = None
    try:
        h = Husk(tmp, rootfs)
        yield h
    finally:
        if h:
            h.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_run_sees_one_v2_cgroup_inside(husk):
    husk.set_args("cat", "/proc/self/cgroup")
    r = husk.call("run", "--bundle", husk.bundle, husk.new_id())
    # a cgroup namespace (runc's default spec has one): its root is the
    # container's cgroup
    assert r.stdout == "0::/\n"


def test_container_cgroup_exists_while_running_and_goes_with_delete(husk):
    husk.set_args("sleep", "1000")
    cid = husk.new_id()
    husk.call("run", "--detach", "--bundle", husk.bundle, cid)
    pid = json.loads(husk.call("state", cid).stdout)["pid"]

    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("0::/"), lines
    path = lines[0][3:]
    cgdir = CGROOT / path.lstrip("/")
    assert path != "/" and cgdir.is_dir(), f"container in cgroup {path}"
    assert str(pid) in (cgdir / "cgroup.procs").read_text().split()
    # seen from inside: the same, through the container's cgroup namespace
    r = husk.call("exec", cid, "cat", "/proc/self/cgroup")
    assert r.stdout == "0::/\n"

    husk.call("kill", cid, "KILL")
    deadline = time.monotonic() + TIMEOUT
    while json.loads(husk.call("state", cid).stdout)["status"] != "stopped":
        assert time.monotonic() < deadline, "container did not stop"
        time.sleep(0.05)
    husk.call("delete", cid)
    assert not cgdir.exists(), f"{cgdir} left after delete"


def test_binary_protected_by_an_overlay_view_before_linux_6_8(husk):
    """CVE-2019-5736: husk re-executes itself from a read-only overlay of
    its directory. Before Linux 6.8 (this VM's 6.1, Debian 12's kernel)
    overlayfs has no "lowerdir+": it takes the one "lowerdir" string,
    not a sealed memfd copy of the whole binary on every start."""
    bindir = husk.tmp / "bin"
    bindir.mkdir()
    shutil.copy2(HUSK, bindir / "husk")
    husk.set_args("true")
    argv = [str(bindir / "husk"), "--root", str(husk.root), "--debug", "run", "--bundle",
            str(husk.bundle), husk.new_id()]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "selfexe: re-executing from a read-only overlay" in r.stderr, r.stderr


def test_launch_on_an_overlayfs_that_takes_strings_only(husk, rootfs):
    """husk launch's overlay before Linux 6.5 (this VM's 6.1, Debian 12's
    kernel): overlayfs takes its layers as one "lowerdir" string there,
    and refused the fds (EOPNOTSUPP), so launch failed on every such
    host. A writable layer, and --read-only."""
    bindir = husk.tmp / "bin"
    bindir.mkdir()
    for b in ("husk", "husk-launch", "husk-init"):
        shutil.copy2(Path(HUSK).parent / b, bindir / b)
    base = [str(bindir / "husk"), "--root", str(husk.root), "launch", "--rm", "--net", "none",
            "--data-dir", str(husk.tmp / "data"), "--cache-dir", str(husk.tmp / "cache")]
    r = subprocess.run(base + [str(rootfs), "sh", "-c", "echo hi > /x && cat /x"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout == "hi\n", r
    r = subprocess.run(base + ["--read-only", str(rootfs), "sh", "-c", "touch /x || echo ro"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "ro" in r.stdout, r
    assert not (rootfs / "x").exists()
