"""systemd's protocols through husk, as runc does them: socket activation
(LISTEN_FDS passed into the container) and NOTIFY_SOCKET (the container's
READY=1 reaches the outer socket, and only after start)."""
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HUSK, STATE_ROOT, bind

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sdnotify(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdnotify") / "sdnotify"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(out), str(REPO / "tests/data/sdnotify.c")],
                   check=True, timeout=60)
    return out


def _husk(*args, env=None):
    # stderr to a file, not a pipe: a created container inherits it and
    # would hold a pipe open.
    with tempfile.TemporaryFile() as err:
        p = subprocess.run([HUSK, "--root", str(STATE_ROOT)] + [str(a) for a in args],
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, timeout=30)
        err.seek(0)
        p.stderr = err.read().decode(errors="replace")
    return p


def test_listen_fds_reach_the_container(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID > /mnt/rw/env; "
                   "echo through-fd3 >&3; ls /proc/self/fd > /mnt/rw/fds"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    target = hk.work / "fd3.txt"
    env = dict(os.environ, LISTEN_FDS="1")
    # fd 3 of husk is what systemd would have passed, LISTEN_PID husk's pid
    r = subprocess.run(["sh", "-c", f'exec 3>"{target}"; export LISTEN_PID=$$; exec "$0" "$@"', HUSK,
                        "--root", str(STATE_ROOT), "run", "--bundle", str(b.path), cid],
                       env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 0
    assert (out / "env").read_text() == "1 1\n"     # LISTEN_PID is the process's own pid
    assert target.read_text() == "through-fd3\n"
    assert set((out / "fds").read_text().split()) >= {"0", "1", "2", "3"}


def test_listen_fds_for_another_pid_are_ignored(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "echo \"[$LISTEN_FDS]\" > /mnt/rw/env"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")   # not husk's pid
    r = _husk("run", "--bundle", b.path, hk.new_id(), env=env)
    assert r.returncode == 0, r.stderr
    assert (out / "env").read_text() == "[]\n"


# runc 1.1.5's start did not return within 30 s in this setup.
@pytest.mark.husk_only
def test_notify_socket_ready_after_start(hk, sdnotify):
    rootfs = hk.rootfs_copy()
    b = hk.bundle(["sh", "-c", "sleep 0.3; /sbin/sdnotify; sleep 1000"], rootfs=rootfs,
                  extra_mounts=[bind(sdnotify, "/sbin/sdnotify", "ro")])
    path = hk.work / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(path))
    srv.settimeout(10)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=str(path))
        cid = hk.track(hk.new_id())
        r = _husk("create", "--bundle", b.path, cid, env=env)
        assert r.returncode == 0, r.stderr
        pid = hk.state(cid)["pid"]
        t0 = time.monotonic()
        r = _husk("start", cid, env=env)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        # start returned only once the program said READY=1 (it sleeps first)
        assert took >= 0.25, took
        msg = srv.recv(4096).decode()
        assert "READY=1" in msg and f"MAINPID={pid}" in msg, msg
        assert hk.status(cid) == "running"
    finally:
        srv.close()


@pytest.mark.husk_only  # runc 1.1.5 returns 0 here
def test_notify_socket_container_dies_before_ready(hk):
    # the notify mount point is made in the rootfs: a copy of our own
    b = hk.bundle(["sh", "-c", "exit 3"], rootfs=hk.rootfs_copy())
    path = hk.work / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(path))
    try:
        env = dict(os.environ, NOTIFY_SOCKET=str(path))
        cid = hk.track(hk.new_id())
        assert _husk("create", "--bundle", b.path, cid, env=env).returncode == 0
        r = _husk("start", cid, env=env)
        assert r.returncode == 1
        assert "READY" in r.stderr
    finally:
        srv.close()


def test_listen_fds_without_listen_pid_are_ignored(hk):
    """sd_listen_fds(3) takes the fds only with LISTEN_PID naming the
    process: without it, husk passed whatever its caller had open at fd 3
    (here a host directory: a way out of the container), as runc does not."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "echo \"[$LISTEN_FDS]\" > /mnt/rw/env; "
                   "ls /proc/self/fd/3/ > /mnt/rw/fd3 2>&1; true"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    env = {k: v for k, v in os.environ.items() if k != "LISTEN_PID"}
    env["LISTEN_FDS"] = "1"
    r = subprocess.run(["sh", "-c", 'exec 3</etc; exec "$0" "$@"', HUSK, "--root",
                        str(STATE_ROOT), "run", "--bundle", str(b.path), hk.new_id()],
                       env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert (out / "env").read_text() == "[]\n"
    assert "passwd" not in (out / "fd3").read_text()
