"""`ps`: the container's processes, as runc lists them (split from
test_exec.py, whose helpers it uses)."""

import json
import os
import signal

import pytest

from conftest import wait_for
from test_exec import _sleeper, _exec_detached, _cgroup_procs, _ps_table_pids



def test_ps(hk):
    cid, pid = _sleeper(hk)
    epid = _exec_detached(hk, cid, "sleep", "1000")

    r = hk.ok("ps", "--format", "json", cid)
    pids = json.loads(r.out)
    assert isinstance(pids, list) and sorted(pids) == sorted([pid, epid]), r.out
    # which is the container's cgroup, seen from the host
    procs = _cgroup_procs(pid)
    assert procs, "the container's cgroup not found"
    for h, p in procs.items():
        assert p == {pid, epid}, (h, p)

    # the default table: ps -ef's header and exactly the container's processes
    r = hk.ok("ps", cid)
    header, table_pids = _ps_table_pids(r.out)
    assert header[:3] == ["UID", "PID", "PPID"] and header[-1] == "CMD", r.out
    assert sorted(table_pids) == sorted(pids), r.out
    for line in r.out.splitlines()[1:]:
        assert "sleep 1000" in line, r.out

    # ps arguments are passed on
    r = hk.ok("ps", cid, "-o", "pid,comm")
    header, table_pids = _ps_table_pids(r.out)
    assert header == ["PID", "COMMAND"], r.out
    assert sorted(table_pids) == sorted(pids), r.out
    assert [l.split()[1] for l in r.out.splitlines()[1:]] == ["sleep", "sleep"], r.out
    r = hk.ok("ps", "-f", "table", cid, "-o", "comm,pid")
    assert r.out.splitlines()[0].split() == ["COMMAND", "PID"], r.out
    assert sorted(_ps_table_pids(r.out)[1]) == sorted(pids), r.out

    # an exec that ended is gone from the list
    os.kill(epid, signal.SIGKILL)
    wait_for(lambda: json.loads(hk.ok("ps", "--format", "json", cid).out) == [pid],
             what="ps to list the container's process only")


def test_ps_unknown_and_stopped(hk):
    for args in (["ps", hk.new_id()], ["ps", "--format", "json", hk.new_id()]):
        r = hk.call(*args)
        assert r.rc != 0 and r.out == "", str(r)
    # a stopped container has no processes: both list none (rc 0, only the
    # table's header or [])
    cid = hk.run_detached(hk.bundle(["true"]))
    hk.wait_status(cid, "stopped")
    r = hk.call("ps", cid)
    assert r.rc != 0 or len(r.out.splitlines()) == 1, str(r)
    r = hk.call("ps", "--format", "json", cid)
    assert r.rc != 0 or json.loads(r.out) in ([], None), str(r)


@pytest.mark.husk_only
def test_ps_stopped_lists_nothing(hk):
    cid = hk.run_detached(hk.bundle(["true"]))
    hk.wait_status(cid, "stopped")
    r = hk.ok("ps", cid)
    assert len(r.out.splitlines()) == 1 and "PID" in r.out, str(r)
    assert json.loads(hk.ok("ps", "--format", "json", cid).out) == []


def test_ps_bad_format(hk):
    cid, _ = _sleeper(hk)
    r = hk.call("ps", "--format", "xml", cid)
    assert r.rc != 0 and r.out == "", str(r)


@pytest.mark.parametrize("args", [["-o", "comm"], ["-o", "pid,comm", "--no-headers"]],
                         ids=["no-pid-column", "no-header"])
def test_ps_without_pid_column_fails_and_prints_nothing(hk, args):
    """ps arguments that give no PID column (none, or no header to find it
    in) fail before anything is printed: without a header the first line is
    a process that need not be the container's."""
    cid, pid = _sleeper(hk)
    r = hk.call("ps", cid, *args)
    assert r.rc != 0 and r.out == "", str(r)
