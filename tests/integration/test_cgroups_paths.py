"""cgroups: where the container's cgroup goes (cgroupsPath), the cgroup
namespace, what delete leaves (nothing), bad input refused before
anything is made, and --systemd-cgroup (the rest of the cgroup tests:
test_cgroups.py, test_cgroups_fields.py)."""

import os
import posixpath
import secrets
import subprocess
from pathlib import Path

import pytest

from conftest import (ALL_NAMESPACES, assert_nothing_left, cgroup_dirs_named, HUSK, ID_PREFIX,
                      IS_RUNC, pid_alive, STATE_ROOT, wait_for)
from cghelpers import (CG, COUNTER, MOUNTS, MiB, V2, WAIT, WAIT_GO, _assert_refused, _bundle,
                       _mem_limit, _read, _sleeper, _under, expected_dirs, frozen, own_path,
                       v1_only)


# --------------------------------------------------------------------------
# 8. cgroupsPath

def _unique(tag):
    return f"{ID_PREFIX}-{tag}{secrets.token_hex(3)}"


@pytest.mark.parametrize("kind", ["absolute", "relative", "default"])
def test_cgroups_path_places_the_container(hk, kind):
    cid = hk.new_id()
    parent = _unique(kind[:3])
    path = {"absolute": f"/{parent}/{cid}", "relative": f"{parent}/{cid}",
            "default": None}[kind]
    want = expected_dirs(path or cid)
    made_parents = [d.parent for d in want.values()] if path else []
    assert not any(d.exists() for d in made_parents)
    try:
        b = _bundle(hk, ["sleep", "1000"], cgroups_path=path)
        hk.run_detached(b, cid)
        pid = hk.state(cid)["pid"]
        for mp, d in want.items():
            procs = _read(d / "cgroup.procs")
            assert procs is not None, f"{d} missing"
            assert str(pid) in procs.split(), (d, procs)
        if kind == "absolute":
            for m in MOUNTS:
                assert str(want[m.mp]).startswith(f"{m.mp}/{parent}/"), want[m.mp]
        # the host's view agrees
        for d in CG.of(pid).all_dirs():
            assert d in want.values(), (d, want)
        hk.delete(cid, force=True)
        assert not any(d.exists() for d in want.values())
    finally:
        # husk removes the container's own directory; a parent it had to
        # make is the test's to remove
        for d in made_parents:
            if d.exists():
                hk.call("delete", "--force", cid)
                try:
                    d.rmdir()
                except OSError as e:
                    raise AssertionError(f"cannot remove {d}: {e}")


def test_relative_cgroups_path_is_below_our_own_cgroup(hk):
    """The memory hierarchy's own cgroup is not "/" on this host: a relative
    path (and the default) must land below it there, and below "/" where
    that is our cgroup."""
    cid, pid, cg = _sleeper(hk)
    for m in MOUNTS:
        own = own_path(m)
        d = _under(m, posixpath.join(own, cid))
        assert d.is_dir(), d
        assert str(pid) in _read(d / "cgroup.procs").split()


def test_two_containers_under_one_absolute_parent(hk):
    parent = _unique("two")
    ids = [hk.new_id(), hk.new_id()]
    try:
        pids = []
        for cid in ids:
            b = _bundle(hk, ["sleep", "1000"], cgroups_path=f"/{parent}/{cid}")
            hk.run_detached(b, cid)
            pids.append(hk.state(cid)["pid"])
        # deleting one leaves the other and their parent
        hk.delete(ids[0], force=True)
        cg = CG.of(pids[1])
        assert cg.dir("memory").is_dir() and cg.dir("memory").parent.name == parent
        assert not (cg.dir("memory").parent / ids[0]).exists()
        hk.delete(ids[1], force=True)
    finally:
        for cid in ids:
            hk.call("delete", "--force", cid)
        for m in MOUNTS:
            d = _under(m, "/" + parent)
            if d.exists():
                d.rmdir()


# --------------------------------------------------------------------------
# 9. the cgroup namespace

def test_cgroup_namespace_shows_the_container_cgroup_as_root(hk):
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", "cat /proc/self/cgroup > /mnt/rw/pid1; " + WAIT_GO],
                namespaces=ALL_NAMESPACES, out=out)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    wait_for(lambda: (out / "started").exists(), timeout=WAIT, what="container start")
    inside = (out / "pid1").read_text().splitlines()
    host = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    assert len(inside) == len(host)
    for i, h in zip(inside, host):
        assert i.rsplit(":", 1)[0] == h.rsplit(":", 1)[0], (i, h)  # same hierarchies
        assert i.endswith(":/"), inside
        assert h.endswith(f"/{cid}"), host
    # an exec'd process is in the same namespace, at the same root
    r = hk.ok("exec", cid, "cat", "/proc/self/cgroup")
    assert r.out.splitlines() == inside
    (out / "go").touch()


# --------------------------------------------------------------------------
# 11. delete

def test_delete_kills_leftovers_and_removes_every_cgroup(hk):
    """Without a pid namespace an exec'd process outlives the container's
    own: delete of the stopped container kills it, then removes the
    container's directory in every hierarchy."""
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", WAIT_GO],
                namespaces=("network", "ipc", "uts", "mount"), out=out)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    wait_for(lambda: (out / "started").exists(), timeout=WAIT, what="container start")
    cg = CG.of(pid)
    dirs = cg.all_dirs()
    assert len(dirs) == (1 if V2 else len(MOUNTS)), dirs
    pid_file = hk.work / "exec.pid"
    hk.ok("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "1000")
    left = int(pid_file.read_text())
    (out / "go").touch()
    hk.wait_status(cid, "stopped")
    assert pid_alive(left), "the exec'd sleep died with the container's process"
    assert str(left) in _read(cg.dir("pids") / "cgroup.procs").split()

    hk.delete(cid)
    wait_for(lambda: not pid_alive(left), timeout=WAIT, what="the leftover to die")
    assert [d for d in dirs if d.exists()] == []
    assert cgroup_dirs_named(cid) == []


def test_delete_of_a_paused_container(hk):
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", COUNTER], out=out)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    cg = CG.of(pid)
    pid_file = hk.work / "exec.pid"
    hk.ok("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "1000")
    epid = int(pid_file.read_text())
    hk.ok("pause", cid)
    r = hk.call("delete", cid)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "paused" and frozen(cg)
    hk.delete(cid, force=True)
    wait_for(lambda: not pid_alive(pid) and not pid_alive(epid), timeout=WAIT,
             what="the container's processes to die")
    assert [d for d in cg.all_dirs() if d.exists()] == []
    assert cid not in hk.list_ids()


def test_kernel_memory_ignored_with_a_warning(hk):
    """memory.kernel: kernels no longer enforce kmem limits, and runc and
    crun ignore the field with a warning, so engines still send it (issue
    16 A10): the container runs, the rest of the memory section applies,
    and the warning names the field."""
    b = _bundle(hk, ["sleep", "1000"],
                resources={"memory": {"kernel": 64 * MiB, "limit": 128 * MiB}})
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    assert _mem_limit(CG.of(pid)) == 128 * MiB
    err = (b.path / f"{cid}.stderr").read_text()
    assert "kernel memory" in err.lower(), err
    if not IS_RUNC:
        assert "warning" in err and "linux.resources.memory.kernel: ignored" in err, err


# --------------------------------------------------------------------------
# 12. bad input: refused before anything is made

BAD = [
    ("memory.limit", {"memory": {"limit": -5}}),
    ("cpu.shares", {"cpu": {"shares": 1}}),
    ("cpu.quota", {"cpu": {"quota": 10, "period": 100000}}),
    ("cpu.period", {"cpu": {"period": 5000000}}),
    ("blockIO.weight", {"blockIO": {"weight": 5}}),
    ("pids.limit", {"pids": {"limit": -3}}),
    ("memory.swappiness", {"memory": {"swappiness": 200}}),
    ("memory.swap", {"memory": {"limit": 64 * MiB, "swap": 32 * MiB}}),
    ("devices", {"devices": [{"allow": False, "access": "rwm"},
                             {"allow": True, "type": "x", "major": 1, "minor": 3,
                              "access": "rwm"}]}),
    ("devices", {"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3,
                              "access": "rwx"}]}),
    ("cpu.cpus", {"cpu": {"cpus": "0-"}}),
    ("cpu.mems", {"cpu": {"mems": "a"}}),
    ("hugepageLimits", {"hugepageLimits": [{"pageSize": "3XB", "limit": MiB}]}),
    ("unified", {"unified": {"cgroup.procs": "1"}}),
    ("unified", {"unified": {"../memory.max": "1"}}),
    pytest.param("unified", {"unified": {"memory.high": "1000000"}},
                 marks=v1_only, id="unified-on-v1"),
]


@pytest.mark.husk_only
@pytest.mark.parametrize("field,resources", BAD,
                         ids=[b.id if hasattr(b, "id") else f"{b[0]}-{i}"
                              for i, b in enumerate(BAD)])
def test_bad_resources_refused(hk, field, resources):
    b = _bundle(hk, ["true"], resources=resources)
    for cmd in ("create", "run"):
        cid = hk.new_id()
        r = hk.call(cmd, "--bundle", b.path, cid)
        _assert_refused(r, f"linux.resources.{field}")
        assert_nothing_left(hk, cid)


@pytest.mark.husk_only
@pytest.mark.parametrize("path", ["../escape", "/a/../../escape", "a/.."])
def test_cgroups_path_with_dotdot_refused(hk, path):
    b = _bundle(hk, ["true"], cgroups_path=path)
    cid = hk.new_id()
    _assert_refused(hk.call("create", "--bundle", b.path, cid), "linux.cgroupsPath")
    assert_nothing_left(hk, cid)
    assert not Path("/sys/fs/cgroup/escape").exists()


# --------------------------------------------------------------------------
# 13. --systemd-cgroup

@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", ["create", "run"])
def test_systemd_cgroup_driver_without_systemd(hk, cmd):
    """Where systemd is not PID 1 (this host; the systemd host's tests are
    tests/vm/test_systemd.py), --systemd-cgroup fails at create, naming
    both ways to systemd it tried, and leaves nothing."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here")
    b = _bundle(hk, ["true"], cgroups_path="system.slice:hk:" + ID_PREFIX)
    cid = hk.new_id()
    args = {"create": ["create", "--bundle", b.path, cid],
            "run": ["run", "--bundle", b.path, cid]}[cmd]
    r = hk.call("--systemd-cgroup", *args)
    _assert_refused(r, "systemd", "system bus", "/run/systemd/private")
    assert_nothing_left(hk, cid)


@pytest.mark.parametrize("path", ["/hk/x", "a:b"])
def test_systemd_cgroups_path_checked_first(hk, path):
    """A cgroupsPath the systemd manager cannot take is refused before
    anything else, with runc's message (runc checks its form before it
    looks for systemd; a bad slice name, which it checks after, is
    tests/vm/test_systemd.py's)."""
    b = _bundle(hk, ["true"], cgroups_path=path)
    cid = hk.new_id()
    r = hk.call("--systemd-cgroup", "run", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert "slice:prefix:name" in r.err.replace('\\"', '"'), str(r)
    assert_nothing_left(hk, cid)


@pytest.mark.parametrize("what", ["subtree-ro", "subtree-rw", "whole-ro"])
def test_extra_cgroup_mounts_are_ignored(hk, what):
    """A cgroup hierarchy (or a subtree of it) bound somewhere else as well
    (a tool's bind, a rootfs left mounted): husk took every cgroup mount as
    a place for the container, so a read-only one failed every create and a
    writable one put the container below it (outside attack F5). runc uses
    one mount per hierarchy."""
    if not os.path.isdir("/sys/fs/cgroup/cpu"):
        pytest.skip("no v1 cpu hierarchy")
    sub = Path(f"/sys/fs/cgroup/cpu/{ID_PREFIX}-sub{secrets.token_hex(2)}")
    sub.mkdir()
    try:
        where = hk.dir("elsewhere")
        src = "/sys/fs/cgroup/cpu" if what.startswith("whole") else str(sub)
        ro = ",ro" if what.endswith("ro") else ""
        b = hk.bundle(["sh", "-c", "cat /proc/self/cgroup"])
        cid = hk.new_id()
        script = (f'mount --bind "{src}" "{where}" && mount -o remount,bind{ro} "{where}" && '
                  f'exec "$0" --root "{STATE_ROOT}" run --bundle "{b.path}" {cid}')
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                            HUSK], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        cpu = [l for l in r.stdout.splitlines() if ":cpu," in l or ":cpu:" in l]
        assert cpu and cpu[0].endswith(f":/{cid}"), r.stdout
    finally:
        sub.rmdir()
