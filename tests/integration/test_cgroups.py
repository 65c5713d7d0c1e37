"""cgroups: the limits of linux.resources at work (memory, pids, cpu,
devices), pause / resume and update. Every field read back from its file
and events --stats: test_cgroups_fields.py; cgroupsPath, the cgroup
namespace, delete, bad input: test_cgroups_paths.py; the helpers:
cghelpers.py.

Each test looks at both sides of the boundary: the container's cgroup files
as the host reads them, and what the limit does to processes inside (an OOM
kill, a failed fork, a throttled loop, a device that cannot be opened, a
counter that stops).

The same file runs on this host (cgroup v1 controllers, plus cgroup2 at
/sys/fs/cgroup/unified: "hybrid", which husk treats as v1) and in `make
vm-test`'s VM (cgroup_no_v1=all: pure cgroup v2 at /sys/fs/cgroup).  The
layout is read from /proc/self/mountinfo once (V1 / V2 below); a
container's files are found from /proc/<pid>/cgroup (CG); where the two
versions differ the expected values come in pairs, and what exists only on
one version is skipped on the other, with the reason.

Findings not fixed yet in husk are listed in KNOWN: the tests showing them
are xfails (for an AssertionError only) and turn XPASS once fixed; then the
entry goes.  Tests of husk's own error messages are husk_only; the rest must
pass with HUSK=runc too (runc 1.1.5), which is how their logic is checked.
"""

import json
import signal
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (CMD_TIMEOUT, IS_RUNC, pid_alive, wait_for)
from cghelpers import (CG, COUNTER, MiB, NO_DEV_STDIN, V2, WAIT, WAIT_GO, _assert_refused, _bundle,
                       _call_input, _json_lines, _keyed, _known, _mem_limit, _popen, _read,
                       _sleeper, _stop, _weight_file, _weight_in, _weight_value, cpu_usage_ns,
                       frozen, have, oom_kills, v1_only)


# --------------------------------------------------------------------------
# 1. memory: the OOM killer, and events reporting it

def test_memory_hog_is_oom_killed_and_events_reports_it(hk):
    """The container's process allocates 100 MB under a 32 MiB limit (no
    swap to escape to): it is OOM-killed, run exits 128+9, and an events
    stream started before the allocation prints {"type":"oom"}, then ends
    with the container."""
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", WAIT_GO + "exec dd if=/dev/zero of=/dev/null bs=100M count=1"],
                resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}, out=out)
    cid = hk.new_id()
    run = _popen(hk, "run", "run", "--bundle", b.path, cid)
    ev = None
    try:
        wait_for(lambda: (out / "started").exists() or run.poll() is not None,
                 timeout=WAIT, what="container start")
        assert run.poll() is None, (run.err_path.read_text())
        cg = CG.of(hk.state(cid)["pid"])
        assert int(cg.read("memory", "memory.limit_in_bytes", "memory.max")) == 32 * MiB
        if V2 and cg.file("memory", "", "memory.swap.max").exists():
            assert cg.read("memory", "", "memory.swap.max") == "0"
        elif cg.file("memory", "memory.memsw.limit_in_bytes").exists():
            assert int(cg.read("memory", "memory.memsw.limit_in_bytes")) == 32 * MiB
        assert oom_kills(cg) == 0

        ev = _popen(hk, "events", "events", "--interval", "100ms", cid)
        # the first stats line: the OOM watch is set up by then
        wait_for(lambda: any(e.get("type") == "stats" for e in _json_lines(ev.out_path)),
                 timeout=WAIT, what=f"a stats line from events ({ev.err_path.read_text()!r})")
        (out / "go").touch()
        rc = run.wait(timeout=CMD_TIMEOUT)
        assert rc == 128 + signal.SIGKILL, (rc, run.err_path.read_text())
        if not IS_RUNC:  # runc's stream does not end with the container
            try:
                assert ev.wait(timeout=5) == 0, ev.err_path.read_text()
            except subprocess.TimeoutExpired:
                raise AssertionError("events did not end with the container")
        else:
            wait_for(lambda: {"type": "oom", "id": cid} in _json_lines(ev.out_path),
                     timeout=WAIT, what="the oom event")
        events = _json_lines(ev.out_path)
        assert {"type": "oom", "id": cid} in events, events
        stats = [e for e in events if e.get("type") == "stats"]
        assert stats and all(e["id"] == cid for e in stats)
        assert stats[0]["data"]["memory"]["usage"]["limit"] == 32 * MiB
    finally:
        _stop(ev)
        _stop(run)


def test_oom_kill_of_an_exec_leaves_the_container_running(hk):
    """An exec'd hog is the one killed (exit 137); the container goes on,
    and the host's counter shows one OOM kill."""
    cid, pid, cg = _sleeper(hk, resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
    r = hk.call("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    assert r.rc == 128 + signal.SIGKILL, str(r)
    assert oom_kills(cg) == 1
    assert pid_alive(pid) and hk.status(cid) == "running"
    # a small allocation still works
    r = hk.call("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1")
    assert r.rc == 0, str(r)


@v1_only  # disableOOMKiller has no v2 equivalent
def test_disable_oom_killer_stalls_the_hog_instead(hk):
    """With the OOM killer off the hog waits under OOM, alive; delete
    --force still gets rid of it and of the cgroup."""
    cid, pid, cg = _sleeper(hk, resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB,
                                                      "disableOOMKiller": True}})
    assert "oom_kill_disable 1" in cg.read("memory", "memory.oom_control").splitlines()
    pid_file = hk.work / "hog.pid"
    hk.ok("exec", "--detach", "--pid-file", pid_file, cid,
          "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    hog = int(pid_file.read_text())
    wait_for(lambda: _keyed(cg.read("memory", "memory.oom_control"), "under_oom") == 1,
             timeout=WAIT, what="the cgroup to be under OOM")
    time.sleep(0.2)
    assert pid_alive(hog) and oom_kills(cg) == 0
    hk.delete(cid, force=True)
    wait_for(lambda: not pid_alive(hog), timeout=WAIT, what="the hog to die")
    assert [d for d in cg.all_dirs() if d.exists()] == []


def test_events_streams_stats_until_the_container_exits(hk):
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", WAIT_GO], resources={"pids": {"limit": 9}}, out=out)
    cid = hk.run_detached(b)
    ev = _popen(hk, "events", "events", "--interval", "100ms", cid)
    try:
        wait_for(lambda: len(_json_lines(ev.out_path)) >= 4, timeout=WAIT,
                 what=f"four stats lines ({ev.err_path.read_text()!r})")
        lines = _json_lines(ev.out_path)
        assert {e["type"] for e in lines} == {"stats"}, lines
        assert all(e["id"] == cid and e["data"]["pids"]["limit"] == 9 for e in lines)
        totals = [e["data"]["cpu"]["usage"]["total"] for e in lines]
        assert totals == sorted(totals), totals
        (out / "go").touch()
        if not IS_RUNC:  # runc's stream goes on after the container
            try:
                assert ev.wait(timeout=5) == 0, ev.err_path.read_text()
            except subprocess.TimeoutExpired:
                raise AssertionError("events did not end with the container")
    finally:
        _stop(ev)


# --------------------------------------------------------------------------
# 2. pids

def test_pids_limit_stops_forks_at_the_limit(hk):
    """A subshell of the container's process forks sleeps until it cannot;
    the container's process then stays (exec sleep needs no fork) so that
    the host can count."""
    n = 6
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", WAIT_GO +
                     f"( i=0; while [ $i -lt {n + 10} ]; do sleep 1000 & i=$((i+1)); "
                     "echo $i > /mnt/rw/count; done; echo all forked ) "
                     ">/mnt/rw/out 2>/mnt/rw/err; touch /mnt/rw/done; exec sleep 1000"],
                resources={"pids": {"limit": n}}, out=out)
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "started").exists(), timeout=WAIT, what="container start")
    cg = CG.of(hk.state(cid)["pid"])
    assert cg.read("pids", "pids.max") == str(n)
    assert 1 <= int(cg.read("pids", "pids.current")) <= 2  # sh, and its sleep 0.02
    (out / "go").touch()
    wait_for(lambda: (out / "done").exists(), timeout=WAIT, what="the forks to fail")
    assert (out / "out").read_text() == ""
    assert "can't fork" in (out / "err").read_text()
    started = int((out / "count").read_text())
    # the container's process, the subshell and its sleeps made n
    assert started == n - 2, started
    # touch may not be reaped yet when "done" appears
    wait_for(lambda: int(cg.read("pids", "pids.current")) == 1 + started, timeout=WAIT,
             what=f"pids.current to read {1 + started}")
    assert _keyed(cg.read("pids", "pids.events"), "max") >= 1
    if IS_RUNC:
        return  # runc's exec counts its Go threads against the limit
    # room for exactly one more process
    r = hk.call("exec", cid, "true")
    assert r.rc == 0, str(r)
    r = hk.call("exec", cid, "sh", "-c", "sleep 1 & sleep 1 & wait")
    assert r.rc != 0 and "can't fork" in r.err, str(r)


# --------------------------------------------------------------------------
# 3. cpu

def test_cpu_quota_throttles_a_busy_loop(hk):
    """0.2 CPU (quota 20000 per 100000 us): a busy loop gets about 20%."""
    b = _bundle(hk, ["sh", "-c", "while :; do :; done"],
                resources={"cpu": {"quota": 20000, "period": 100000}})
    cid = hk.run_detached(b)
    cg = CG.of(hk.state(cid)["pid"])
    if V2:
        assert cg.read("cpu", "", "cpu.max") == "20000 100000"
    else:
        assert cg.read("cpu", "cpu.cfs_quota_us") == "20000"
        assert cg.read("cpu", "cpu.cfs_period_us") == "100000"
    time.sleep(0.2)
    u0, t0 = cpu_usage_ns(cg), time.monotonic()
    time.sleep(1.2)
    u1, t1 = cpu_usage_ns(cg), time.monotonic()
    share = (u1 - u0) / ((t1 - t0) * 1e9)
    assert 0.05 < share < 0.40, f"busy loop got {share:.0%} of a CPU"
    assert _keyed(cg.read("cpu", "cpu.stat"), "nr_throttled") > 0


# --------------------------------------------------------------------------
# 4. devices

TRY_OPEN = r"""
try() { if "$@" >/dev/null 2>/mnt/rw/err; then echo "$* ok"; else echo "$* $(cat /mnt/rw/err)"; fi; }
"""


def test_device_outside_the_allow_list_cannot_be_opened(hk):
    """Deny-all plus the defaults: a node the container may mknod ("c *:* m")
    still cannot be opened; /dev/null and /dev/zero work."""
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", TRY_OPEN +
                     "mknod /dev/hkfuse c 10 229 && mknod /dev/hkloop b 7 0 && echo made\n"
                     "try head -c1 /dev/hkfuse\n"
                     "try head -c1 /dev/hkloop\n"
                     "try head -c1 /dev/zero\n"
                     "echo x > /dev/null && echo null ok\n"],
                caps=["CAP_MKNOD"], out=out)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[0] == "made"
    assert lines[1].startswith("head -c1 /dev/hkfuse") and "Operation not permitted" in lines[1]
    assert "Operation not permitted" in lines[2], lines
    assert lines[3:] == ["head -c1 /dev/zero ok", "null ok"], lines


def test_no_device_rules_still_only_the_defaults(hk):
    """A config without linux.resources.devices gets runc's default list all
    the same (husk once left the new cgroup as the kernel makes it: every
    device allowed, so the container's root could mknod and open the
    host's disks); an explicit allow-all is honoured."""
    script = TRY_OPEN + ("mknod /dev/hkloop b 7 0 && mknod /dev/hkfuse c 10 229 && echo made\n"
                         "try head -c0 /dev/hkloop\ntry head -c0 /dev/hkfuse\n"
                         "try head -c1 /dev/zero\n")
    b = _bundle(hk, ["sh", "-c", script], caps=["CAP_MKNOD"], out=hk.dir("out"))
    b.config["linux"]["resources"].pop("devices", None)
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[0] == "made", lines
    assert "Operation not permitted" in lines[1] and "Operation not permitted" in lines[2], lines
    assert lines[3] == "head -c1 /dev/zero ok", lines
    b.config["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    # allowed by the cgroup: opened, or refused by the driver (a VM's
    # kernel may have no loop device: ENXIO), never EPERM
    assert "Operation not permitted" not in r.out.splitlines()[1], r.out


@pytest.mark.skipif(V2, reason="v2 has no devices.list; the behaviour tests cover it")
def test_device_rules_seen_from_the_host(hk):
    cid, pid, cg = _sleeper(hk, resources={"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 4, "minor": 64, "access": "rw"}]})
    rules = cg.read("devices", "devices.list").splitlines()
    assert "a *:* rwm" not in rules, rules
    for want in ("c 4:64 rw", "c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm"):
        assert want in rules, (want, rules)
    assert not any(r.startswith("c 10:229") for r in rules), rules


def test_explicit_deny_of_a_listed_device(hk, request):
    """linux.devices makes /dev/full, resources.devices denies it (c 1:7
    rwm): it cannot be opened; the other default devices still can."""
    _known(request, "C1")
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", TRY_OPEN +
                     "try head -c1 /dev/full\ntry head -c1 /dev/zero\n"],
                resources={"devices": [
                    {"allow": False, "access": "rwm"},
                    {"allow": False, "type": "c", "major": 1, "minor": 7, "access": "rwm"}]},
                devices=[{"path": "/dev/full", "type": "c", "major": 1, "minor": 7,
                          "fileMode": 0o666, "uid": 0, "gid": 0}],
                out=out)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[1] == "head -c1 /dev/zero ok", lines
    assert "Operation not permitted" in lines[0], lines


# --------------------------------------------------------------------------
# 5. pause / resume

# written aside and renamed: frozen between the truncate and the write of a
# plain `echo > counter`, the file would stay empty for the whole pause
def _counter(out):
    def read():
        t = _read(out / "counter")
        return int(t) if t and t.isdigit() else None
    return wait_for(read, timeout=WAIT, what="a counter value")


def test_pause_freezes_and_resume_continues(hk):
    out = hk.dir("out")
    b = _bundle(hk, ["sh", "-c", COUNTER], out=out)
    cid = hk.run_detached(b)
    cg = CG.of(hk.state(cid)["pid"])
    wait_for(lambda: _counter(out) > 3, timeout=WAIT, what="the counter to run")

    hk.ok("pause", cid)
    assert hk.status(cid) == "paused"
    listed = json.loads(hk.ok("list", "--format", "json").out)
    assert [c["status"] for c in listed if c["id"] == cid] == ["paused"]
    assert "paused" in [l.split()[2] for l in hk.ok("list").out.splitlines()[1:]
                        if l.split()[0] == cid]
    assert frozen(cg)
    if V2:
        assert cg.read("", "", "cgroup.freeze") == "1"
    c1 = _counter(out)
    time.sleep(0.3)
    assert _counter(out) == c1, "the counter moved while paused"
    # twice is an error, as is resuming a running container
    assert hk.call("pause", cid).rc != 0
    hk.ok("resume", cid)
    assert hk.status(cid) == "running"
    assert not frozen(cg)
    wait_for(lambda: _counter(out) > c1 + 3, timeout=WAIT, what="the counter to go on")
    r = hk.call("resume", cid)
    assert r.rc != 0, str(r)


def test_pause_of_a_created_container(hk):
    """A created container may be paused (runc allows it); it cannot be
    started until resumed, and is "created" again then."""
    b = _bundle(hk, ["true"])
    cid = hk.create(b)
    cg = CG.of(hk.state(cid)["pid"])
    hk.ok("pause", cid)
    assert hk.status(cid) == "paused" and frozen(cg)
    assert hk.call("start", cid).rc != 0
    hk.ok("resume", cid)
    assert hk.status(cid) == "created" and not frozen(cg)
    hk.start(cid)
    hk.wait_status(cid, "stopped")


@pytest.mark.husk_only
def test_pause_resume_errors(hk):
    cid, pid, cg = _sleeper(hk)
    _assert_refused(hk.call("resume", cid), "not paused")
    hk.ok("pause", cid)
    _assert_refused(hk.call("pause", cid), "paused")
    hk.ok("resume", cid)
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    _assert_refused(hk.call("pause", cid), "stopped")
    _assert_refused(hk.call("pause", hk.new_id()))


# --------------------------------------------------------------------------
# 6. update

def _quota_period(cg):
    if V2:
        q, p = cg.read("cpu", "", "cpu.max").split()
        return (-1 if q == "max" else int(q)), int(p)
    return int(cg.read("cpu", "cpu.cfs_quota_us")), int(cg.read("cpu", "cpu.cfs_period_us"))


def test_update_with_flags(hk):
    cid, pid, cg = _sleeper(hk, resources={
        "memory": {"limit": 256 * MiB}, "pids": {"limit": 100},
        "cpu": {"quota": 50000, "period": 100000, "shares": 1024}})
    assert _mem_limit(cg) == 256 * MiB
    hk.ok("update", "--memory", "32m", "--memory-swap", "32m", "--memory-reservation", "16m",
          "--pids-limit", "10", "--cpu-quota", "30000", "--cpu-period", "50000",
          "--cpu-share", "512", cid)
    assert _mem_limit(cg) == 32 * MiB
    if V2 and cg.file("memory", "", "memory.swap.max").exists():
        assert cg.read("memory", "", "memory.swap.max") == "0"
    elif cg.file("memory", "memory.memsw.limit_in_bytes").exists():
        assert int(cg.read("memory", "memory.memsw.limit_in_bytes")) == 32 * MiB
    assert int(cg.read("memory", "memory.soft_limit_in_bytes", "memory.low")) == 16 * MiB
    assert cg.read("pids", "pids.max") == "10"
    assert _quota_period(cg) == (30000, 50000)
    if V2:
        assert cg.read("cpu", "", "cpu.weight") == str(1 + (512 - 2) * 9999 // 262142)
    else:
        assert cg.read("cpu", "cpu.shares") == "512"
    # values not named stay as they are
    hk.ok("update", "--cpu-quota", "40000", cid)
    assert _quota_period(cg) == (40000, 50000)
    assert cg.read("pids", "pids.max") == "10"
    # and the new memory limit holds inside
    r = hk.call("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    assert r.rc == 128 + signal.SIGKILL, str(r)
    assert hk.status(cid) == "running"


def test_update_cpuset_and_blkio_flags(hk):
    if not have("cpuset"):
        pytest.skip("no cpuset controller on this host")
    cid, pid, cg = _sleeper(hk)
    hk.ok("update", "--cpuset-cpus", "0", "--cpuset-mems", "0", cid)
    assert cg.read("cpuset", "cpuset.cpus") == "0"
    assert cg.read("cpuset", "cpuset.mems") == "0"
    # the sleeper now runs on cpu 0 only
    allowed = [l for l in Path(f"/proc/{pid}/status").read_text().splitlines()
               if l.startswith("Cpus_allowed_list:")]
    assert allowed == ["Cpus_allowed_list:\t0"], allowed
    wf = _weight_file(cg)
    if wf is None:
        pytest.skip("no blkio / io weight file on this host")
    hk.ok("update", "--blkio-weight", "300", cid)
    assert _weight_value(wf) == _weight_in(wf, 300)


def _update_file(hk, cid, res, *extra, flag="-r"):
    """update [extra] -r FILE with res (a dict, or text as it is)."""
    hk._n += 1
    f = hk.work / f"res{hk._n}.json"
    f.write_text(res if isinstance(res, str) else json.dumps(res))
    return hk.call("update", *extra, flag, f, cid)


def test_update_with_a_devices_block_applies_the_rest(hk):
    """containerd's shim pipes a container's whole resources block to
    `update -r -`, devices (at least the deny-all) included, for every CRI
    UpdateContainerResources: as runc 1.1.5, the block is checked, its
    devices are not applied (the container keeps the rules it was made
    with: even an allow-all changes nothing) and the rest is."""
    cid, pid, cg = _sleeper(hk, resources={"pids": {"limit": 100}})
    before = None if V2 else cg.read("devices", "devices.list")
    r = _call_input(hk, json.dumps({"devices": [{"allow": True, "access": "rwm"}],
                                    "pids": {"limit": 77}}), "update", "-r", "-", cid)
    assert r.rc == 0, str(r)
    assert cg.read("pids", "pids.max") == "77"
    if not V2:
        assert cg.read("devices", "devices.list") == before
        assert "a *:* rwm" not in before.splitlines()
    r = _update_file(hk, cid, {"devices": [{"allow": False, "access": "rwm"}],
                               "pids": {"limit": 78}})
    assert r.rc == 0, str(r)
    assert cg.read("pids", "pids.max") == "78"
    r = _update_file(hk, cid, {"devices": [{"allow": "yes"}], "pids": {"limit": 79}})
    assert r.rc == 1, str(r)
    assert cg.read("pids", "pids.max") == "78"


def test_update_with_resources_json(hk):
    cid, pid, cg = _sleeper(hk, resources={
        "memory": {"limit": 256 * MiB}, "pids": {"limit": 100},
        "cpu": {"quota": 50000, "period": 100000}})
    res = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}, "cpu": {"quota": -1}}
    r = _update_file(hk, cid, res)
    assert r.rc == 0, str(r)
    assert _mem_limit(cg) == 64 * MiB
    assert cg.read("pids", "pids.max") == "20"
    assert _quota_period(cg) == (-1, 100000)
    r = _update_file(hk, cid, {"pids": {"limit": -1}, "memory": {"limit": 48 * MiB}},
                     flag="--resources")
    assert r.rc == 0, str(r)
    assert cg.read("pids", "pids.max") == "max"
    assert _mem_limit(cg) == 48 * MiB


def test_update_resources_from_stdin(hk, request):
    _known(request, "C3", when=NO_DEV_STDIN)
    cid, pid, cg = _sleeper(hk, resources={"memory": {"limit": 256 * MiB},
                                           "pids": {"limit": 100}})
    res = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}}
    r = _call_input(hk, json.dumps(res), "update", "-r", "-", cid)
    assert r.rc == 0, str(r)
    assert _mem_limit(cg) == 64 * MiB
    assert cg.read("pids", "pids.max") == "20"


@pytest.mark.husk_only  # runc 1.1 has no checkBeforeUpdate
def test_update_check_before_update_refuses_limit_below_usage(hk):
    cid, pid, cg = _sleeper(hk, resources={"memory": {"limit": 256 * MiB}})
    usage = int(cg.read("memory", "memory.usage_in_bytes", "memory.current"))
    assert usage > 4096
    r = _update_file(hk, cid, {"memory": {"limit": 4096, "checkBeforeUpdate": True}})
    _assert_refused(r, "memory.limit", "checkBeforeUpdate")
    assert _mem_limit(cg) == 256 * MiB
    assert pid_alive(pid) and hk.status(cid) == "running"
    # above the usage it goes through
    r = _update_file(hk, cid, {"memory": {"limit": 128 * MiB, "checkBeforeUpdate": True}})
    assert r.rc == 0, str(r)
    assert _mem_limit(cg) == 128 * MiB


@pytest.mark.husk_only
def test_update_refusals(hk):
    cid, pid, cg = _sleeper(hk, resources={"memory": {"limit": 256 * MiB}})
    _assert_refused(hk.call("update", "--memory", "32x", cid), "--memory", "unit")
    _assert_refused(hk.call("update", "--kernel-memory", "1m", cid), "kernel-memory")
    _assert_refused(hk.call("update", "--l3-cache-schema", "L3:0=f", cid), "l3-cache-schema")
    _assert_refused(hk.call("update", "--pids-limit", "ten", cid), "--pids-limit")
    _assert_refused(_update_file(hk, cid, {"devices": [{"allow": "x"}]}), "devices[0].allow")
    _assert_refused(_update_file(hk, cid, {"memory": {"limit": -5}}), "memory.limit")
    assert _update_file(hk, cid, "{").rc == 1
    _assert_refused(_update_file(hk, cid, {}, "--memory", "1m"), "--resources")
    # one bad value: nothing of the update is applied
    _assert_refused(hk.call("update", "--memory", "32m", "--cpu-quota", "10", cid),
                    "cpu.quota")
    assert _mem_limit(cg) == 256 * MiB
    # a stopped container has nothing to update
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    _assert_refused(hk.call("update", "--memory", "32m", cid), "stopped")


def test_tmpcopyup_copy_is_charged_to_the_container(hk, tmp_path):
    """Outside attack, F6: the container process enters its v1 cgroups
    itself, once it needs to be in them; a tmpcopyup tmpfs made before the
    cgroup mount was filled (its pages charged) while it was still in
    husk's cgroup: 48 MiB copied under a 16 MiB limit. It enters before
    such a copy now (runc: inside the limit too)."""
    rootfs = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(hk.sess.rootfs), str(rootfs)], check=True, timeout=60)
    with open(rootfs / "tmp" / "big", "wb") as f:
        f.write(os.urandom(48 * MiB))
    b = _bundle(hk, ["sh", "-c", "cat /tmp/big > /dev/null; echo ran"], rootfs=rootfs,
                resources={"memory": {"limit": 16 * MiB, "swap": 16 * MiB}})
    mounts = b.config["mounts"]
    at = next(i for i, m in enumerate(mounts) if m["destination"] == "/sys/fs/cgroup")
    mounts.insert(at, {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "tmpcopyup"]})
    b.write()
    r = hk.run_fg(b)
    assert r.rc != 0 and "ran" not in r.out, str(r)
