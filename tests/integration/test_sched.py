"""How the kernel schedules the container's process: process.scheduler,
ioPriority, execCPUAffinity (runtime-spec 1.2) and linux.memoryPolicy
(1.3), each seen from inside the container, and refused at create when the
kernel would refuse it.

husk_only: Debian's runc 1.1.5 and crun 1.8.1 predate these fields and
ignore them (a SCHED_BATCH, IOPRIO_CLASS_BE 6, MPOL_BIND config runs with
policy 0, "none: prio 0", "default" under either); runc 1.2 applies
scheduler, ioPriority and execCPUAffinity, runc 1.3 memoryPolicy, as husk
does here.
"""

import json
import os
import subprocess
import time

import pytest

from conftest import CMD_TIMEOUT, HUSK, STATE_ROOT, wait_for

pytestmark = pytest.mark.husk_only


def _run(hk, args, edit, **kw):
    b = hk.bundle(list(args), **kw)
    edit(b.config)
    b.write()
    return hk.run_fg(b)


def _sched(text):
    """{field: value} of /proc/<pid>/sched."""
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("-"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def _stat(text):
    return text.rsplit(")", 1)[1].split()  # fields from 3 (state) on


# --------------------------------------------------------------------------
# process.scheduler

def test_batch_with_nice(hk):
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    r = _run(hk, ["sh", "-c", "cat /proc/$$/stat"], edit)
    assert r.rc == 0, str(r)
    st = _stat(r.out)
    assert (st[16], st[38]) == ("7", "3"), r.out  # nice, policy


def test_fifo_and_reset_on_fork(hk):
    """SCHED_FIFO 10 (on cgroup v1 with a realtime budget for the cgroup);
    SCHED_FLAG_RESET_ON_FORK gives a child SCHED_OTHER."""
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10,
                                     "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
        c["linux"]["resources"]["cpu"] = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}
    r = _run(hk, ["sh", "-c", "cat /proc/$$/stat; sh -c 'cat /proc/self/stat'; true"], edit)
    assert r.rc == 0, str(r)
    me, child = (_stat(l) for l in r.out.splitlines())
    assert (me[37], me[38]) == ("10", "1"), r.out  # rt_priority, policy
    assert (child[37], child[38]) == ("0", "0"), r.out


def test_fifo_without_realtime_budget_is_refused(hk):
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10}
    r = _run(hk, ["true"], edit)
    assert r.rc != 0, str(r)
    assert "process.scheduler: sched_setattr: Operation not permitted" in r.err, str(r)
    assert "realtimeRuntime" in r.err, str(r)


def test_deadline(hk):
    """SCHED_DEADLINE: no fork allowed afterwards, so cat itself is the
    container's process."""
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_DEADLINE", "runtime": 10000000,
                                     "deadline": 30000000, "period": 30000000}
    r = _run(hk, ["cat", "/proc/self/sched"], edit)
    assert r.rc == 0, str(r)
    s = _sched(r.out)
    assert s["policy"] == "6" and "dl.runtime" in s, r.out


def test_bad_scheduler_refused_at_create(hk):
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_RR"}
    r = _run(hk, ["true"], edit)
    assert r.rc != 0 and "process.scheduler.priority: SCHED_RR needs one from 1 to 99" in r.err
    assert hk.list_ids() == []


# --------------------------------------------------------------------------
# process.ioPriority

@pytest.mark.parametrize("klass,level,shown", [("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
                                               ("IOPRIO_CLASS_RT", 2, "realtime: prio 2"),
                                               ("IOPRIO_CLASS_IDLE", 0, "idle")])
def test_io_priority(hk, klass, level, shown):
    def edit(c):
        c["process"]["ioPriority"] = {"class": klass, "priority": level}
    r = _run(hk, ["sh", "-c", "ionice -p $$"], edit)
    assert r.rc == 0 and r.out.strip() == shown, str(r)


# --------------------------------------------------------------------------
# linux.memoryPolicy (one NUMA node here: node 0)

@pytest.mark.parametrize("policy,shown", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0"}, "interleave:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}, "bind=static:0"),
])
def test_memory_policy(hk, policy, shown):
    def edit(c):
        c["linux"]["memoryPolicy"] = policy
    r = _run(hk, ["head", "-n1", "/proc/self/numa_maps"], edit)
    assert r.rc == 0 and r.out.split()[1] == shown, str(r)


def test_memory_policy_on_exec(hk):
    b = hk.bundle(["sleep", "1000"])
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0"}
    b.write()
    cid = hk.run_detached(b)
    r = hk.call("exec", cid, "head", "-n1", "/proc/self/numa_maps")
    assert r.rc == 0 and r.out.split()[1] == "interleave:0", str(r)


def test_memory_policy_on_missing_node(hk):
    def edit(c):
        c["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "1000"}
    r = _run(hk, ["true"], edit)
    assert r.rc != 0 and "linux.memoryPolicy: set_mempolicy: Invalid argument" in r.err, str(r)


# --------------------------------------------------------------------------
# process.execCPUAffinity: exec'd processes only (config.md)

def _online():
    return open("/sys/devices/system/cpu/online").read().strip()


needs_two_cpus = pytest.mark.skipif(_online() == "0", reason="needs two CPUs")


@needs_two_cpus
def test_exec_cpu_affinity_final(hk):
    """From config.json and from --process; not for the first process."""
    b = hk.bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"initial": "0", "final": "1"}
    b.write()
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    assert _allowed(open(f"/proc/{pid}/status").read()) == _online()
    r = hk.call("exec", cid, "grep", "Cpus_allowed_list", "/proc/self/status")
    assert r.rc == 0 and _allowed(r.out) == "1", str(r)
    proc = hk.work / "process.json"
    proc.write_text(json.dumps({"args": ["grep", "Cpus_allowed_list", "/proc/self/status"],
                                "cwd": "/", "env": ["PATH=/bin"],
                                "execCPUAffinity": {"final": "0"}}))
    r = hk.call("exec", "--process", proc, cid)
    assert r.rc == 0 and _allowed(r.out) == "0", str(r)


def _allowed(status):
    return [l for l in status.splitlines() if l.startswith("Cpus_allowed_list:")][0].split()[1]


@needs_two_cpus
def test_exec_cpu_affinity_initial(hk):
    """initial: where the runtime's own process runs before the process joins
    the container's cgroup (husk exec, from then on); without final the
    kernel's choice on joining stays (here, cgroup v1's cpuset gives all)."""
    b = hk.bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"initial": "1"}
    b.write()
    cid = hk.run_detached(b)
    out = hk.work / "exec.out"
    with open(out, "wb") as o:
        p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "exec", cid, "sh", "-c",
                              "grep Cpus_allowed_list /proc/self/status; sleep 5"],
                             stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: out.read_text(), what="the exec'd process")
        runtime = _allowed(open(f"/proc/{p.pid}/status").read())
    finally:
        p.kill()
        p.wait(CMD_TIMEOUT)
    assert runtime == "1", "husk exec does not run on execCPUAffinity.initial"


@needs_two_cpus
def test_exec_cpu_affinity_bad_cpu(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    proc = hk.work / "process.json"
    proc.write_text(json.dumps({"args": ["true"], "cwd": "/",
                                "execCPUAffinity": {"final": "1000"}}))
    r = hk.call("exec", "--process", proc, cid)
    assert r.rc != 0, str(r)
    assert "process.execCPUAffinity.final: sched_setaffinity: Invalid argument" in r.err, str(r)
