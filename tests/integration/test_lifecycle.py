"""create / start / run / kill / delete and their exit codes."""

import os
import signal
import subprocess
import time

import pytest

from conftest import (CMD_TIMEOUT, HUSK, STATE_ROOT, bind, pid_alive, wait_for)

# Waits (in pid 1, which ignores signals it has no handler for) until the
# host creates <dir>/go, with a marker on each side of the wait.
WAIT_FOR_GO = ("touch /mnt/rw/started; "
               "while [ ! -e /mnt/rw/go ]; do sleep 0.02; done; "
               "touch /mnt/rw/done")


def test_create_does_not_run_the_program_until_start(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", WAIT_FOR_GO], extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.create(b)

    st = hk.state(cid)
    assert st["status"] == "created"
    assert (STATE_ROOT / cid).is_dir(), "state not kept under --root"
    pid = st["pid"]
    assert pid > 0 and pid_alive(pid)
    time.sleep(0.2)  # give a wrongly started program the chance to show
    assert not (out / "started").exists(), "program ran before start"
    assert hk.status(cid) == "created"
    # the waiting process is the runtime's, not yet the user's program
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    assert cmdline[:2] != [b"sh", b"-c"]

    hk.start(cid)
    wait_for(lambda: (out / "started").exists(), what="program to start")
    assert hk.status(cid) == "running"
    assert hk.state(cid)["pid"] == pid, "start must exec in the created process"
    # the started program is the one created: same pid, now the user's args
    assert open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[:2] == [b"sh", b"-c"]

    (out / "go").touch()
    wait_for(lambda: (out / "done").exists(), what="program to finish")
    hk.wait_status(cid, "stopped")
    assert not pid_alive(pid)
    assert cid in hk.list_ids()

    hk.delete(cid)
    assert cid not in hk.list_ids()
    assert hk.call("state", cid).rc != 0


@pytest.mark.parametrize("code", [0, 7, 255])
def test_run_exits_with_container_status(hk, code):
    b = hk.bundle(["sh", "-c", f"echo hello; exit {code}"])
    cid = hk.new_id()
    r = hk.run_fg(b, cid)
    assert r.rc == code, str(r)
    assert r.out == "hello\n"
    # without --keep, run deletes the container once it has exited
    assert cid not in hk.list_ids()


def test_run_keep_leaves_the_stopped_container(hk):
    """runc 1.1's run --keep (issue 16 A13): the container stays, stopped,
    for state and delete; its cgroup goes with the delete. create has no
    such flag (runc: "flag provided but not defined")."""
    b = hk.bundle(["sh", "-c", "echo kept; exit 3"])
    cid = hk.new_id()
    r = hk.call("run", "--keep", "--bundle", b.path, cid)
    assert r.rc == 3 and r.out == "kept\n", str(r)
    assert cid in hk.list_ids()
    assert hk.state(cid)["status"] == "stopped"
    hk.delete(cid)
    assert cid not in hk.list_ids()
    # refused by create, and nothing made
    cid = hk.new_id()
    r = hk.call("create", "--keep", "--bundle", b.path, cid)
    assert r.rc != 0, str(r)
    assert cid not in hk.list_ids()


def test_run_passes_stdout_and_stderr(hk):
    b = hk.bundle(["sh", "-c", "echo to-out; echo to-err >&2"])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out == "to-out\n"
    assert "to-err\n" in r.err


def test_run_killed_from_outside_exits_128_plus_signal(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/started; exec sleep 1000"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    with open(out / "run.out", "wb") as o:
        p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "run", "--bundle",
                              str(b.path), cid], stdin=subprocess.DEVNULL,
                             stdout=o, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: (out / "started").exists(), what="container start")
            assert hk.status(cid) == "running"
            hk.kill(cid, "KILL")
            rc = p.wait(timeout=CMD_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=CMD_TIMEOUT)
    assert rc == 128 + 9


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP])
def test_signals_to_foreground_run_reach_the_container(hk, sig):
    """run forwards the signals it gets to the container's process and exits
    with its status."""
    out = hk.dir("out")
    name = signal.Signals(sig).name[3:]
    b = hk.bundle(["sh", "-c", f"trap 'echo {name} > /mnt/rw/got; exit 5' {name}; "
                   "touch /mnt/rw/started; while :; do sleep 0.05; done"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "run", "--bundle", str(b.path), cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (out / "started").exists(), what="container start")
        p.send_signal(sig)
        rc = p.wait(timeout=CMD_TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=CMD_TIMEOUT)
    assert rc == 5
    assert (out / "got").read_text() == f"{name}\n"


def test_run_killed_by_own_signal_exits_128_plus_signal(hk):
    # Without a pid namespace the shell is not a pid 1 and dies of SIGTERM.
    ns = [n for n in ("network", "ipc", "uts", "mount")]
    b = hk.bundle(["sh", "-c", "kill -TERM $$; sleep 5"], namespaces=ns)
    r = hk.run_fg(b)
    assert r.rc == 128 + 15, str(r)


def test_run_detach_returns_at_once(hk):
    b = hk.bundle(["sleep", "1000"])
    t = time.monotonic()
    cid = hk.run_detached(b)
    assert time.monotonic() - t < 5
    st = hk.state(cid)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    assert open(f"/proc/{st['pid']}/cmdline", "rb").read() == b"sleep\x001000\x00"


TRAP_SCRIPT = ("trap 'echo TERM > /mnt/rw/sig; exit 0' TERM; "
               "trap 'echo USR1 > /mnt/rw/sig; exit 0' USR1; "
               "touch /mnt/rw/ready; sleep 1000 & wait")


@pytest.mark.parametrize("sig,expect", [
    ((), "TERM"),
    (("TERM",), "TERM"),
    (("SIGTERM",), "TERM"),
    (("15",), "TERM"),
    (("USR1",), "USR1"),
    (("SIGUSR1",), "USR1"),
], ids=["default", "TERM", "SIGTERM", "15", "USR1", "SIGUSR1"])
def test_kill_delivers_signal(hk, sig, expect):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", TRAP_SCRIPT], extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "ready").exists(), what="trap to be set")
    hk.kill(cid, *sig)
    # The trap's echo creates the file before it writes: wait for the line.
    sig = out / "sig"
    wait_for(lambda: sig.exists() and sig.read_text().endswith("\n"),
             what="signal to arrive")
    assert sig.read_text() == expect + "\n"
    hk.wait_status(cid, "stopped")


def test_kill_KILL_stops_container(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    wait_for(lambda: not pid_alive(pid), what="pid to die")


def test_kill_unknown_signal_fails(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    r = hk.call("kill", cid, "NOSUCHSIG")
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "running"


def _marked_pids(cid_marker):
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit() and pid_alive(p):
            try:
                env = open(f"/proc/{p}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            if cid_marker.encode() in env:
                pids.append(int(p))
    return pids


def test_kill_all_reaches_every_process(hk):
    # No pid namespace: killing pid 1 alone would leave its children alive,
    # so only --all gets them.
    marker = f"HK_KILL_ALL={os.urandom(4).hex()}"
    b = hk.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"],
                  namespaces=("network", "ipc", "uts", "mount"),
                  env=["PATH=/bin", marker])
    cid = hk.run_detached(b)
    wait_for(lambda: len(_marked_pids(marker)) == 3, what="3 processes")
    hk.ok("kill", "--all", cid, "KILL")
    wait_for(lambda: not _marked_pids(marker), what="all processes to die")
    hk.wait_status(cid, "stopped")


def test_start_twice_fails(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", WAIT_FOR_GO], extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.create(b)
    hk.start(cid)
    wait_for(lambda: (out / "started").exists(), what="program to start")
    r = hk.call("start", cid)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "running"
    (out / "go").touch()
    hk.wait_status(cid, "stopped")
    r = hk.call("start", cid)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "stopped"


def test_delete_running_needs_force(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    r = hk.call("delete", cid)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "running" and pid_alive(pid)
    hk.delete(cid, force=True)
    assert cid not in hk.list_ids()
    wait_for(lambda: not pid_alive(pid), what="pid to die")


def test_delete_force_created_container(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", WAIT_FOR_GO], extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.create(b)
    pid = hk.state(cid)["pid"]
    hk.delete(cid, force=True)
    assert cid not in hk.list_ids()
    wait_for(lambda: not pid_alive(pid), what="pid to die")
    assert not (out / "started").exists()


def test_delete_stopped_container(hk):
    b = hk.bundle(["true"])
    cid = hk.create(b)
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    hk.delete(cid)
    assert cid not in hk.list_ids()
    assert not (STATE_ROOT / cid).exists()


def test_delete_force_of_unknown_container_succeeds(hk):
    """runc's rule, which containerd's shim relies on (it deletes --force
    once more after a delete): --force on what is gone is no error; without
    --force it is."""
    cid = hk.new_id()
    assert hk.call("delete", "--force", cid).rc == 0
    r = hk.call("delete", cid)
    assert r.rc == 1 and "does not exist" in r.err, str(r)


def test_create_existing_id_fails_and_keeps_original(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    pid = hk.state(cid)["pid"]
    b2 = hk.bundle(["sleep", "1000"])
    _, r = hk.create(b2, cid, check=False)
    assert r.rc != 0, str(r)
    st = hk.state(cid)
    assert st["status"] == "created" and st["pid"] == pid
    assert st["bundle"] == str(b.path)
    assert pid_alive(pid)
    hk.start(cid)
    assert hk.status(cid) == "running"


def test_run_existing_id_fails(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    r = hk.run_fg(hk.bundle(["true"]), cid)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "running"


@pytest.mark.parametrize("how", ["create", "run-detach"])
def test_pid_file(hk, how):
    b = hk.bundle(["sleep", "1000"])
    pidfile = hk.work / "pidfile"
    if how == "create":
        cid = hk.create(b, None, "--pid-file", pidfile)
    else:
        cid = hk.run_detached(b, None, "--pid-file", pidfile)
    pid = int(pidfile.read_text().strip())
    assert pid == hk.state(cid)["pid"]
    assert pid_alive(pid)


# Every command husk implements; each must print its usage and exit 0.
COMMANDS = ["create", "start", "run", "state", "kill", "delete", "list"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(hk, cmd):
    r = hk.call(cmd, "--help")
    assert r.rc == 0, str(r)
    assert cmd in r.out


def test_global_help_and_version(hk):
    r = hk.call("--help", root=False)
    assert r.rc == 0, str(r)
    for cmd in COMMANDS:
        assert cmd in r.out
    r = hk.call("--version", root=False)
    assert r.rc == 0, str(r)
    assert r.out.strip()


def test_kill_all_reaches_what_outlives_a_stopped_container(hk):
    """Without a pid namespace of its own, the first process's children
    outlive it. containerd's shim then runs `kill --all <id> 9`: as with
    runc, that signals what is left in the cgroup, though the container is
    stopped. A plain kill of a stopped container stays an error."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "sleep 1000 & echo $! > /mnt/rw/pid"],
                  namespaces=("network", "ipc", "uts", "mount"),
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.create(b)
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    pid = int(wait_for(lambda: (out / "pid").exists() and (out / "pid").read_text().strip(),
                       what="the pid of sleep"))
    assert pid_alive(pid)
    r = hk.call("kill", cid, "KILL")
    assert r.rc == 1 and "stopped" in r.err, str(r)
    hk.ok("kill", "--all", cid, "KILL")
    wait_for(lambda: not pid_alive(pid), what="the left-over sleep to die")
    hk.ok("kill", "--all", cid, "KILL")       # nothing left: still no error
    hk.delete(cid)


def test_a_container_with_megabytes_of_annotations_stays_reachable(hk):
    """state.json holds the config's annotations: with 2 MB of them it was
    written, but read back with a 1 MiB bound, so `state` failed and
    `delete -f` removed the state and left the process running and its
    cgroups behind (outside attack, round 13). husk now reads back any
    state a config it accepts can make, and never writes one it could not
    read."""
    b = hk.bundle(["sleep", "1000"])
    b.config["annotations"] = {"a%06d" % i: "x" * 8 for i in range(120000)}
    b.write()
    cid = hk.run_detached(b)
    try:
        st = hk.state(cid)
        assert st["status"] == "running"
        pid = st["pid"]
        assert pid_alive(pid)
        assert len(st.get("annotations", {})) == 120000
    finally:
        r = hk.call("delete", "-f", cid, timeout=60)
    assert r.rc == 0, r.err
    wait_for(lambda: not pid_alive(pid), what="the container's process gone")
