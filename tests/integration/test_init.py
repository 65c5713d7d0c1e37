"""husk-init (build/husk-init, or $HUSK_INIT): a static PID 1 that forwards
signals, reaps zombies and exits with its child's status.  In containers it
is bound in read-only at /sbin/husk-init, the way a bundle would use it;
on the host it runs directly and acts as a child subreaper."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CMD_TIMEOUT, HUSK, REPO, STATE_ROOT, bind, pid_alive, tmpfs, wait_for

HUSK_INIT = os.environ.get("HUSK_INIT") or str(REPO / "build" / "husk-init")
INIT = "/sbin/husk-init"


@pytest.fixture(scope="module", autouse=True)
def husk_init_built():
    assert os.access(HUSK_INIT, os.X_OK), \
        f"husk-init not executable: {HUSK_INIT} (make build/husk-init, or set HUSK_INIT=)"


def test_version():
    """dockerd runs its init binary with --version when it starts."""
    r = subprocess.run([HUSK_INIT, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("husk-init version "), r


def init_mounts():
    # A tmpfs on the (empty) /sbin takes the bind's mount point, so the
    # runtime never has to create a file in the shared read-only rootfs.
    return [tmpfs("/sbin", "nosuid", "nodev", "size=64k", "mode=755"),
            {"destination": INIT, "type": "bind", "source": HUSK_INIT,
             "options": ["bind", "ro"]}]


def bundle(hk, args, out=None, init=True, init_flags=()):
    """A bundle running args, under husk-init when init is true, with
    /mnt/rw bound to the host dir out."""
    mounts = init_mounts() if init else []
    if out is not None:
        mounts.append(bind(out, "/mnt/rw"))
    argv = [INIT, *init_flags, "--", *args] if init else list(args)
    return hk.bundle(argv, extra_mounts=mounts)


def wait_line(path, what):
    """A file the container writes with echo: created before it is written."""
    wait_for(lambda: path.exists() and path.read_text().endswith("\n"), what=what)
    return path.read_text()


def proc_stat(pid):
    """(state, ppid, pgid) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2])


# --------------------------------------------------------------------------
# signals

READY_THEN_SLEEP = "touch /mnt/rw/ready; exec sleep 1000"


def test_pid1_without_init_ignores_term(hk):
    # The kernel drops signals a pid namespace's init has no handler for,
    # so a program that relies on SIGTERM's default action survives it.
    out = hk.dir("out")
    cid = hk.run_detached(bundle(hk, ["sh", "-c", READY_THEN_SLEEP], out, init=False))
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    pid = hk.state(cid)["pid"]
    hk.kill(cid, "TERM")
    time.sleep(0.5)
    assert hk.status(cid) == "running"
    assert pid_alive(pid)


def test_init_forwards_term_and_exits_143(hk):
    # The same program under husk-init is not pid 1 and dies of SIGTERM at once.
    out = hk.dir("out")
    b = bundle(hk, ["sh", "-c", READY_THEN_SLEEP], out)
    cid = hk.new_id()
    with open(out / "run.out", "wb") as o:
        p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "run", "--bundle",
                              str(b.path), cid], stdin=subprocess.DEVNULL,
                             stdout=o, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: (out / "ready").exists(), what="container to be ready")
            t = time.monotonic()
            hk.kill(cid, "TERM")
            rc = p.wait(timeout=CMD_TIMEOUT)
            took = time.monotonic() - t
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=CMD_TIMEOUT)
    assert rc == 128 + 15, (out / "run.out").read_text()
    assert took < 3, f"container took {took:.1f}s to stop"


# Both scripts trap USR1, write which process got it, and wait in the
# background; the child also starts the grandchild (same process group).
GRANDCHILD = """trap 'echo grandchild > /mnt/rw/grandchild; exit 0' USR1
touch /mnt/rw/gc-ready
sleep 1000 & wait
"""
CHILD = """trap 'echo child > /mnt/rw/child; wait; exit 0' USR1
sh /mnt/rw/grandchild.sh &
touch /mnt/rw/ready
sleep 1000 & wait
"""


def _start_family(hk, init_flags):
    out = hk.dir("out")
    (out / "grandchild.sh").write_text(GRANDCHILD)
    (out / "child.sh").write_text(CHILD)
    cid = hk.run_detached(bundle(hk, ["sh", "/mnt/rw/child.sh"], out, init_flags=init_flags))
    wait_for(lambda: (out / "ready").exists() and (out / "gc-ready").exists(),
             what="child and grandchild to set their traps")
    return cid, out


def test_init_g_signals_the_process_group(hk):
    cid, out = _start_family(hk, ["-g"])
    init_pid = hk.state(cid)["pid"]
    kids = [int(p) for p in Path(f"/proc/{init_pid}/task/{init_pid}/children").read_text().split()]
    assert len(kids) == 1
    # the child leads a process group of its own
    assert proc_stat(kids[0])[2] == kids[0] != proc_stat(init_pid)[2]
    hk.kill(cid, "USR1")
    assert wait_line(out / "child", "child to get USR1") == "child\n"
    assert wait_line(out / "grandchild", "grandchild to get USR1") == "grandchild\n"
    hk.wait_status(cid, "stopped")


def test_init_without_g_signals_only_the_child(hk):
    cid, out = _start_family(hk, [])
    hk.kill(cid, "USR1")
    assert wait_line(out / "child", "child to get USR1") == "child\n"
    time.sleep(0.3)
    assert not (out / "grandchild").exists()
    assert hk.status(cid) == "running"  # the child's trap waits for the grandchild
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")


# --------------------------------------------------------------------------
# zombies

# Two double-forks leave orphans. A background counter lets them exit once
# the shell has exec'd `sleep` (which never waits, so only pid 1 can reap
# them; a shell might reap them while it waits for something else), waits
# until they have exited, gives pid 1 a moment to reap them, and lists the
# zombies it sees in the pid namespace.
ORPHANS = """orphan='while [ ! -e /mnt/rw/go ]; do sleep 0.02; done'
(sh -c "$orphan" & echo $! >> /mnt/rw/orphans)
(sh -c "$orphan" & echo $! >> /mnt/rw/orphans)
(
  while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.02; done
  touch /mnt/rw/go
  for p in $(cat /mnt/rw/orphans); do
    while [ -e /proc/$p ] && ! grep -q ') Z ' /proc/$p/stat 2>/dev/null; do sleep 0.02; done
  done
  sleep 0.3
  grep -h ') Z ' /proc/[0-9]*/stat > /mnt/rw/zombies.tmp 2>/dev/null
  mv /mnt/rw/zombies.tmp /mnt/rw/zombies
) &
exec sleep 1000
"""


def _zombies(hk, init):
    out = hk.dir("out")
    cid = hk.run_detached(bundle(hk, ["sh", "-c", ORPHANS], out, init=init))
    wait_for(lambda: (out / "zombies").exists(), what="zombie count")
    assert len((out / "orphans").read_text().split()) == 2
    zombies = (out / "zombies").read_text().splitlines()
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    return zombies


def test_without_init_orphans_stay_zombies(hk):
    # The baseline: with a pid 1 that never calls wait, both orphans remain
    # zombies whose parent is pid 1.
    zombies = _zombies(hk, init=False)
    assert len(zombies) == 2, zombies
    for z in zombies:
        _pid, rest = z.split(" (", 1)
        comm, rest = rest.rsplit(") ", 1)
        assert comm == "sh" and rest.split()[:2] == ["Z", "1"], z


def test_init_reaps_orphans(hk):
    assert _zombies(hk, init=True) == []


# --------------------------------------------------------------------------
# exit status

@pytest.mark.parametrize("script,rc", [
    ("exit 0", 0),
    ("exit 7", 7),
    ("exit 255", 255),
    ("kill -TERM $$", 128 + 15),
    ("kill -KILL $$", 128 + 9),
], ids=["0", "7", "255", "TERM", "KILL"])
def test_init_exits_with_child_status(hk, script, rc):
    r = hk.run_fg(bundle(hk, ["sh", "-c", f"echo hello; {script}"]))
    assert r.rc == rc, str(r)
    assert r.out == "hello\n"


def test_init_passes_arguments_and_options_through(hk):
    # options after the command are the command's, not husk-init's
    r = hk.run_fg(bundle(hk, ["echo", "-g", "a b", "--", "-h"]))
    assert r.rc == 0, str(r)
    assert r.out == "-g a b -- -h\n"


@pytest.mark.parametrize("cmd,rc,reason", [
    ("/nonexistent", 127, "No such file or directory"),
    ("no-such-command", 127, "No such file or directory"),
    ("/etc/passwd", 126, "Permission denied"),
], ids=["missing", "not-on-path", "not-executable"])
def test_init_exec_failure(hk, cmd, rc, reason):
    r = hk.run_fg(bundle(hk, [cmd]))
    assert r.rc == rc, str(r)
    assert f"husk-init: exec {cmd}: {reason}\n" in r.err


# --------------------------------------------------------------------------
# on the host: not pid 1, so a subreaper

def _host_init(*args, timeout=10):
    return subprocess.run([HUSK_INIT, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def test_host_exit_status_and_usage():
    assert _host_init("--", "sh", "-c", "exit 7").returncode == 7
    assert _host_init("sh", "-c", "kill -TERM $$").returncode == 128 + 15
    r = _host_init("/nonexistent")
    assert r.returncode == 127
    assert r.stderr == "husk-init: exec /nonexistent: No such file or directory\n"
    r = _host_init()
    assert r.returncode == 1
    assert r.stderr.startswith("husk-init: no command given")
    assert len(r.stderr.splitlines()) == 1
    r = _host_init("-x", "true")
    assert r.returncode == 1
    assert r.stderr.startswith("husk-init: unknown option -x")
    r = _host_init("-h")
    assert r.returncode == 0 and r.stdout.startswith("usage: husk-init")


def test_host_init_is_a_subreaper(tmp_path):
    # The orphan is reparented to husk-init (not the host's init), and is
    # reaped by it: no zombie child of husk-init remains.
    script = f"""
(sh -c 'while [ ! -e {tmp_path}/go ]; do sleep 0.02; done' & echo $! > {tmp_path}/orphan)
read p < {tmp_path}/orphan
awk '/^PPid:/ {{print $2}}' /proc/$p/status > {tmp_path}/orphan-ppid
touch {tmp_path}/go
while [ -e /proc/$p ] && ! grep -q ') Z ' /proc/$p/stat 2>/dev/null; do sleep 0.02; done
sleep 0.3
[ -e /proc/$p ] && echo "still there: $(cat /proc/$p/stat)"
echo "init $PPID"
"""
    r = _host_init("--", "sh", "-c", script)
    assert r.returncode == 0, r
    init_pid = int(r.stdout.split()[-1])
    assert r.stdout == f"init {init_pid}\n", r.stdout
    assert int((tmp_path / "orphan-ppid").read_text()) == init_pid


def test_host_forwards_signals(tmp_path):
    ready = tmp_path / "ready"
    p = subprocess.Popen([HUSK_INIT, "--", "sh", "-c",
                          f"sleep 1000 & trap 'kill $!; echo got TERM; exit 3' TERM; "
                          f"touch {ready}; wait"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        wait_for(ready.exists, what="trap to be set")
        p.send_signal(15)
        out, _ = p.communicate(timeout=10)
    finally:
        # whatever went wrong, leave nothing of the session behind
        try:
            os.killpg(p.pid, 9)
        except ProcessLookupError:
            pass
        p.wait()
    assert p.returncode == 3
    assert out == "got TERM\n"


@pytest.mark.parametrize("sig", [34])
def test_host_forwards_the_signals_libc_reserves(tmp_path, sig):
    """Ninth outside attack, F1: built with musl, husk-init left 32 to 34
    unblocked (musl keeps them for itself): 34 (SIGRTMIN under glibc)
    killed husk-init (128+34) and orphaned CMD, and as PID 1 it was
    dropped. It reaches CMD again, as with the glibc build (32 and 33 are
    glibc's own and reach neither build's CMD: dash cannot trap them)."""
    ready = tmp_path / "ready"
    p = subprocess.Popen([HUSK_INIT, "--", "sh", "-c",
                          f"trap 'echo got {sig}; exit 5' {sig}; touch {ready}; "
                          f"while :; do sleep 0.05; done"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        wait_for(ready.exists, what="trap to be set")
        p.send_signal(sig)
        out, _ = p.communicate(timeout=10)
    finally:
        try:
            os.killpg(p.pid, 9)
        except ProcessLookupError:
            pass
        p.wait()
    assert (p.returncode, out) == (5, f"got {sig}\n")


def test_init_g_on_a_terminal_gives_cmd_the_foreground(hk):
    """With -g on a terminal, CMD's own group is the terminal's foreground
    (or a read would stop it with SIGTTIN): tpgid == pgid == CMD's pid."""
    from test_terminal import _pty_run
    script = ("set -- $(cat /proc/self/stat | sed 's/.*) //'); "
              "echo \"pg=$3 tpg=$6 me=$$\"; exit 5")
    b = hk.bundle([INIT, "-g", "--", "sh", "-c", script], terminal=True,
                  extra_mounts=init_mounts())
    rc, out = _pty_run([HUSK, "--root", str(STATE_ROOT), "run", "--bundle", str(b.path),
                        hk.new_id()], [])
    assert rc == 5, out
    m = re.search(rb"pg=(\d+) tpg=(\d+)", out)
    assert m and m.group(1) == m.group(2), out


def test_init_escapes_the_command_it_cannot_run():
    """Fifth outside attack, F5: an image's command with terminal escapes
    (a title, a screen clear, C1, a bidi override) was printed raw."""
    bad = "/nonexist\x1b]0;PWN\x07\x1b[2J\u009b\u202e"
    r = subprocess.run([HUSK_INIT, "--", bad], capture_output=True, timeout=10)
    assert r.returncode == 127, r
    assert b"husk-init: exec /nonexist" in r.stderr, r.stderr
    assert not any(b < 0x20 or b >= 0x7f for b in r.stderr.rstrip(b"\n")), r.stderr
