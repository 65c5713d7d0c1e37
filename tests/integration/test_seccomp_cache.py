"""The compiled seccomp filter cache (linux/seccomp-cache.h): a profile is
compiled once and its program found again on the next create and exec,
and the cache is only trusted for exactly what husk wrote there: a
permissive program planted under a profile's name, by a name collision or
as a file that is not husk's own, is never loaded. The container side
checks that the filter holds each time."""
import os
import re
import secrets
import shutil
import stat
from pathlib import Path

import pytest

from test_seccomp import _bundle, _profile, MKDIR_DENIED

pytestmark = pytest.mark.husk_only

CACHE = Path("/run/husk-seccomp")
DENIED = "mkdir /tmp/x 2>&1; echo rc=$?"


def _unique(rules):
    """The same filter, a profile of its own: a syscall name no kernel has
    (skipped when compiling) is still part of the key."""
    return rules + [{"names": [f"hk_test_{secrets.token_hex(6)}"], "action": "SCMP_ACT_ERRNO"}]


def _run(hk, b, *, denied=True):
    r = hk.call("--debug", "run", "--bundle", b.path, hk.new_id())
    assert r.rc == 0, str(r)
    if denied:
        assert "rc=1" in r.out and "Operation not permitted" in r.out, r.out
    else:
        assert "rc=0" in r.out, r.out
    return r


def _source(r):
    """("compiled" or "cache", the file's path) from husk's --debug."""
    m = re.findall(r"seccomp: \d+ instructions, (compiled|from the cache) \((\w+\.bpf)\)", r.err)
    assert len(m) == 1, r.err
    return ("cache" if m[0][0] != "compiled" else "compiled"), CACHE / m[0][1]


@pytest.fixture
def cached(hk):
    """A profile denying mkdir, run once: its bundle and cache file."""
    b = _bundle(hk, DENIED, _profile(_unique(MKDIR_DENIED)))
    how, path = _source(_run(hk, b))
    assert how == "compiled" and path.is_file()
    yield b, path
    path.unlink(missing_ok=True)


def test_second_run_and_exec_use_the_cache(hk, cached):
    b, path = cached
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    assert stat.S_IMODE(os.stat(CACHE).st_mode) == 0o700
    assert _source(_run(hk, b)) == ("cache", path)
    # exec takes the container's filter from the same cache
    b.config["process"]["args"] = ["sleep", "1000"]
    b.write()
    cid = hk.run_detached(b)
    r = hk.call("--debug", "exec", cid, "sh", "-c", DENIED)
    assert "rc=1" in r.out and "Operation not permitted" in r.out, str(r)
    assert _source(r) == ("cache", path)


def test_another_profiles_program_is_not_loaded(hk):
    """A program that allows mkdir, put where a denying profile's name
    points (as a name collision would), from a profile whose key has the
    very same length: the key inside differs, so the denying profile is
    compiled again and mkdir stays denied."""
    token = secrets.token_hex(6)

    def profile(action):
        return _profile([{"names": ["mkdir", "mkdirat"], "action": action},
                         {"names": [f"hk_test_{token}"], "action": "SCMP_ACT_ERRNO"}])
    deny = _bundle(hk, DENIED, profile("SCMP_ACT_ERRNO"))
    allow = _bundle(hk, DENIED, profile("SCMP_ACT_LOG"))
    _, deny_file = _source(_run(hk, deny))
    _, allow_file = _source(_run(hk, allow, denied=False))
    try:
        assert deny_file.stat().st_size == allow_file.stat().st_size
        shutil.copyfile(allow_file, deny_file)
        assert _source(_run(hk, deny)) == ("compiled", deny_file)
    finally:
        allow_file.unlink(missing_ok=True)
        deny_file.unlink(missing_ok=True)


def test_file_others_can_write_is_not_loaded(hk, cached):
    b, path = cached
    os.chmod(path, 0o666)
    assert _source(_run(hk, b))[0] == "compiled"


def test_cache_directory_of_others_is_not_used(hk):
    """A /run/husk-seccomp that others can write is left alone: compiled
    each time, nothing written there."""
    keep = Path(f"/run/husk-seccomp.kept-{secrets.token_hex(4)}")
    had = CACHE.exists()
    if had:
        os.rename(CACHE, keep)
    try:
        CACHE.mkdir()
        os.chmod(CACHE, 0o777)
        b = _bundle(hk, DENIED, _profile(_unique(MKDIR_DENIED)))
        assert _source(_run(hk, b))[0] == "compiled"
        assert _source(_run(hk, b))[0] == "compiled"
        assert os.listdir(CACHE) == []
    finally:
        shutil.rmtree(CACHE)
        if had:
            os.rename(keep, CACHE)
