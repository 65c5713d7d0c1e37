"""The container's session keyring (linux/keyring.h), as runc makes it:
each container gets `_ses.<id>`, so a key of its caller's session keyring
(or of another container's) is not possessed inside; exec joins the
container's keyring; --no-new-keyring keeps the caller's. Seen from inside
with tests/integration/keyprobe.c (static); the caller is a process with a
fresh session keyring of its own holding a secret key, so nothing of the
machine's keyrings is touched. Runs under runc too (HUSK=runc)."""
import ctypes
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CMD_TIMEOUT, HUSK, REPO, STATE_ROOT, Result
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
    assert session.endswith(f";_ses.{cid}"), r.out
    assert session.split(";")[3] == "3f1b0000", r.out   # searchable by its owner
    assert search != "found", r.out                      # the caller's key stays outside


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
    assert session.endswith(f";_ses.{cid}") and search != "found", r.out
    other = hk.new_id()
    r2 = _call(secret, "run", "--bundle", kb([]).path, other)
    assert r2.rc == 0 and _probe(r2.out)[0].endswith(f";_ses.{other}"), str(r2)


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
    assert session.split(";")[3] == "3f130008" and session.endswith(f"_ses.{cid}"), r.out
