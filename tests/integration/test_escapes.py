"""Known container-escape attacks, replayed against the runtime.

Each test mounts the attack of one (class of) CVE and asserts that it fails
and that the host is unchanged.  Tests that try to overwrite the runtime's
own binary never aim at the real one: they run a private copy of $HUSK from
the test's directory (same --root) and check the copy's sha256 afterwards.

CVE-2021-43784 (bounds of the parent/child netlink message of runc) is not
replayed: it needs a malicious child speaking husk's private sync protocol,
which is out of reach from a config or a rootfs.
"""

import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (HUSK, IS_RUNC, STATE_ROOT, bind, make_config, ns_id, runc_default_mounts,
                      tmpfs, wait_for)

from escapehelpers import (call_with, host_mounts_mention, host_path, init_pid, no_dev_mounts,
                            private_runtime, sha256, watched)  # noqa: F401 (fixture)

husk_only = pytest.mark.husk_only



# --------------------------------------------------------------------------
# 1. CVE-2019-5736: overwrite the runtime through /proc/<pid>/exe

# Scans /proc for processes that are not busybox, logs what it may see of
# them, and tries the CVE: keep an fd on the runtime's exe open and write
# through it once nobody runs the binary any more.
SCANNER = r"""
self=$$
i=0
while [ $i -lt $ROUNDS ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$self" ] && continue
    l=$(readlink $d/exe 2>/dev/null)
    if [ -z "$l" ]; then
      [ -e $d/status ] && echo "denied $p" >> /mnt/rw/log
    elif [ "$l" != /bin/busybox ]; then
      echo "seen $p $l" >> /mnt/rw/log
      if [ ! -e /proc/$self/fd/3 ] && { true < $d/exe; } 2>/dev/null; then
        exec 3< $d/exe && echo "opened $p" >> /mnt/rw/log
      fi
    fi
  done
  if [ -e /proc/$self/fd/3 ]; then
    { echo HK-PWNED >> /proc/$self/fd/3; } 2>/dev/null && echo wrote >> /mnt/rw/log
  fi
  i=$((i+1))
  sleep 0.02
done
echo done >> /mnt/rw/log
sleep 1000
"""


def _scanner_bundle(hk, rounds, extra_caps=(), seccomp=None, name=None):
    out = hk.dir(name or "out") if False else hk.dir(f"out-{secrets.token_hex(3)}")
    (out / "log").touch()
    b = hk.bundle(["sh", "-c", SCANNER.replace("$ROUNDS", str(rounds))],
                  extra_mounts=[bind(out, "/mnt/rw")])
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k] += list(extra_caps)
    if seccomp:
        b.config["linux"]["seccomp"] = seccomp
    b.write()
    return b, out / "log"


def _nspid(host_pid):
    """The pid of host_pid in its own (innermost) pid namespace."""
    for line in open(f"/proc/{host_pid}/status"):
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid")


def test_cve_2019_5736_exec_race(hk):
    """Repeated execs while the container hunts for the runtime's exe."""
    rt = private_runtime(hk)
    before = sha256(rt)
    b, log = _scanner_bundle(hk, rounds=150)
    cid = hk.track(hk.new_id())
    rc, out, err = call_with(rt, hk, "run", "--detach", "--bundle", b.path, cid)
    assert rc == 0, err
    for _ in range(8):
        rc, out, err = call_with(rt, hk, "exec", cid, "sleep", "0.3")
        assert rc == 0, err
    wait_for(lambda: "done" in log.read_text(), 15, what="scanner to finish")
    text = log.read_text()
    assert sha256(rt) == before, f"runtime copy overwritten:\n{text}"
    assert "wrote" not in text and "opened" not in text, text
    assert str(rt) not in text, f"the container saw the runtime's exe:\n{text}"


def _blocked_listener(path):
    """A listening socket whose backlog is full: a connect to it blocks."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(0)
    fillers = []
    for _ in range(2):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(str(path))
        except (BlockingIOError, OSError):
            pass
        fillers.append(c)
    return srv, fillers


def _accept_all(srv, keep, stop):
    srv.settimeout(0.2)
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except (socket.timeout, OSError):
            continue
        try:
            c.settimeout(5)
            _msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
            keep.extend(fds)
        except OSError:
            pass
        keep.append(c.detach())


# A container without a user namespace that holds CAP_SYS_PTRACE passes
# ptrace_may_access for a non-dumpable task (the mm's user ns is the init ns,
# where container root then has the cap) and may open /proc/<pid>/exe: what
# it gets must be read-only. husk runs create, run and exec from a detached
# read-only overlay of its binary (src/linux/selfexe.c; test_attack_exe.py).


def _runs_runtime(exe, rt):
    """exe (a readlink of /proc/<pid>/exe) is the runtime under test, or the
    read-only view of it husk runs from ("/husk" in a detached overlay, or a
    memfd copy)."""
    return exe == str(rt) or exe == "/" + rt.name or exe.startswith("/memfd:")


@husk_only  # husk's exec process connects to listenerPath itself (runc's parent does)
@pytest.mark.parametrize("caps", [(), ("CAP_SYS_PTRACE",)], ids=["default-caps", "sys_ptrace"])
def test_cve_2019_5736_stalled_exec(hk, caps):
    """The exec process held inside the container's pid namespace (it blocks
    connecting to a seccomp listener whose backlog is full) while still being
    the runtime binary: the container must not get at its exe, however long
    it tries -- even with CAP_SYS_PTRACE."""
    rt = private_runtime(hk)
    before = sha256(rt)
    sock = hk.work / "agent.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock))
    srv.listen(4)
    keep, stop = [], threading.Event()
    t = threading.Thread(target=_accept_all, args=(srv, keep, stop), daemon=True)
    t.start()
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(sock),
               "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}]}
    b, log = _scanner_bundle(hk, rounds=400, extra_caps=caps, seccomp=seccomp)
    cid = hk.track(hk.new_id())
    execp = None
    fillers = []
    try:
        rc, out, err = call_with(rt, hk, "run", "--detach", "--bundle", b.path, cid)
        assert rc == 0, err
        stop.set()
        t.join(5)
        srv.close()
        os.unlink(sock)
        srv, fillers = _blocked_listener(sock)
        cpid = init_pid(hk, cid)
        pidns = ns_id(cpid, "pid")
        execp = subprocess.Popen([str(rt), "--root", str(STATE_ROOT), "exec", cid, "true"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)

        def stalled():
            for p in os.listdir("/proc"):
                if not p.isdigit() or int(p) in (cpid, execp.pid):
                    continue
                try:
                    exe = os.readlink(f"/proc/{p}/exe")
                    if ns_id(p, "pid") == pidns and _runs_runtime(exe, rt):
                        return int(p)
                except OSError:
                    pass
            return None

        hpid = wait_for(stalled, 10, what="exec process stalled in the container")
        inner = _nspid(hpid)
        # give the scanner several rounds at it
        wait_for(lambda: re.search(rf"^(denied|seen) {inner}\b", log.read_text(), re.M),
                 10, what="scanner to look at the stalled exec process")
        time.sleep(1.0)
        assert stalled() == hpid, "the exec process moved on; the test proves nothing"
    finally:
        if execp:
            execp.kill()
            execp.wait(10)
        srv.close()
        for c in fillers:
            c.close()
        for fd in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    # the runtime binary is no longer running: a held fd could now write
    time.sleep(1.0)
    text = log.read_text()
    assert sha256(rt) == before, f"runtime copy overwritten:\n{text}"
    if caps:
        # it may open the sealed copy, but the runtime's file is out of reach
        assert str(rt) not in text, text
        return
    assert f"denied {inner}" in text, text
    assert "opened" not in text and str(rt) not in text, text


@husk_only  # runc's waiting init is a memfd copy, not the binary: nothing to assert
@pytest.mark.parametrize("caps", [(), ("CAP_SYS_PTRACE",)], ids=["default-caps", "sys_ptrace"])
def test_cve_2019_5736_created_container(hk, caps):
    """A created, not started container's process is the runtime binary until
    start. A second container in its pid namespace must not reach its exe."""
    rt = private_runtime(hk)
    before = sha256(rt)
    b1 = hk.bundle(["sleep", "1000"])
    cid1 = hk.track(hk.new_id())
    rc, _, err = call_with(rt, hk, "create", "--bundle", b1.path, cid1)
    assert rc == 0, err
    pid = init_pid(hk, cid1)
    assert _runs_runtime(os.readlink(f"/proc/{pid}/exe"), rt)
    script = ("readlink /proc/1/exe; echo rl=$?; "
              "if { true < /proc/1/exe; } 2>/dev/null; then exec 3</proc/1/exe; "
              "echo opened; { echo HK-PWNED >> /proc/self/fd/3; } 2>/dev/null && echo wrote; "
              "fi; echo end")
    b2 = hk.bundle(["sh", "-c", script],
                   namespaces=[{"type": "pid", "path": f"/proc/{pid}/ns/pid"},
                               "network", "ipc", "uts", "mount"])
    for k in ("bounding", "effective", "permitted"):
        b2.config["process"]["capabilities"][k] += list(caps)
    b2.write()
    r = hk.run_fg(b2)
    assert r.rc == 0, str(r)
    assert "end" in r.out and "wrote" not in r.out and str(rt) not in r.out, r.out
    if not caps:
        # non-dumpable: without CAP_SYS_PTRACE not even readable
        assert "opened" not in r.out, r.out
    hk.delete(cid1, force=True)
    assert sha256(rt) == before


# --------------------------------------------------------------------------
# 2. CVE-2024-21626: leaked host fds, host cwd

def _marked_rootfs(hk):
    rf = hk.rootfs_copy()
    mark = secrets.token_hex(6)
    (rf / "hk-marker").write_text(mark + "\n")
    return rf, mark


# from the cwd, climb as far as possible: the container's / has the marker,
# the host's does not
CLIMB = ("echo cwd=$(readlink /proc/self/cwd); cd ../../../../../../../../..; "
         "cat hk-marker 2>&1; echo climbed; ")


def test_cve_2024_21626_no_leaked_fds(hk):
    # ls is a child: the fds listed are the shell's, as the runtime left them
    b = hk.bundle(["sh", "-c", "ls -l /proc/$$/fd"])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    fds = {int(l.split(" -> ")[0].split()[-1]) for l in r.out.splitlines() if " -> " in l}
    assert fds == {0, 1, 2}, r.out


@pytest.mark.parametrize("cwd", ["/../../../..", "/../../../../tmp/../.."])
def test_cve_2024_21626_cwd_dotdot(hk, cwd):
    rf, mark = _marked_rootfs(hk)
    b = hk.bundle(["sh", "-c", CLIMB], rootfs=rf, cwd=cwd)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert mark in r.out, r.out


# KNOWN HUSK ESCAPE (CVE-2024-21626 class): with process.cwd /proc/self/fd/5
# the container starts with its cwd in its own state dir on the HOST
# (/run/.../root/<id>), outside its root: `cd ../../..` reaches the host's /.
# src/runtime/child.c: the state dir fd (sp->state_fd) is kept open through
# setup (child_main keep[]), and make_cwd()/drop_privileges() stat/chdir
# p->cwd as a path after pivot_root, where /proc/self/fd/N follows the magic
# link to that host directory; the fd is only closed after start.


@pytest.mark.parametrize("n", [n
                               for n in range(3, 10)])
def test_cve_2024_21626_cwd_proc_self_fd(hk, n, request):
    """process.cwd /proc/self/fd/N: the attack of the CVE (runc leaked a host
    cgroup dir fd into its init). Refused, or a cwd in the container."""
    if IS_RUNC:
        pytest.skip("runc 1.1.5 is vulnerable (CVE-2024-21626)")
    rf, mark = _marked_rootfs(hk)
    b = hk.bundle(["sh", "-c", CLIMB], rootfs=rf, cwd=f"/proc/self/fd/{n}", readonly=False)
    r = hk.run_fg(b)
    if r.rc == 0:
        assert mark in r.out, r.out
    assert not os.path.exists(rf / "proc" / "self"), "cwd made under the rootfs's /proc"


def test_cve_2024_21626_exec_cwd(hk):
    rf, mark = _marked_rootfs(hk)
    cid = hk.run_detached(hk.bundle(["sleep", "1000"], rootfs=rf))
    for cwd in ("/../../..", "/../../../tmp/../..", "/proc/self/fd/3", "/proc/self/fd/7"):
        r = hk.call("exec", "--cwd", cwd, cid, "sh", "-c", CLIMB)
        if cwd.startswith("/proc") and r.rc != 0:
            continue
        assert r.rc == 0, str(r)
        assert mark in r.out, (cwd, r.out)
    r = hk.call("exec", cid, "sh", "-c", "ls /proc/self/fd")
    assert r.rc == 0 and set(r.out.split()) <= {"0", "1", "2", "3"}, str(r)
