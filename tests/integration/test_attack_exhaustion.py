"""Resource exhaustion: a container (or a peer of husk's) that floods, forks
or stops answering must not make husk unresponsive, and afterwards
`delete --force` must still remove everything.

- a fork bomb under a pids limit: state, ps, exec, kill and delete answer;
- a program flooding its terminal while nobody reads husk's stdout (run and
  exec in the foreground, proxying the pty): husk still forwards signals and
  ends with the program; runc 1.1.5 hangs there for good;
- a program left holding the terminal after exec's process is gone: exec
  returns (it used to spin);
- a program writing to a pipe nobody reads, without a terminal (runc 1.1.5's
  run does not return after the program is killed);
- a console socket whose peer never accepts (create fails after a bounded
  wait, and holds up nothing else meanwhile) or never reads (create works).
"""

import os
import pty
import socket
import subprocess
import threading
import time

import pytest

from conftest import HUSK, IS_RUNC, STATE_ROOT, wait_for
from test_faults import assert_gone, our_processes

husk_only = pytest.mark.husk_only


def _husk(*args):
    return [HUSK, "--root", str(STATE_ROOT)] + [str(a) for a in args]


def _timed(hk, *args, limit=5.0):
    t = time.monotonic()
    r = hk.call(*args, timeout=limit + 10)
    took = time.monotonic() - t
    assert took < limit, f"{args} took {took:.1f} s"
    return r


def _pids_current(cid):
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        for root, dirs, _files in os.walk(base):
            if os.path.basename(root) == cid and os.path.exists(f"{root}/pids.current"):
                return int(open(f"{root}/pids.current").read())
            if root.count("/") > base.count("/") + 5:
                dirs[:] = []
    return None


# --------------------------------------------------------------------------
# fork bomb

def test_fork_bomb_under_pids_limit(hk):
    b = hk.bundle(["sh", "-c", "f() { f | f & }; f; sleep 1000"])
    b.config["linux"]["resources"]["pids"] = {"limit": 40}
    b.write()
    cid = hk.run_detached(b)
    wait_for(lambda: (_pids_current(cid) or 0) >= 38, 10, what="the bomb to reach the limit")
    time.sleep(0.5)
    assert _timed(hk, "state", cid).rc == 0
    assert _timed(hk, "ps", cid).rc == 0
    assert _timed(hk, "list").rc == 0
    # may fail (no pid left for it) but must answer
    _timed(hk, "exec", cid, "true", limit=10)
    pids = our_processes(hk)
    assert _timed(hk, "kill", "--all", cid, "KILL").rc == 0
    r = _timed(hk, "delete", "--force", cid, limit=10)
    assert r.rc == 0, str(r)
    assert_gone(hk, cid, pids)


# --------------------------------------------------------------------------
# terminal floods

def _flood_on_unread_pty(argv):
    """Run argv with a pty as its stdio that nobody reads."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
    finally:
        os.close(slave)
    return p, master


@husk_only  # runc 1.1.5 blocks writing to its stdout for good
@pytest.mark.parametrize("how", ["run", "exec"])
def test_terminal_flood_nobody_reads(hk, how):
    b = hk.bundle(["yes"] if how == "run" else ["sleep", "1000"])
    b.config["process"]["terminal"] = how == "run"
    b.write()
    cid = hk.new_id()
    if how == "run":
        argv = _husk("run", "--bundle", b.path, cid)
    else:
        hk.run_detached(b, cid)
        argv = _husk("exec", "-t", cid, "yes")
    p, master = _flood_on_unread_pty(argv)
    try:
        time.sleep(1.5)  # the pty and husk's stdout are full by now
        assert p.poll() is None, "husk gave up before it was asked"
        if how == "run":
            assert _timed(hk, "kill", cid, "KILL").rc == 0
        else:
            # the flood's own process: signals reach it through husk
            p.send_signal(15)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"husk {how} hung on a terminal nobody reads")
        assert rc in (137, 143), rc
    finally:
        os.close(master)
    hk.call("delete", "--force", cid)


@husk_only
def test_exec_terminal_kept_by_a_background_process(hk):
    """exec's process leaves a child holding the pty: exec still returns
    when its own process is gone (no busy loop on an empty pty)."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(HUSK, _husk("exec", "-t", cid, "sh", "-c", "sleep 30 & echo started"))
    out = b""
    t = time.monotonic()
    try:
        while time.monotonic() - t < 10:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"started" in out:
                break
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"exec -t did not return after its process ended: {out!r}")
        assert os.WEXITSTATUS(status) == 0, (status, out)
    finally:
        os.close(fd)


@husk_only  # runc 1.1.5's run does not return after the kill (seen here)
def test_stdout_pipe_nobody_reads_without_terminal(hk):
    b = hk.bundle(["yes"])
    cid = hk.new_id()
    r_fd, w_fd = os.pipe()
    try:
        p = subprocess.Popen(_husk("run", "--bundle", b.path, cid), stdin=subprocess.DEVNULL,
                             stdout=w_fd, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(w_fd)
        w_fd = -1
        time.sleep(1.0)
        assert _timed(hk, "state", cid).rc == 0
        assert _timed(hk, "kill", cid, "KILL").rc == 0
        assert p.wait(10) == 137
    finally:
        os.close(r_fd)
        if w_fd >= 0:
            os.close(w_fd)


# --------------------------------------------------------------------------
# console sockets

def _listener(path, backlog_full):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(0)
    fillers = []
    if backlog_full:
        for _ in range(3):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(str(path))
            except OSError:
                pass
            fillers.append(c)
    return srv, fillers


@husk_only  # runc 1.1.5 waits for the peer for good
def test_console_socket_peer_never_accepts(hk):
    sock = hk.work / "console.sock"
    srv, fillers = _listener(sock, backlog_full=True)
    b = hk.bundle(["sleep", "1000"])
    b.config["process"]["terminal"] = True
    b.write()
    cid = hk.new_id()
    other = hk.bundle(["sleep", "1000"])
    try:
        res = {}
        t = threading.Thread(target=lambda: res.setdefault(
            "r", hk.call("create", "--bundle", b.path, "--console-socket", sock, cid,
                         timeout=30)))
        started = time.monotonic()
        t.start()
        time.sleep(1.0)
        # meanwhile, nothing else waits for it
        _timed(hk, "state", cid, limit=2)
        assert _timed(hk, "list", limit=2).rc == 0
        ocid = hk.create(other)
        assert _timed(hk, "delete", "--force", ocid, limit=3).rc == 0
        t.join(30)
        r = res["r"]
        took = time.monotonic() - started
        assert r.rc == 1 and "accepted no connection" in r.err, str(r)
        assert str(sock) in r.err, str(r)
        assert took < 20, took
        assert hk.call("state", cid).rc == 1  # nothing was made
    finally:
        srv.close()
        for c in fillers:
            c.close()


def test_console_socket_peer_never_reads(hk):
    sock = hk.work / "console.sock"
    srv, _ = _listener(sock, backlog_full=False)
    kept = []
    t = threading.Thread(target=lambda: kept.append(srv.accept()[0]), daemon=True)
    t.start()
    b = hk.bundle(["sleep", "1000"])
    b.config["process"]["terminal"] = True
    b.write()
    try:
        r = _timed(hk, "create", "--bundle", b.path, "--console-socket", sock,
                   hk.new_id(), limit=10)
        assert r.rc == 0, str(r)
    finally:
        t.join(5)
        for c in kept:
            c.close()
        srv.close()
