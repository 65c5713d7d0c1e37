"""Helpers of the escape tests (test_escapes.py, test_escapes_mounts.py):
a private copy of the runtime, host paths that must not appear."""

import hashlib
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HUSK, IS_RUNC, STATE_ROOT, runc_default_mounts

# --------------------------------------------------------------------------
# helpers

def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def private_runtime(hk):
    """A copy of the runtime under test in the test's own directory."""
    copy = hk.work / ("runc" if IS_RUNC else "husk")
    shutil.copy2(HUSK, copy)
    os.chmod(copy, 0o755)
    return copy


def call_with(runtime, hk, *args, timeout=20):
    """Like hk.call, but with another runtime binary (same state root)."""
    n = secrets.token_hex(3)
    out, err = hk.work / f"priv{n}.out", hk.work / f"priv{n}.err"
    argv = [str(runtime), "--root", str(STATE_ROOT)] + [str(a) for a in args]
    with open(out, "wb") as o, open(err, "wb") as e:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                           timeout=timeout)
    return p.returncode, out.read_text(errors="replace"), err.read_text(errors="replace")


def host_path(tag):
    """A /tmp path nobody has: the target of a planted symlink."""
    return Path(f"/tmp/hk-esc-{secrets.token_hex(5)}-{tag}")


def init_pid(hk, cid):
    return hk.state(cid)["pid"]


def no_dev_mounts():
    return [m for m in runc_default_mounts() if not m["destination"].startswith("/dev")]


def host_mounts_mention(path):
    with open("/proc/self/mountinfo", errors="replace") as f:
        return [l for l in f if str(path) in l]


@pytest.fixture
def watched(request):
    """Host paths that must not appear; removed (if a test failed) after."""
    paths = []
    yield paths
    for p in paths:
        if os.path.lexists(p) and not host_mounts_mention(p):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
