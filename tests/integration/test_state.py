"""`state` and `list` output."""

import json
import os
import fcntl
import re
import subprocess
import time

import pytest

from conftest import CMD_TIMEOUT, HUSK, STATE_ROOT, pid_alive

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
LIST_COLUMNS = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]


def test_state_json_of_created_container(hk):
    b = hk.bundle(["sleep", "1000"],
                  annotations={"org.example.hk": "yes", "k2": "v 2"})
    cid = hk.create(b)
    st = hk.state(cid)
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and pid_alive(st["pid"])
    assert st["bundle"] == str(b.path)
    assert os.path.isabs(st["bundle"])
    assert st["annotations"] == {"org.example.hk": "yes", "k2": "v 2"}

    hk.start(cid)
    st = hk.state(cid)
    assert st["status"] == "running"
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    st = hk.state(cid)
    assert st["id"] == cid and st["bundle"] == str(b.path)


def test_state_bundle_is_absolute_when_given_relative(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path.name, cid, cwd=b.path.parent)
    assert r.rc == 0, str(r)
    assert hk.state(cid)["bundle"] == str(b.path)


def test_state_bundle_defaults_to_cwd(hk):
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id()
    r = hk.call("create", cid, cwd=b.path)
    assert r.rc == 0, str(r)
    assert hk.state(cid)["bundle"] == str(b.path)


def test_state_of_unknown_container_fails(hk):
    r = hk.call("state", hk.new_id())
    assert r.rc != 0, str(r)
    assert r.out.strip() == ""


def _two_containers(hk):
    b1 = hk.bundle(["sleep", "1000"])
    c1 = hk.create(b1)
    b2 = hk.bundle(["sleep", "1000"])
    c2 = hk.run_detached(b2)
    return {c1: ("created", b1, hk.state(c1)["pid"]),
            c2: ("running", b2, hk.state(c2)["pid"])}


def test_list_table(hk):
    want = _two_containers(hk)
    lines = hk.ok("list").out.splitlines()
    assert lines[0].split() == LIST_COLUMNS
    rows = {}
    for line in lines[1:]:
        cols = line.split()
        assert len(cols) == 6, line
        rows[cols[0]] = cols
    assert set(rows) == set(want)
    for cid, (status, b, pid) in want.items():
        _, rpid, rstatus, rbundle, created, owner = rows[cid]
        assert (int(rpid), rstatus, rbundle) == (pid, status, str(b.path))
        assert RFC3339.match(created), created
        assert owner == "root"
    # columns line up under the header (tabwriter-style padding)
    for name in LIST_COLUMNS:
        col = lines[0].index(name)
        for line in lines[1:]:
            assert line[col] != " " and (col == 0 or line[col - 1] == " "), (name, line)


def test_list_empty_prints_header_only(hk):
    assert os.listdir(STATE_ROOT) == []
    lines = hk.ok("list").out.splitlines()
    assert [l.split() for l in lines] == [LIST_COLUMNS]
    assert hk.ok("list", "-q").out == ""
    assert json.loads(hk.ok("list", "--format", "json").out) in (None, [])


def test_list_quiet(hk):
    want = _two_containers(hk)
    out = hk.ok("list", "-q").out
    assert sorted(out.splitlines()) == sorted(want)
    assert hk.ok("list", "--quiet").out == out


def test_list_json(hk):
    want = _two_containers(hk)
    for flags in (["--format", "json"], ["-f", "json"]):
        data = json.loads(hk.ok("list", *flags).out)
        assert isinstance(data, list)
        got = {}
        for entry in data:
            for k in ("id", "pid", "status", "bundle", "created", "owner"):
                assert k in entry, (k, entry)
            got[entry["id"]] = entry
        assert set(got) == set(want)
        for cid, (status, b, pid) in want.items():
            e = got[cid]
            assert (e["pid"], e["status"], e["bundle"]) == (pid, status, str(b.path))
            assert RFC3339.match(e["created"]), e["created"]
            assert e["owner"] == "root"


def test_list_shows_stopped(hk):
    b = hk.bundle(["true"])
    cid = hk.create(b)
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    data = json.loads(hk.ok("list", "--format", "json").out)
    assert [(e["id"], e["status"]) for e in data] == [(cid, "stopped")]


def _to_full_disk(*args):
    with open("/dev/full", "wb") as full:
        return subprocess.run([HUSK, "--root", str(STATE_ROOT), *args], stdin=subprocess.DEVNULL,
                              stdout=full, stderr=subprocess.PIPE, timeout=CMD_TIMEOUT)


def test_a_list_that_cannot_be_written_fails(hk):
    """stdout on a full disk: list and list --format json exit 1 and say
    why, as runc does ("write /dev/stdout: no space left on device"); husk
    said nothing and exited 0 (outside attack, round 17, F1)."""
    hk.create(hk.bundle(["sleep", "1000"]))
    for args in (["list"], ["list", "--format", "json"]):
        r = _to_full_disk(*args)
        assert r.returncode == 1, (args, r)
        assert b"no space left on device" in r.stderr.lower(), (args, r.stderr)


@pytest.mark.husk_only
def test_a_state_that_cannot_be_written_fails(hk):
    """The same for state, where runc 1.1.5 exits 0 having written nothing
    (README: Differences from runc)."""
    r = _to_full_disk("state", hk.create(hk.bundle(["sleep", "1000"])))
    assert r.returncode == 1, r
    assert b"write standard output: no space left on device" in r.stderr.lower(), r.stderr


def test_a_list_to_a_full_non_blocking_pipe_waits_for_its_reader(hk):
    """An event-loop parent's pipe: non-blocking and full when list writes.
    list waits for the reader, as runc does, and the reader gets all of it;
    husk's stdio gave up on EAGAIN (outside attack, round 18, F2)."""
    hk.create(hk.bundle(["sleep", "1000"]))
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
        filled = 0
        try:
            while True:
                filled += os.write(w, b"x" * 4096)
        except BlockingIOError:
            pass
        p = subprocess.Popen([HUSK, "--root", str(STATE_ROOT), "list", "--format", "json"],
                             stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE)
        os.close(w)
        w = -1
        time.sleep(0.3)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        assert p.wait(timeout=CMD_TIMEOUT) == 0, p.stderr.read()
        assert len(json.loads(data[filled:])) == 1, data[filled:]
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


@pytest.mark.husk_only
def test_events_that_cannot_be_written_say_so_once(hk):
    """events --stats with stdout on a full disk: one line saying why, not
    an empty "husk: " line before it (outside attack, round 18, F3)."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = _to_full_disk("events", "--stats", cid)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and lines == ["husk: write standard output: No space left on device"], r
