"""Many husk calls at once, and many in a row.

Concurrency: lifecycles on distinct ids in parallel, and racing pairs of
commands on one id, repeated; every call ends in time, `state` and `list`
always parse, and the end state is one of the allowed ones with nothing left
after a final `delete --force`.

Leaks: HUSK_LEAK_CYCLES (default 1000) sequential `run` of `true` leave the
host as they found it: the test process's fds, the mount table, cgroups,
state dirs, zombies.
"""

import json
import os
import random
import subprocess
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (CMD_TIMEOUT, HUSK, ID_PREFIX, IS_RUNC, STATE_ROOT, Result,
                      cgroup_dirs_named, pid_alive, session_processes,
                      wait_no_leaks)

STATUSES = {"creating", "created", "running", "stopped"}


def husk(*args, timeout=CMD_TIMEOUT):
    """One runtime call, safe from any thread. stdout and stderr go to
    unnamed files, never pipes: a created container inherits them."""
    argv = [HUSK, "--root", str(STATE_ROOT)] + [str(a) for a in args]
    with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{argv} hung (no exit in {timeout}s)")
        o.seek(0)
        e.seek(0)
        return Result(argv, p.returncode, o.read().decode(errors="replace"),
                      e.read().decode(errors="replace"))


def ok(*args):
    r = husk(*args)
    assert r.rc == 0, str(r)
    return r


def one_line_error(r):
    assert r.rc == 1, str(r)
    if not IS_RUNC:  # runc's errors may span lines (usage text)
        assert len(r.err_lines) == 1, f"not one line:\n{r}"


def check_state(r, cid):
    """A `state` result seen at any moment: a whole state, or an error."""
    if r.rc == 0:
        st = json.loads(r.out)  # a torn state.json would not parse
        assert st["id"] == cid and st["status"] in STATUSES, r.out
        return st["status"]
    one_line_error(r)
    return None


def check_list(r):
    assert r.rc == 0, str(r)
    entries = json.loads(r.out) or []
    for c in entries:
        assert c["status"] in STATUSES and c["id"], c
    return {c["id"]: c["status"] for c in entries}


def wait_stopped(cid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        if check_state(husk("state", cid), cid) == "stopped":
            return
        assert time.monotonic() < deadline, f"{cid} not stopped after {timeout}s"
        time.sleep(0.02)


def race(*calls):
    """Run the argvs at the same moment (as near as threads allow)."""
    barrier = threading.Barrier(len(calls))

    def go(args):
        barrier.wait()
        return husk(*args)
    with ThreadPoolExecutor(len(calls)) as ex:
        return list(ex.map(go, calls))


def assert_container_gone(hk, cid):
    r = husk("delete", "--force", cid)  # the final, idempotent clean-up
    assert r.rc == 0 or "does not exist" in r.err, str(r)
    r = husk("state", cid)
    assert r.rc == 1, str(r)
    assert not (STATE_ROOT / cid).exists()
    assert not cgroup_dirs_named(cid)


class Poller:
    """`list` and `state` of random ids in a loop, in a thread, while other
    threads work: every answer must parse."""

    def __init__(self, ids):
        self.ids = ids
        self.stop = threading.Event()
        self.errors = []
        self.calls = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                r = husk("list", "--format", "json")
                # runc 1.1's list fails when a container goes while it
                # looks ("stat <root>/<id>: no such file"); husk's may not
                if not (IS_RUNC and r.rc == 1):
                    check_list(r)
                cid = random.choice(self.ids)
                check_state(husk("state", cid), cid)
                self.calls += 2
            except BaseException as e:  # noqa: B902 -- reported by the test
                self.errors.append(e)
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=2 * CMD_TIMEOUT)
        assert not self.thread.is_alive(), "poller hung"


# --------------------------------------------------------------------------
# parallel lifecycles on distinct ids

CYCLES = 50
WORKERS = 8


def test_parallel_lifecycles(hk):
    b = hk.bundle(["sleep", "1000"])
    ids = [hk.new_id() for _ in range(CYCLES)]

    def cycle(cid):
        ok("create", "--bundle", b.path, cid)
        ok("start", cid)
        ok("kill", cid, "KILL")
        wait_stopped(cid)
        ok("delete", cid)
        return cid

    with Poller(ids) as poller:
        with ThreadPoolExecutor(WORKERS) as ex:
            done = list(ex.map(cycle, ids))
    assert done == ids
    assert not poller.errors, poller.errors[0]
    assert poller.calls > 0
    assert not set(ids) & set(hk.list_ids())
    leaks = wait_no_leaks(hk.sess)
    assert not leaks, leaks


# --------------------------------------------------------------------------
# racing pairs on one id

REPEAT = 10


# runc 1.1 loses this race both ways at times ("exec fifo ... already
# exists" for one, "unable to store init state" for the other)
@pytest.mark.husk_only
def test_race_create_create(hk):
    b = hk.bundle(["sleep", "1000"])
    for _ in range(REPEAT):
        cid = hk.new_id()
        r1, r2, st = race(("create", "--bundle", b.path, cid),
                          ("create", "--bundle", b.path, cid),
                          ("state", cid))
        assert sorted([r1.rc, r2.rc]) == [0, 1], f"{r1}\n{r2}"
        loser = r1 if r1.rc else r2
        one_line_error(loser)
        if not IS_RUNC:
            assert "already exists" in loser.err, str(loser)
        check_state(st, cid)
        assert check_state(husk("state", cid), cid) == "created"
        assert list(check_list(husk("list", "--format", "json"))).count(cid) == 1
        ok("delete", cid)
        assert_container_gone(hk, cid)


@pytest.mark.parametrize("force", [True, False], ids=["delete-force", "delete"])
def test_race_start_delete(hk, force):
    b = hk.bundle(["sleep", "1000"])
    seen = set()
    for _ in range(REPEAT):
        cid = hk.create(b)
        pid = json.loads(ok("state", cid).out)["pid"]
        start, delete, st = race(("start", cid),
                                 ("delete", *(["--force"] if force else []), cid),
                                 ("state", cid))
        check_state(st, cid)
        if start.rc == 0 and delete.rc == 0 and force:
            outcome = "started, then deleted"
        elif delete.rc == 0:
            outcome = "deleted, start failed"
            one_line_error(start)
        elif start.rc == 0 and not force:
            # a plain delete refuses a running container
            outcome = "started, delete refused"
            one_line_error(delete)
            assert check_state(husk("state", cid), cid) == "running"
        else:
            raise AssertionError(f"no allowed outcome:\n{start}\n{delete}")
        seen.add(outcome)
        if delete.rc == 0:
            # deleted means gone, whichever came first
            assert check_state(husk("state", cid), cid) is None
            assert not pid_alive(pid)
        assert_container_gone(hk, cid)
        assert not pid_alive(pid)
    print(f"outcomes seen: {sorted(seen)}")


def test_race_kill_delete(hk):
    b = hk.bundle(["sleep", "1000"])
    seen = set()
    for _ in range(REPEAT):
        cid = hk.run_detached(b)
        pid = json.loads(ok("state", cid).out)["pid"]
        kill, delete, st = race(("kill", cid, "KILL"), ("delete", "--force", cid),
                                ("state", cid))
        check_state(st, cid)
        assert delete.rc == 0, str(delete)
        if kill.rc:
            one_line_error(kill)
        seen.add("killed" if kill.rc == 0 else "kill failed")
        assert check_state(husk("state", cid), cid) is None
        assert not pid_alive(pid)
        assert_container_gone(hk, cid)
    print(f"outcomes seen: {sorted(seen)}")


# --------------------------------------------------------------------------
# leaks over many runs

LEAK_CYCLES = int(os.environ.get("HUSK_LEAK_CYCLES", "1000"))


def _fds(pid="self"):
    out = {}
    d = f"/proc/{pid}/fd"
    for fd in os.listdir(d):
        try:
            out[int(fd)] = os.readlink(f"{d}/{fd}")
        except OSError:
            pass
    return out


def _zombies():
    """{pid: (ppid, comm)} of every zombie on the host."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            out[int(p)] = (int(fields[1]), comm)
    return out


def _cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def _our_zombies(before):
    """Zombies that are ours: children of this process, or children of a
    live process running with our state root (a husk that does not reap).
    A zombie's own cmdline is empty, so it is found through its parent."""
    me = os.getpid()
    root = str(STATE_ROOT).encode()
    return {z: v for z, v in _zombies().items()
            if z not in before and (v[0] == me or root in _cmdline(v[0]))}


def _mountinfo():
    with open("/proc/self/mountinfo", errors="replace") as f:
        return set(f)


def _settled_fds(pid):
    """The fds of a process that has finished starting: sleep opens locale
    files while it starts and closes them, so a snapshot taken too early
    differs from the later one without anyone touching it."""
    last = _fds(pid)
    for _ in range(100):
        time.sleep(0.05)
        now = _fds(pid)
        if now == last and os.readlink(f"/proc/{pid}/exe").endswith("sleep"):
            return now
        last = now
    return last


def test_many_runs_leave_nothing(hk):
    b = hk.bundle(["true"])
    # a long-lived process of ours, started before: nothing may reach it
    observer = subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL)
    try:
        zombies_before = set(_zombies())
        fds_before = _fds()
        observer_fds = _settled_fds(observer.pid)
        mounts_before = _mountinfo()
        err_path = hk.work / "run.err"
        t0 = time.monotonic()
        with open(err_path, "w+b") as err:
            for i in range(LEAK_CYCLES):
                cid = f"{ID_PREFIX}leak{i}"
                err.seek(0)
                err.truncate()
                try:
                    p = subprocess.run([HUSK, "--root", str(STATE_ROOT), "run", "--bundle",
                                        str(b.path), cid], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=err,
                                       timeout=CMD_TIMEOUT)
                except subprocess.TimeoutExpired:
                    hk.track(cid)
                    raise AssertionError(f"run #{i} hung")
                if p.returncode != 0:
                    hk.track(cid)
                    err.seek(0)
                    raise AssertionError(f"run #{i} -> rc {p.returncode}: "
                                         f"{err.read().decode(errors='replace')}")
        elapsed = time.monotonic() - t0
        print(f"{LEAK_CYCLES} runs in {elapsed:.1f}s ({1000 * elapsed / LEAK_CYCLES:.1f} ms each)")

        assert os.listdir(STATE_ROOT) == []
        assert not cgroup_dirs_named(ID_PREFIX)
        assert _fds() == fds_before
        assert _fds(observer.pid) == observer_fds
        assert pid_alive(observer.pid)
        # the mount table: a change that names this session's dirs is ours;
        # others (someone else's work on a shared host) only warn
        changed = _mountinfo() ^ mounts_before
        ours = [l for l in changed if str(hk.sess.tmp) in l or str(STATE_ROOT.parent) in l]
        assert not ours, ours
        if changed:
            warnings.warn(f"mount table changed during the runs (not by this session?): "
                          f"{sorted(changed)}")
        assert not _our_zombies(zombies_before), _our_zombies(zombies_before)
        assert not session_processes(hk.sess.rootfs_ids)
        leaks = wait_no_leaks(hk.sess)
        assert not leaks, leaks
    finally:
        observer.kill()
        observer.wait()
