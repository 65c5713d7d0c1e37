"""husk launch -dt and husk attach: a detached container keeps its terminal,
held by launch's console holder, as podman run -dt and podman attach.

The attach client runs on a pseudo-terminal of the test's own (pty.fork),
so it sees what a user at a terminal sees; its window size is the test's to
set. Every call has a timeout; every container is deleted."""
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import HUSK, wait_for
from test_launch import INIT, Launcher

pytestmark = pytest.mark.husk_only


@pytest.fixture
def launch(hk):
    if not os.access(INIT, os.X_OK):
        pytest.skip(f"{INIT} not built")
    return Launcher(hk)


class Attached:
    """husk attach NAME on a pty of the test's."""

    def __init__(self, launch, name, *opts, rows=30, cols=100):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(HUSK, [HUSK, "attach", "--data-dir", str(launch.data), *opts, name])
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = b""
        self.deadline = time.monotonic() + 30

    def read_until(self, want, timeout=10):
        end = time.monotonic() + timeout
        while want not in self.out and time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        assert want in self.out, f"{want!r} not in {self.out!r}"

    def type(self, data):
        os.write(self.fd, data)

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)

    def wait(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                try:
                    while True:
                        r, _, _ = select.select([self.fd], [], [], 0.05)
                        if not r:
                            break
                        self.out += os.read(self.fd, 4096)
                except OSError:
                    pass
                os.close(self.fd)
                return os.waitstatus_to_exitcode(st)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"husk attach did not end: {self.out!r}")


SCRIPT = ("echo ready; tty; while read line; do "
          "case $line in size) stty size ;; quit) echo bye; exit 7 ;; "
          "*) echo got $line ;; esac; done")


def test_dt_attach_type_detach_reattach_and_end(launch, rootfs):
    hk = launch.hk
    r = launch.ok("-dt", rootfs, "sh", "-c", SCRIPT)
    name = launch.last
    assert r.out.strip() == name
    try:
        a = Attached(launch, name)
        a.type(b"hello\r")
        a.read_until(b"got hello")
        # the window of the attaching terminal, and its changes
        a.type(b"size\r")
        a.read_until(b"30 100")
        a.resize(40, 120)
        time.sleep(0.3)
        a.type(b"size\r")
        a.read_until(b"40 120")
        # Ctrl-P Ctrl-Q: detached, the container runs on
        a.type(b"\x10\x11")
        assert a.wait() == 0
        assert hk.status(name) == "running"
        # again, with keys of one's own; a Ctrl-P alone goes through
        b = Attached(launch, name, "--detach-keys", "ctrl-x,q")
        b.type(b"again\r")
        b.read_until(b"got again")
        b.type(b"quit\r")
        b.read_until(b"bye")
        assert b.wait() == 0  # the terminal closed: attach ends
        wait_for(lambda: hk.status(name) == "stopped", what="the program to end")
        log = (launch.data / name / "output.log").read_bytes()
        for want in (b"ready", b"/dev/pts/0", b"got hello", b"got again", b"bye"):
            assert want in log, log
        # the holder is gone with the terminal, and its socket with it
        wait_for(lambda: not (launch.data / name / "attach.sock").exists(),
                 what="attach.sock to go")
        assert not (launch.data / name / "console.sock").exists()
        r = hk.call("attach", "--data-dir", launch.data, name)
        assert r.rc == 1 and "no terminal to attach to" in r.err, str(r)
    finally:
        hk.call("delete", "--force", name)
    assert launch.entries() == []


def test_dt_with_rm_deletes_itself(launch, rootfs):
    hk = launch.hk
    launch.ok("-dt", "--rm", rootfs, "sh", "-c", "read line; echo $line")
    name = launch.last
    a = Attached(launch, name)
    a.type(b"bye\r")
    a.read_until(b"bye")
    assert a.wait() == 0
    wait_for(lambda: name not in hk.list_ids(), timeout=10, what="the --rm monitor")
    wait_for(lambda: launch.entries() == [], what="the layer to go")


def test_attach_without_a_terminal(launch, rootfs):
    hk = launch.hk
    launch.ok("-d", rootfs, "sleep", "100")
    name = launch.last
    try:
        r = hk.call("attach", "--data-dir", launch.data, name)
        assert r.rc == 1 and "no terminal to attach to" in r.err, str(r)
        assert len(r.err.strip().splitlines()) == 1, str(r)
    finally:
        hk.call("delete", "--force", name)
    r = hk.call("attach", "--data-dir", launch.data, "nosuch")
    assert r.rc == 1 and "no such container" in r.err, str(r)
    for bad in ("../x", ".userns", ""):
        r = hk.call("attach", "--data-dir", launch.data, bad)
        assert r.rc == 1 and "not a container name" in r.err, str(r)
    r = hk.call("attach", "--detach-keys", "ctrl-1", "x")
    assert r.rc == 1 and "detach-keys" in r.err, str(r)


def test_attach_with_input_from_a_pipe(launch, rootfs):
    """No terminal on attach's side: input until its end, output until the
    container's terminal closes."""
    hk = launch.hk
    launch.ok("-dt", rootfs, "sh", "-c", "read a; read b; echo $b $a")
    name = launch.last
    try:
        time.sleep(0.3)
        p = subprocess.run([HUSK, "attach", "--data-dir", str(launch.data), name],
                           input=b"one\ntwo\n", capture_output=True, timeout=20)
        assert p.returncode == 0 and b"two one" in p.stdout, p
    finally:
        hk.call("delete", "--force", name)


def test_clients_leaving_during_output_never_hurt_the_holder(launch, rootfs):
    """Outside attack: a client that left while the program streamed output
    was dropped twice, the holder's count wrapped and it crashed, taking
    the terminal (and the program) with it. Twenty clients come and go
    while one stays; the program and the one that stays keep going."""
    hk = launch.hk
    launch.ok("-dt", rootfs, "sh", "-c", "i=0; while :; do echo line $i; i=$((i+1)); done")
    name = launch.last
    stay = subprocess.Popen([HUSK, "attach", "--no-stdin", "--data-dir", str(launch.data), name],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        fcntl.fcntl(stay.stdout, fcntl.F_SETFL, os.O_NONBLOCK)
        for _ in range(20):
            p = subprocess.Popen([HUSK, "attach", "--no-stdin", "--data-dir", str(launch.data),
                                  name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.05)
            p.kill()
            p.wait(10)
            assert hk.status(name) == "running"
        got = b""
        end = time.monotonic() + 5
        while len(got) < 1000 and time.monotonic() < end:
            r, _, _ = select.select([stay.stdout], [], [], 0.2)
            if r:
                got += os.read(stay.stdout.fileno(), 65536) or b""
        assert b"line" in got, got[:200]
        assert hk.status(name) == "running"
    finally:
        stay.kill()
        stay.wait(10)
        hk.call("delete", "--force", name)


def test_a_ninth_client_is_told_why(launch, rootfs):
    hk = launch.hk
    launch.ok("-dt", rootfs, "sleep", "1000")
    name = launch.last
    clients = []
    try:
        for _ in range(8):
            clients.append(subprocess.Popen(
                [HUSK, "attach", "--no-stdin", "--data-dir", str(launch.data), name],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        r = hk.call("attach", "--no-stdin", "--data-dir", launch.data, name)
        assert r.rc == 1 and "8 clients are attached already" in r.err, str(r)
        clients.pop().kill()
        time.sleep(0.3)
        p = subprocess.Popen([HUSK, "attach", "--no-stdin", "--data-dir", str(launch.data), name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        assert p.poll() is None, p.stderr.read()  # a free slot again: attached
        clients.append(p)
    finally:
        for c in clients:
            c.kill()
            c.wait(10)
        hk.call("delete", "--force", name)
