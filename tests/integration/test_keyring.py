"""The container's session keyring (linux/keyring.h), as runc makes it:
each container gets `_ses.<id>`, so a key of its caller's session keyring
(or of another container's) is not possessed inside; exec joins the
container's keyring; --no-new-keyring keeps the caller's. Seen from inside
with tests/integration/keyprobe.c (static); the caller is a process with a
fresh session keyring of its own holding a secret key, so nothing of the
machine's keyrings is touched. Runs under runc too (HUSK=runc)."""
import ctypes
import os
import re
import secrets
import time
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CMD_TIMEOUT, HUSK, IS_RUNC, REPO, STATE_ROOT, Result
from test_userns import USERNS, set_maps

PROBE = next((p for p in (Path(HUSK).resolve().parent / "tests" / "keyprobe",
                          REPO / "build" / "tests" / "keyprobe") if p.exists()),
             REPO / "build" / "tests" / "keyprobe")
SYS_ADD_KEY, SYS_KEYCTL = 248, 250  # x86-64
KEYCTL_JOIN_SESSION_KEYRING, KEY_SPEC_SESSION_KEYRING = 1, -3


def _with_secret(name):
    """preexec_fn: a new anonymous session keyring with a user key `name`."""
    def pre():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        if libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
            raise OSError(ctypes.get_errno(), "join a session keyring")
        if libc.syscall(SYS_ADD_KEY, b"user", name.encode(), b"s3cret", 6,
                        ctypes.c_long(KEY_SPEC_SESSION_KEYRING)) < 0:
            raise OSError(ctypes.get_errno(), "add_key")
    return pre


def _call(secret, *args, detach=False):
    """husk from a caller holding the secret; a detached container keeps
    its stdio, so its output goes nowhere (no pipe to wait on)."""
    argv = [HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    out = subprocess.DEVNULL if detach else subprocess.PIPE
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, text=True,
                       timeout=CMD_TIMEOUT, preexec_fn=_with_secret(secret))
    return Result(argv, p.returncode, p.stdout or "", p.stderr or "")


def _named(session, cid):
    """husk's `_ses.<id>.<16 hex>` (runc's `_ses.<id>`)."""
    return re.search(rf";_ses\.{re.escape(cid)}(\.[0-9a-f]{{16}})?$", session) is not None


def _probe(out):
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return lines.get("session", ""), lines.get("search", "")


@pytest.fixture
def kb(hk):
    """Bundles running the probe, from a rootfs copy that holds it."""
    rootfs = hk.rootfs_copy("rootfs-keys")
    shutil.copyfile(PROBE, rootfs / "keyprobe")
    os.chmod(rootfs / "keyprobe", 0o755)

    def make(args, namespaces=None):
        b = hk.bundle(["/keyprobe", *args], rootfs=rootfs,
                      **({"namespaces": namespaces} if namespaces else {}))
        return b
    return make


def test_container_has_a_keyring_of_its_own(hk, kb):
    secret = f"hk-secret-{secrets.token_hex(4)}"
    cid = hk.new_id()
    r = _call(secret, "run", "--bundle", kb([secret]).path, cid)
    assert r.rc == 0, str(r)
    session, search = _probe(r.out)
    assert _named(session, cid), r.out
    assert session.split(";")[3] == "3f1b0000", r.out   # searchable by its owner
    assert search != "found", r.out                      # the caller's key stays outside


def test_a_long_id_gets_its_keyring(hk):
    """An id of 240 characters, which runc takes: the session keyring's
    description is longer than the 256 bytes husk read it into, so the
    kernel copied nothing and husk refused the id, quoting stack bytes
    (outside attack, round 18, F4)."""
    cid = "k" * 240
    r = hk.call("run", "--bundle", hk.bundle(["true"]).path, cid)
    assert r.rc == 0, str(r)


def test_no_new_keyring_keeps_the_callers(hk, kb):
    secret = f"hk-secret-{secrets.token_hex(4)}"
    r = _call(secret, "run", "--no-new-keyring", "--bundle", kb([secret]).path, hk.new_id())
    assert r.rc == 0, str(r)
    session, search = _probe(r.out)
    assert "_ses." not in session and search == "found", r.out


def test_exec_joins_the_containers_keyring(hk, kb):
    secret = f"hk-secret-{secrets.token_hex(4)}"
    b = kb([])
    b.config["process"]["args"] = ["sleep", "1000"]
    b.write()
    cid = hk.new_id()
    r = _call(secret, "run", "--detach", "--bundle", b.path, cid, detach=True)
    assert r.rc == 0, str(r)
    r = _call(secret, "exec", cid, "/keyprobe", secret)
    assert r.rc == 0, str(r)
    session, search = _probe(r.out)
    assert _named(session, cid) and search != "found", r.out
    first = hk.state(cid)  # noqa: F841 (the container runs on)
    other = hk.new_id()
    r2 = _call(secret, "run", "--bundle", kb([]).path, other)
    assert r2.rc == 0 and _named(_probe(r2.out)[0], other), str(r2)


def test_user_namespace_keyring_searchable_by_others(hk, kb, traversable):
    """runc's rule: with a user namespace, `other` search instead of the
    owner's (an exec'd process is checked against an owner outside it)."""
    b = kb([], namespaces=USERNS)
    set_maps(b.config)
    b.write()
    traversable(b.config["root"]["path"])
    cid = hk.new_id()
    r = _call("unused", "run", "--bundle", b.path, cid)
    assert r.rc == 0, str(r)
    session, _ = _probe(r.out)
    assert session.split(";")[3] == "3f130008" and _named(session, cid), r.out


PLANTER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
os.setgid(65534); os.setuid(65534)
ring = libc.syscall(248, b"keyring", sys.argv[1].encode(), None, 0, ctypes.c_long(-4))
assert ring > 0, ctypes.get_errno()
assert libc.syscall(250, 5, ctypes.c_long(ring), ctypes.c_ulong(0x3f3f3f3f)) == 0
assert libc.syscall(248, b"user", b"planted", b"x", 1, ctypes.c_long(ring)) > 0
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.husk_only
def test_keyring_planted_by_another_user_is_not_joined(hk, kb):
    """A local user (here nobody) who makes `_ses.<id>` first, searchable
    by all, got it joined by runc's container, and the container's keys
    (outside attack, second round; runc 1.1.5 joins it): husk's name has a
    random part the user cannot know."""
    cid = hk.new_id()
    planter = subprocess.Popen(["/usr/bin/python3", "-c", PLANTER, f"_ses.{cid}"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert planter.stdout.readline().strip() == "ready"
        r = _call("unused", "run", "--bundle", kb(["planted"]).path, cid)
        assert r.rc == 0, str(r)
        session, search = _probe(r.out)
        assert session.split(";")[1] == "0" and search != "found", r.out
    finally:
        planter.kill()
        planter.wait()
