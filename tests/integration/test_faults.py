"""Crash recovery and exit codes.

Fault injection: `make faults` builds build-faults/husk, which SIGKILLs
itself at the step named by $HUSK_FAULT (src/common/fault.h; the steps are
the HK_FAULT() calls in src/runtime/). For every step the lifecycle command
that reaches it is run with that binary and must die of SIGKILL; then one
plain `delete --force` must remove everything the dead husk left: processes,
cgroups, mounts, the state dir. Until then `state` and `list` must parse and
agree with each other.

$HUSK_FAULT_BINARY names a fault build to use instead of running
`make faults`.

Exit codes: 0 on success, 1 for a husk error, the container's status for
run and exec, 255 when exec could not run its process (as runc).
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import (CMD_TIMEOUT, DEFAULT_NAMESPACES, DEFAULT_PATH, HUSK, IS_RUNC, REPO,
                      STATE_ROOT, Result, cgroup_dirs_named, pid_alive, session_processes,
                      wait_for, wait_no_leaks)
# the throwaway unprivileged user of the rootless tests
from test_userns_rootless import rootless, rootless_config  # noqa: F401

# In the order create / run reaches them (src/runtime/container.c, spawn.c,
# child.c). Steps named child:* run in the container's process and kill the
# husk that made it too.
CREATE_STEPS = [
    "create:state-dir",        # state dir made and locked, no state.json yet
    "create:state-creating",   # state.json says "creating", no process
    "spawn:cloned",            # process cloned, waiting for GO
    "spawn:in-cgroup",         # cgroups made (v1) and the process moved in
    "child:namespaces",        # process in its namespaces
    "child:mounts",            # rootfs mounts done, before pivot_root
    "child:pivoted",           # after pivot_root
    "child:ready",             # credentials set, about to report ready
    "create:process-ready",    # process waits on exec.fifo; state not yet updated
    "create:state-written",    # state.json says "created"
]
# The status `state` reports after create died at that step (None: no
# state.json yet, so `state` fails and `list` leaves the container out).
CREATE_STATUS = {s: "creating" for s in CREATE_STEPS}
CREATE_STATUS["create:state-dir"] = None
CREATE_STATUS["create:state-written"] = "created"

EXEC_STEPS = ["exec:cloned", "exec:running"]
DELETE_STEPS = ["delete:process-gone", "delete:cgroup-removed"]

# The fault tests need husk's fault build; the exit code tests run against
# any runtime.
faults = pytest.mark.husk_only


# --------------------------------------------------------------------------
# the fault binary

def _make_env():
    # Run from `make test`, MAKEFLAGS names a jobserver whose fds this
    # subprocess does not inherit.
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


@pytest.fixture(scope="session")
def fault_husk(session_env):
    """The fault build of husk: $HUSK_FAULT_BINARY, or build-faults/husk made
    once per session by `make faults`; copied to the session's tmp dir so
    that make clean or a rebuild by someone else cannot pull it away."""
    src = os.environ.get("HUSK_FAULT_BINARY")
    if not src:
        r = subprocess.run(["make", "-s", "faults"], cwd=REPO, env=_make_env(),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        assert r.returncode == 0, \
            "make faults failed:\n" + r.stdout.decode() + r.stderr.decode()
        src = REPO / "build-faults" / "husk"
    dst = session_env.tmp / "husk-faults"
    shutil.copy2(src, dst)
    return dst


def fault_call(hk, binary, step, *args, timeout=CMD_TIMEOUT):
    """Run the fault binary with HUSK_FAULT=step (None: no fault).

    In a session of its own: a child:* step runs as pid 1 of the
    container's pid namespace, where getppid() is 0, so fault.c's
    kill(getppid(), SIGKILL) signals the caller's whole process group -- this
    pytest, and make (test_child_fault_kills_only_husk).
    """
    env = dict(os.environ)
    env.pop("HUSK_FAULT", None)
    if step:
        env["HUSK_FAULT"] = step
    argv = [str(binary), "--root", str(STATE_ROOT)] + [str(a) for a in args]
    hk._n += 1
    out, err = hk.work / f"fault{hk._n}.out", hk.work / f"fault{hk._n}.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                               env=env, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"HUSK_FAULT={step} {argv} did not finish in {timeout}s")
    return Result(argv, p.returncode, out.read_text(errors="replace"),
                  err.read_text(errors="replace"))


def assert_killed(r, step):
    assert r.rc == -9, f"HUSK_FAULT={step}: expected death by SIGKILL\n{r}"


# --------------------------------------------------------------------------
# checks

def observe(hk, cid):
    """`state` and `list` after a crash: both parse, and agree. Returns the
    status (None when `state` fails, which it may only do with one line)."""
    s = hk.call("state", cid)
    if s.rc == 0:
        st = json.loads(s.out)
        assert st["id"] == cid, str(s)
        status = st["status"]
    else:
        assert s.rc == 1 and len(s.err_lines) == 1, str(s)
        status = None
    ls = hk.call("list", "--format", "json")
    assert ls.rc == 0, str(ls)
    listed = {c["id"]: c for c in (json.loads(ls.out) or [])}
    if status is None:
        assert cid not in listed, f"list shows {cid} that state cannot read:\n{ls.out}"
    else:
        assert cid in listed, f"state reads {cid} but list leaves it out:\n{ls.out}"
        if status != "stopped" and listed[cid]["status"] == "stopped":
            # the process ended between the two calls (a run of `true`, or
            # a created one a killed delete had sent SIGKILL): stopped is
            # for good, so state, asked again, must agree
            s = hk.call("state", cid)
            assert s.rc == 0, str(s)
            status = json.loads(s.out)["status"]
        assert listed[cid]["status"] == status, (listed[cid], status)
    q = hk.ok("list", "-q").out.split()
    assert (cid in q) == (status is not None), q
    return status


def _describe(procs):
    out = []
    for pid, why, cmd in procs:
        try:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            wchan = open(f"/proc/{pid}/wchan").read()
        except OSError:
            st, wchan = ["?", "?"], "?"
        out.append(f"pid {pid} ({why}, state {st[0]}, ppid {st[1]}, wchan {wchan}): {cmd}")
    return "; ".join(out)


def our_processes(hk):
    return {pid for pid, _why, _cmd in session_processes(hk.sess.rootfs_ids)}


def assert_gone(hk, cid, pids=()):
    """Nothing of cid is left: no process, cgroup, mount or state dir, and
    neither `state` nor `list` knows it."""
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), timeout=3, what=f"pid {pid} of {cid} to die")
    assert not cgroup_dirs_named(cid), cgroup_dirs_named(cid)
    assert not (STATE_ROOT / cid).exists(), os.listdir(STATE_ROOT / cid)
    r = hk.call("state", cid)
    assert r.rc == 1 and "does not exist" in r.err, str(r)
    assert cid not in hk.list_ids()
    leaks = wait_no_leaks(hk.sess)
    assert not leaks, f"left after delete --force of {cid}:\n  " + "\n  ".join(leaks)


def delete_force(hk, cid):
    """delete --force with the normal binary: must finish in one go."""
    pids = our_processes(hk)
    r = hk.call("delete", "--force", cid)
    assert r.rc == 0, str(r)
    assert_gone(hk, cid, pids)


# --------------------------------------------------------------------------
# create / run

def _crash_create(hk, fault_husk, step, op, process, **config):
    """process: what becomes of the container's process when husk dies at
    step: "dies" with it, "waits" for a start, or None (either)."""
    b = hk.bundle(["sleep", "1000"], **config)
    cid = hk.new_id()
    cmd = ["create"] if op == "create" else ["run", "--detach"]
    r = fault_call(hk, fault_husk, step, *cmd, "--bundle", b.path, cid)
    assert_killed(r, step)
    if process == "dies":
        try:
            wait_for(lambda: not our_processes(hk), timeout=3)
        except AssertionError:
            raise AssertionError("the half-made container process outlived its husk: "
                                 + _describe(session_processes(hk.sess.rootfs_ids)))
    elif process == "waits":
        st = hk.state(cid)
        assert pid_alive(st["pid"]) and our_processes(hk) == {st["pid"]}, \
            _describe(session_processes(hk.sess.rootfs_ids))

    assert observe(hk, cid) == CREATE_STATUS[step]
    # the id stays taken until deleted
    _cid, r = hk.create(b, cid, check=False)
    assert r.rc == 1 and len(r.err_lines) == 1 and "already exists" in r.err, str(r)
    delete_force(hk, cid)
    # and is free again afterwards
    hk.create(b, cid)
    delete_force(hk, cid)


def _expected_process(step):
    if step == "create:state-written":
        return "waits"  # the state says "created": it must be so
    # Every earlier step: the process goes with husk -- PR_SET_PDEATHSIG
    # until it reports ready, then EOF where it waits for husk's DONE (husk
    # records its pid before DONE); a child:* step exits the process itself.
    return "dies"  # PR_SET_PDEATHSIG in child_main


@faults
@pytest.mark.parametrize("op", ["create", "run-d"])
@pytest.mark.parametrize("step", CREATE_STEPS)
def test_fault_in_create(hk, fault_husk, step, op):
    _crash_create(hk, fault_husk, step, op, _expected_process(step))


@faults
@pytest.mark.parametrize("step", [s for s in CREATE_STEPS if s.startswith("child:")])
def test_fault_in_create_without_pid_namespace(hk, fault_husk, step):
    """In the host's pid namespace a child:* fault kills husk (its parent)
    and the process itself, as fault.h says."""
    _crash_create(hk, fault_husk, step, "create", "dies",
                  namespaces=[n for n in DEFAULT_NAMESPACES if n != "pid"])


@faults
def test_fault_without_step_is_a_normal_husk(hk, fault_husk):
    """The fault binary without HUSK_FAULT runs a whole lifecycle (the tests
    above rely on the rc -9 coming from the fault point)."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    assert fault_call(hk, fault_husk, None, "run", "-d", "--bundle", b.path, cid).rc == 0
    assert hk.status(cid) == "running"
    assert fault_call(hk, fault_husk, None, "delete", "--force", cid).rc == 0
    assert_gone(hk, cid)


@faults
def test_child_fault_kills_only_husk(hk, fault_husk):
    """A child:* step must kill the husk that made the process, and nothing
    else of its process group (fault.h: "kills husk as well").

    fault.c sends SIGKILL to getppid(); in the container's own pid namespace
    the parent is outside it and getppid() returns 0 (getppid(2)), so that
    is kill(0, SIGKILL): the caller's whole process group -- the shell, make
    or pytest that ran husk."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    script = (f'HUSK_FAULT=child:mounts "$0" --root {STATE_ROOT} create '
              f'--bundle {b.path} {cid} </dev/null >/dev/null 2>&1; echo "husk rc $?"')
    with open(hk.work / "sh.out", "wb") as o:
        p = subprocess.run(["sh", "-c", script, str(fault_husk)], stdout=o,
                           stderr=subprocess.STDOUT, timeout=CMD_TIMEOUT,
                           start_new_session=True)
    out = (hk.work / "sh.out").read_text()
    try:
        assert p.returncode == 0 and "husk rc 137" in out, \
            f"the shell that ran husk got killed too: rc {p.returncode}, output {out!r}"
    finally:
        delete_force(hk, cid)


@faults
@pytest.mark.parametrize("step", [
    "create:process-ready",
    "create:state-written",
])
def test_fault_in_rootless_create(rootless, fault_husk, step):
    """Unprivileged, husk has no cgroup to find the container's processes
    by: delete --force has only the pid in state.json."""
    b = rootless.bundle()
    rootless_config(b, ["sleep", "1000"])
    binary = rootless.work / "husk-faults"
    shutil.copy2(fault_husk, binary)
    os.chmod(binary, 0o755)
    cid = rootless.new_id()
    env = [f"PATH={DEFAULT_PATH[5:]}", f"HOME={rootless.home}",
           f"XDG_RUNTIME_DIR={rootless.xdg}", f"HUSK_FAULT={step}"]
    argv = ["runuser", "-u", rootless.name, "--", "env", "-i", *env, str(binary),
            "create", "--bundle", str(b), cid]
    with open(rootless.work / "create.err", "wb") as e:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=e, timeout=CMD_TIMEOUT, start_new_session=True)
    assert p.returncode in (-9, 137), (p.returncode, (rootless.work / "create.err").read_text())
    left = [pid for pid in _all_pids() if _uid(pid) == rootless.uid]
    assert left, "the container process should be waiting for start"
    r = rootless.call("delete", "--force", cid)
    assert r.rc == 0, str(r)
    assert rootless.call("state", cid).rc == 1
    assert not (rootless.state_dir / cid).exists()
    for pid in left:
        wait_for(lambda: not pid_alive(pid), timeout=3,
                 what=f"container process {pid} ({_cmdline(pid)!r}) to be gone")


def _uid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------
# start

@faults
def test_fault_in_start(hk, fault_husk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    pid = hk.state(cid)["pid"]
    r = fault_call(hk, fault_husk, "start:released", "start", cid)
    assert_killed(r, "start:released")
    # the program was released before husk died: it runs
    wait_for(lambda: open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"sleep\0"),
             what="the program to run")
    assert observe(hk, cid) in ("created", "running")
    delete_force(hk, cid)
    assert not pid_alive(pid)


# A start killed between releasing the program and removing exec.fifo: the
# program runs; the state must say so (the process no longer runs the husk
# binary recorded at create) and the next start must fail at once.


@faults
def test_start_killed_after_release_state_says_running(hk, fault_husk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    assert_killed(fault_call(hk, fault_husk, "start:released", "start", cid), "start:released")
    try:
        assert observe(hk, cid) == "running"
    finally:
        delete_force(hk, cid)


@faults
def test_start_killed_after_release_next_start_fails_at_once(hk, fault_husk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    assert_killed(fault_call(hk, fault_husk, "start:released", "start", cid), "start:released")
    try:
        r = hk.call("start", cid, timeout=3)
        assert r.rc == 1 and len(r.err_lines) == 1, str(r)
    finally:
        delete_force(hk, cid)


# --------------------------------------------------------------------------
# exec

@faults
@pytest.mark.parametrize("detach", [True, False], ids=["exec-d", "exec"])
@pytest.mark.parametrize("step", EXEC_STEPS)
def test_fault_in_exec(hk, fault_husk, step, detach):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    init = hk.state(cid)["pid"]
    r = fault_call(hk, fault_husk, step, "exec", *(["-d"] if detach else []),
                   cid, "sleep", "999")
    assert_killed(r, step)
    # the container itself is unharmed
    assert observe(hk, cid) == "running" and pid_alive(init)
    procs = hk.ok("ps", "--format", "json", cid)
    pids = json.loads(procs.out)
    assert init in pids
    if step == "exec:running":
        # the exec'd process outlives its husk, inside the container's cgroup
        assert len(pids) == 2, pids
    else:
        # cloned but never let go: it goes away with its husk (EOF on the
        # sync socket) and never entered the cgroup
        wait_for(lambda: not any(b"sleep\x00999" in _cmdline(p) for p in _all_pids()),
                 timeout=3, what="the half-made exec process to go")
        assert pids == [init], pids
    delete_force(hk, cid)


def _all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


# --------------------------------------------------------------------------
# delete

@faults
@pytest.mark.parametrize("started", [True, False], ids=["running", "created"])
@pytest.mark.parametrize("step", DELETE_STEPS)
def test_fault_in_delete(hk, fault_husk, step, started):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b) if started else hk.create(b)
    pid = hk.state(cid)["pid"]
    cgroups = cgroup_dirs_named(cid)
    assert cgroups
    r = fault_call(hk, fault_husk, step, "delete", "--force", cid)
    assert_killed(r, step)
    # killed after the process went: the container is stopped, still there
    assert not pid_alive(pid)
    assert observe(hk, cid) == "stopped"
    left = cgroup_dirs_named(cid)
    if step == "delete:cgroup-removed":
        assert not left, left
    else:
        assert sorted(left) == sorted(cgroups)
    # a second delete --force (the same fault binary, no fault) finishes the job
    r = fault_call(hk, fault_husk, None, "delete", "--force", cid)
    assert r.rc == 0, str(r)
    assert_gone(hk, cid, [pid])


@faults
def test_fault_in_delete_then_plain_delete(hk, fault_husk):
    """A stopped container half-deleted by a crash goes with a plain delete
    too (runc deletes a stopped container without --force)."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    assert_killed(fault_call(hk, fault_husk, "delete:process-gone", "delete", "--force", cid),
                  "delete:process-gone")
    hk.ok("delete", cid)
    assert_gone(hk, cid, [pid])


@faults
def test_release_build_ignores_fault_steps(hk):
    """The fault hooks are compiled out of the release build: with every
    step named in $HUSK_FAULT, a plain `run` and `delete` finish normally."""
    b = hk.bundle(["sh", "-c", "exit 7"])
    cid = "relfault"
    for step in CREATE_STEPS + DELETE_STEPS:
        r = fault_call(hk, HUSK, step, "run", "--bundle", b.path, cid)
        assert r.rc == 7, f"HUSK_FAULT={step} changed the release build\n{r}"
        assert hk.call("state", cid).rc == 1, f"run left {cid} behind"


# --------------------------------------------------------------------------
# exit codes, for every command

def test_exit_codes_errors_are_1(hk):
    missing = hk.new_id()
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    spec_dir = hk.dir("spec")
    cases = {
        "spec (config.json exists)": ("spec", "--bundle", b.path),
        "create (no bundle)": ("create", "--bundle", hk.work / "nope", hk.new_id()),
        "create (id taken)": ("create", "--bundle", b.path, cid),
        "start (missing)": ("start", missing),
        "start (running)": ("start", cid),
        "run (no bundle)": ("run", "--bundle", hk.work / "nope", hk.new_id()),
        "state (missing)": ("state", missing),
        "kill (missing)": ("kill", missing, "KILL"),
        "kill (bad signal)": ("kill", cid, "NOSUCHSIG"),
        "delete (missing)": ("delete", missing),
        "delete (running, no --force)": ("delete", cid),
        "list (bad format)": ("list", "--format", "yaml"),
        "ps (missing)": ("ps", missing),
        "features (extra argument)": ("features", "extra"),
        "exec (no command given)": ("exec",),
    }
    if not IS_RUNC:  # runc's cli library exits 3 here
        cases["unknown command"] = ("no-such-command",)
    for what, args in cases.items():
        r = hk.call(*args, cwd=spec_dir)
        assert r.rc == 1, f"{what}: {r}"
        assert r.err.strip(), f"{what}: no message\n{r}"
    # nothing above changed the running container
    assert hk.status(cid) == "running"
    assert missing not in hk.list_ids()


def test_exit_codes_success_is_0(hk):
    spec_dir = hk.dir("spec")
    hk.ok("spec", cwd=spec_dir)
    assert (spec_dir / "config.json").exists()
    hk.ok("features")
    hk.ok("list")
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    for args in (("state", cid), ("start", cid), ("ps", cid), ("exec", cid, "true"),
                 ("exec", "-d", cid, "true"), ("kill", cid, "KILL")):
        hk.ok(*args)
    hk.wait_status(cid, "stopped")
    hk.ok("delete", cid)
    hk.run_detached(hk.bundle(["sleep", "1000"]))  # run -d: 0


@pytest.mark.parametrize("code", [0, 1, 3, 126, 255])
def test_exit_codes_run_and_exec_pass_the_status_through(hk, code):
    r = hk.run_fg(hk.bundle(["sh", "-c", f"exit {code}"]))
    assert r.rc == code, str(r)
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = hk.call("exec", cid, "sh", "-c", f"exit {code}")
    assert r.rc == code, str(r)


def test_exit_codes_killed_by_a_signal_is_128_plus(hk):
    # run: the container's pid 1 killed from the host
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    with open(hk.work / "run.out", "wb") as o, open(hk.work / "run.err", "wb") as e:
        p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "run", "--bundle", str(b.path), cid],
                             stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        try:
            hk.wait_status(cid, "running")
            hk.kill(cid, "KILL")
            assert p.wait(timeout=CMD_TIMEOUT) == 137
        finally:
            p.kill()
            p.wait()
    # exec: the process kills itself (it is not the namespace's pid 1)
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = hk.call("exec", cid, "sh", "-c", "kill -KILL $$")
    assert r.rc == 137, str(r)


def test_exit_codes_exec_failure_is_255(hk):
    """An exec that never ran its process exits 255, as runc's."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    stopped = hk.run_detached(hk.bundle(["true"]))
    hk.wait_status(stopped, "stopped")
    for what, args in {
        "missing container": (hk.new_id(), "true"),
        "stopped container": (stopped, "true"),
        "no such program": (cid, "/no/such/program"),
        "bad cwd": ("--cwd", "/no/such/dir", cid, "true"),
    }.items():
        r = hk.call("exec", *args)
        assert r.rc == 255, f"{what}: {r}"
        assert r.err.strip(), f"{what}: no message\n{r}"
