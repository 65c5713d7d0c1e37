"""Concurrent husk calls on one container id: the state lock and the atomic
state writes must leave exactly one winner and a consistent state."""
import json
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import HUSK, STATE_ROOT, pid_alive, wait_for

N = 8


def _parallel(argvs, timeout=30):
    # stderr to a file, not a pipe: a created container inherits husk's
    # stdio and would hold a pipe open until it exits.
    def one(argv):
        with tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, timeout=timeout)
            err.seek(0)
            return p.returncode, err.read().decode(errors="replace")
    with ThreadPoolExecutor(max_workers=len(argvs)) as ex:
        return list(ex.map(one, argvs))


def _husk(*args):
    return [HUSK, "--root", str(STATE_ROOT)] + [str(a) for a in args]


@pytest.mark.husk_only
def test_parallel_create_same_id_one_wins(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    results = _parallel([_husk("create", "--bundle", b.path, cid)] * N)
    rcs = [rc for rc, _ in results]
    assert rcs.count(0) == 1, results
    for rc, err in results:
        if rc:
            assert len(err.strip().splitlines()) == 1, err
            assert "already exists" in err, err
    st = hk.state(cid)
    assert st["status"] == "created" and pid_alive(st["pid"])
    assert hk.list_ids().count(cid) == 1


def test_parallel_start_same_id_one_wins(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    results = _parallel([_husk("start", cid)] * N)
    assert [rc for rc, _ in results].count(0) == 1, results
    assert hk.status(cid) == "running"


def test_parallel_state_during_delete_is_consistent(hk):
    """state/list racing a delete --force see the container whole or not at
    all: never a parse error of a half-written state.json."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.run_detached(b)
    argvs = [_husk("delete", "--force", cid)] + [_husk("state", cid)] * (N - 1)
    for rc, err in _parallel(argvs):
        if rc:
            assert "does not exist" in err or "container" in err, err
    wait_for(lambda: cid not in hk.list_ids(), what="container to go")
    r = hk.call("list", "--format", "json")
    assert r.rc == 0
    assert cid not in [c["id"] for c in (json.loads(r.out) or [])]


def test_parallel_distinct_containers(hk):
    b = hk.bundle(["true"])
    ids = [hk.new_id() for _ in range(N)]
    results = _parallel([_husk("run", "--bundle", b.path, i) for i in ids], timeout=60)
    assert all(rc == 0 for rc, _ in results), results
    assert not set(ids) & set(hk.list_ids())
