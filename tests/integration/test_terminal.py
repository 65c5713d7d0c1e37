"""process.terminal: a pty made inside the container, given to a console
socket (the protocol of conmon and containerd's shim) or proxied by a
foreground `run`/`exec`."""
import fcntl
import os
import pty
import select
import socket
import struct
import termios
import threading
import time

from conftest import HUSK, STATE_ROOT, wait_for


def _listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(1)
    s.settimeout(10)
    return s


def _recv_master(sock):
    c, _ = sock.accept()
    with c:
        msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
    assert len(fds) == 1, "one fd, the master"
    return msg, fds[0]


def _read_until(fd, needle, timeout=5.0):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen; got {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_console_socket_gets_the_master(hk):
    b = hk.bundle(["sh"], terminal=True, console_size=(24, 80))
    sock_path = hk.work / "console.sock"
    srv = _listen(sock_path)
    cid = hk.new_id()
    got = {}
    t = threading.Thread(target=lambda: got.update(m=_recv_master(srv)))
    t.start()
    hk.ok("create", "--console-socket", sock_path, "--bundle", b.path, cid)
    t.join(10)
    name, master = got["m"]
    try:
        assert hk.status(cid) == "created"
        hk.start(cid)
        os.write(master, b"tty; stty size; echo $((6*7))-done; exit 3\n")
        out = _read_until(master, b"42-done")
        assert b"/dev/pts/0" in out, out
        assert b"24 80" in out, out          # consoleSize
        hk.wait_status(cid, "stopped")
    finally:
        os.close(master)
        srv.close()


def test_dev_console_is_the_pty(hk):
    """As with runc and crun, the container's /dev/console is its terminal:
    conmon's and the shims' users see what is written there."""
    b = hk.bundle(["sh"], terminal=True)
    sock_path = hk.work / "console.sock"
    srv = _listen(sock_path)
    cid = hk.new_id()
    got = {}
    t = threading.Thread(target=lambda: got.update(m=_recv_master(srv)))
    t.start()
    hk.ok("create", "--console-socket", sock_path, "--bundle", b.path, cid)
    t.join(10)
    _name, master = got["m"]
    try:
        hk.start(cid)
        os.write(master, b"ls -l /dev/console; echo via-console >/dev/console; exit 0\n")
        out = _read_until(master, b"via-console\r\n")
        assert b"136," in out, out        # a pty slave (major 136), not a file
        hk.wait_status(cid, "stopped")
    finally:
        os.close(master)
        srv.close()


def test_terminal_needs_a_receiver(hk):
    b = hk.bundle(["sh"], terminal=True)
    for args in (["create"], ["run", "--detach"]):
        cid = hk.new_id()
        r = hk.call(*args, "--bundle", b.path, cid)
        assert r.rc == 1, str(r)
        assert cid not in hk.list_ids()


def _pty_run(argv, script, rows=None, cols=None, timeout=15):
    """Run argv on a pty of ours (as a person at a terminal would) and feed it
    script (a list of (bytes to wait for, bytes to send))."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    out = b""
    try:
        if rows:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        for wait, send in script:
            if wait:
                out += _read_until(fd, wait, timeout)
            if callable(send):
                send(fd, pid)
            elif send:
                os.write(fd, send)
        while True:
            r, _, _ = select.select([fd], [], [], timeout)
            if not r:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_foreground_run_proxies_the_terminal_and_resizes(hk):
    b = hk.bundle(["sh"], terminal=True)
    cid = hk.new_id()

    def resize(fd, pid):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        os.kill(pid, 28)   # SIGWINCH, as the terminal would send

    rc, out = _pty_run(
        [HUSK, "--root", str(STATE_ROOT), "run", "--bundle", str(b.path), cid],
        [(b"# ", b"stty size; tty\n"), (b"/dev/pts/0", resize),
         (None, b"sleep 0.3; stty size; exit 7\n")],
        rows=30, cols=100)
    assert rc == 7, out
    assert b"30 100" in out, out       # the size of our terminal at start
    assert b"50 132" in out, out       # and after the resize
    assert cid not in hk.list_ids()


def test_foreground_run_restores_our_terminal(hk):
    """After husk exits, the terminal it ran on is back in its old mode."""
    b = hk.bundle(["sh", "-c", "exit 0"], terminal=True)
    cid = hk.new_id()
    pid, fd = pty.fork()
    if pid == 0:
        # in the child, stdin is the pty's slave: record its mode around husk
        before = termios.tcgetattr(0)
        r = os.spawnv(os.P_WAIT, HUSK, [HUSK, "--root", str(STATE_ROOT), "run",
                                        "--bundle", str(b.path), cid])
        after = termios.tcgetattr(0)
        os._exit(0 if (r == 0 and before == after) else 1)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_exec_tty(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    rc, out = _pty_run([HUSK, "--root", str(STATE_ROOT), "exec", "-t", cid, "sh"],
                       [(b"# ", b"tty; exit 4\n")])
    assert rc == 4, out
    assert b"/dev/pts/" in out, out
    # without -t there is no terminal, even from a pty
    r = hk.call("exec", cid, "tty")
    assert r.rc != 0 and "not a tty" in r.out


def test_exec_console_socket_detached(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    sock_path = hk.work / "exec-console.sock"
    srv = _listen(sock_path)
    got = {}
    t = threading.Thread(target=lambda: got.update(m=_recv_master(srv)))
    t.start()
    hk.ok("exec", "-t", "-d", "--console-socket", sock_path, cid, "sh")
    t.join(10)
    _, master = got["m"]
    try:
        os.write(master, b"echo in-$((2+3)); tty\n")
        out = _read_until(master, b"/dev/pts/")
        assert b"in-5" in out
    finally:
        os.close(master)
        srv.close()
