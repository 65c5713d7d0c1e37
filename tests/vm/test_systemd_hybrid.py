"""The systemd cgroup manager on a hybrid systemd host (v1 controllers, and
systemd's own cgroup2 at /sys/fs/cgroup/unified): the VM of `tests/vm/run
--systemd --cgroup-v1`. husk beside runc: the process in the scope in every
hierarchy, limits as unit properties (v1's names) and in the files, update,
pause/resume, and delete removing the unit and every directory.

Runs only there. Helpers from test_systemd.py.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest

from test_systemd import CGROOT, TIMEOUT, rootfs, rt, run, show, unit_gone  # noqa: F401

pytestmark = pytest.mark.skipif(
    not Path("/sys/fs/cgroup/unified").is_dir() or not Path("/run/systemd/system").is_dir(),
    reason="runs inside the VM of tests/vm/run --systemd --cgroup-v1")


def hierarchies(pid):
    """{controllers: path} from /proc/PID/cgroup."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        out[ctrl] = path
    return out


def test_scope_in_every_hierarchy_limits_update_pause_delete(rt):
    rt.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    cid, pid, _ = rt.start()
    unit = f"{rt.name}-{cid}.scope"
    h = hierarchies(pid)
    scope = f"/system.slice/{unit}"
    for ctrl in ("name=systemd", "", "memory", "pids", "cpu,cpuacct", "devices", "freezer",
                 "blkio", "cpuset"):
        assert h.get(ctrl) == scope, (ctrl, h)
    p = show(unit, "Slice", "Delegate", "MemoryLimit", "TasksMax", "ActiveState")
    assert p == {"Slice": "system.slice", "Delegate": "yes", "MemoryLimit": str(64 << 20),
                 "TasksMax": "50", "ActiveState": "active"}, p
    mem = CGROOT / "memory" / scope.lstrip("/")
    assert (mem / "memory.limit_in_bytes").read_text() == f"{64 << 20}\n"
    assert (CGROOT / "pids" / scope.lstrip("/") / "pids.max").read_text() == "50\n"
    rt.call("update", "--memory", "32m", cid)
    assert show(unit, "MemoryLimit")["MemoryLimit"] == str(32 << 20)
    assert (mem / "memory.limit_in_bytes").read_text() == f"{32 << 20}\n"
    run("systemctl", "daemon-reload")
    assert (mem / "memory.limit_in_bytes").read_text() == f"{32 << 20}\n"
    rt.call("pause", cid)
    assert json.loads(rt.call("state", cid).stdout)["status"] == "paused"
    rt.call("resume", cid)
    rt.call("exec", "-d", cid, "sleep", "999")
    assert len((mem / "cgroup.procs").read_text().split()) == 2
    t0 = time.monotonic()
    rt.call("delete", "--force", cid)
    assert unit_gone(unit)
    assert time.monotonic() - t0 < TIMEOUT
    left = [str(d) for d in CGROOT.glob(f"*/system.slice/{unit}")]
    assert not left, left


def test_a_container_that_ends_by_itself_leaves_no_cgroup(rt):
    """Seventh outside attack, F2: once the container's process ended,
    systemd dropped its scope, and husk's delete took the container for
    another's and left the cgroups it had made itself, in the hierarchies
    systemd does not run (cpuset, freezer, ...): nine directories per
    container, which the next container of the same name joined. runc: none."""
    rt.set_args("true")
    units = []
    for _ in range(3):
        cid = rt.new_id()
        rt.call("run", "--bundle", rt.bundle, cid, systemd=True)
        units.append(f"{rt.name}-{cid}.scope")
        rt.call("delete", "--force", cid)
    for unit in units:
        assert unit_gone(unit), unit
        left = [str(d) for d in CGROOT.glob(f"*/system.slice/{unit}")]
        assert not left, left


def test_a_v1_cgroup_that_was_there_is_joined_but_never_killed_in(rt):
    """Eighth outside attack, F1: a freezer cgroup at the scope's path,
    made by another with its process in it, was taken for the container's
    own (systemd does not run that hierarchy): delete --force killed the
    other's process. runc joins it and only tries to remove it."""
    cid = rt.new_id()
    unit = f"{rt.name}-{cid}.scope"
    theirs = CGROOT / "freezer" / "system.slice" / unit
    theirs.mkdir(parents=True)
    victim = subprocess.Popen(["sleep", "999"])
    try:
        (theirs / "cgroup.procs").write_text(str(victim.pid))
        rt.set_args("sleep", "999")
        rt.call("run", "-d", "--bundle", rt.bundle, cid, systemd=True)
        rt.call("delete", "--force", cid)
        assert unit_gone(unit)
        assert victim.poll() is None, "the other's process in the freezer cgroup was killed"
        assert theirs.is_dir(), "the other's freezer cgroup was removed"
    finally:
        victim.kill()
        victim.wait(10)
        for _ in range(100):
            try:
                theirs.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
