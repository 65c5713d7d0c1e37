"""linux.seccomp: rules, argument conditions, the filter on exec too, and
SCMP_ACT_NOTIFY with a listener written here (the notify fd and the
container process state arrive over listenerPath)."""
import json
import os
import socket
import struct
import threading

import fcntl
import pytest

from conftest import bind

EPERM, EACCES = 1, 13


def _profile(rules, default="SCMP_ACT_ALLOW", **extra):
    p = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
         "syscalls": rules}
    p.update(extra)
    return p


def _bundle(hk, script, profile, nnp=True):
    b = hk.bundle(["sh", "-c", script], readonly=False, rootfs=hk.rootfs_copy())
    b.config["linux"]["seccomp"] = profile
    b.config["process"]["noNewPrivileges"] = nnp
    b.write()
    return b


MKDIR_DENIED = [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM}]


@pytest.mark.parametrize("nnp", [True, False])
def test_rule_denies_mkdir(hk, nnp):
    b = _bundle(hk, "mkdir /tmp/x 2>&1; echo rc=$?; grep ^Seccomp: /proc/self/status",
                _profile(MKDIR_DENIED), nnp=nnp)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert "Operation not permitted" in r.out and "rc=1" in r.out, r.out
    assert "Seccomp:\t2" in r.out      # filter mode, seen from inside


def test_filter_applies_to_exec_too(hk):
    b = _bundle(hk, "sleep 1000", _profile(MKDIR_DENIED))
    cid = hk.run_detached(b)
    r = hk.call("exec", cid, "sh", "-c", "mkdir /tmp/y 2>&1; echo rc=$?")
    assert "rc=1" in r.out and "Operation not permitted" in r.out, str(r)
    pid = hk.state(cid)["pid"]
    assert "Seccomp:\t2" in open(f"/proc/{pid}/status").read()   # and from outside


def test_argument_conditions(hk):
    # busybox `mkdir -m M` is mkdir(path, 0777) then chmod(path, M): deny the
    # chmod to 0700 only (chmod's arg 1; fchmodat's arg 2 masked)
    rules = [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES,
              "args": [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]},
             {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES,
              "args": [{"index": 2, "value": 0o777, "valueTwo": 0o700,
                        "op": "SCMP_CMP_MASKED_EQ"}]}]
    b = _bundle(hk, "mkdir -m 700 /tmp/a 2>&1; echo a=$?; mkdir -m 755 /tmp/b; echo b=$?",
                _profile(rules))
    r = hk.run_fg(b)
    assert "a=1" in r.out and "Permission denied" in r.out and "b=0" in r.out, r.out


def test_default_errno(hk):
    # everything is allowed but what the rule names; the default errno is used
    b = _bundle(hk, "mkdir /tmp/q 2>&1; echo rc=$?",
                _profile([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]))
    r = hk.run_fg(b)
    assert "rc=1" in r.out and "Operation not permitted" in r.out, r.out


# struct seccomp_notif (80 bytes) and seccomp_notif_resp (24) of linux/seccomp.h
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101


def _agent(sock, got):
    conn, _ = sock.accept()
    with conn:
        msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
        got["state"] = json.loads(msg)
        notify_fd = fds[0]
        got["fd_kind"] = os.readlink(f"/proc/self/fd/{notify_fd}")
        buf = bytearray(80)
        fcntl.ioctl(notify_fd, NOTIF_RECV, buf)
        nid, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
        got["nr"] = nr
        # answer: fail with EACCES
        fcntl.ioctl(notify_fd, NOTIF_SEND, struct.pack("=QqiI", nid, 0, -EACCES, 0))
        os.close(notify_fd)


def test_notify_listener(hk):
    path = hk.work / "agent.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(15)
    got = {}
    t = threading.Thread(target=_agent, args=(srv, got), daemon=True)
    t.start()
    profile = _profile([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
                       listenerPath=str(path), listenerMetadata="agent-meta")
    b = _bundle(hk, "mkdir /tmp/z 2>&1; echo rc=$?", profile)
    b.config["annotations"] = {"org.example": "x"}
    b.write()
    try:
        r = hk.run_fg(b)
        t.join(15)
    finally:
        srv.close()
    assert "rc=1" in r.out and "Permission denied" in r.out, str(r)
    st = got["state"]
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "agent-meta"
    assert st["state"]["annotations"] == {"org.example": "x"}
    assert st["pid"] > 0 and st["state"]["pid"] == st["pid"]
    assert "seccomp notify" in got["fd_kind"]
    assert got["nr"] in (83, 258)      # mkdir or mkdirat on x86_64


@pytest.mark.husk_only
@pytest.mark.parametrize("profile,field", [
    (_profile([], default="SCMP_ACT_NOPE"), "linux.seccomp.defaultAction"),
    (_profile([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]), "linux.seccomp.listenerPath"),
    (_profile([], flags=["SECCOMP_FILTER_FLAG_NOPE"]), "linux.seccomp.flags[0]"),
    (_profile([{"names": [], "action": "SCMP_ACT_ERRNO"}]), "linux.seccomp.syscalls[0].names"),
    (_profile([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
     "linux.seccomp.syscalls[0].args[0].index"),
])
def test_bad_profiles(hk, profile, field):
    b = _bundle(hk, "true", profile)
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and field in r.err, r.err
    assert cid not in hk.list_ids()
