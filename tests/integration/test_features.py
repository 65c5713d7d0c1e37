"""runc features beyond the basic lifecycle: create/run flags (--no-pivot,
--preserve-fds, --console-socket), global flags, process settings, the
stopped state and hostile root filesystems (mount propagation and types,
linux.devices, masked and read-only paths and sysctl are
test_features_mounts.py's). Checked from inside the container and, where
it makes sense, from the host."""

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import (assert_nothing_left, call_with_fds, CMD_TIMEOUT, HUSK, IS_RUNC, Result, bind,
                      cgroup_dirs_named, mountinfo_lines_mentioning, ns_id, wait_for)


from featurehelpers import _mountinfo, _read, _propagation, _read_only, _run, _start_waiting, _status_fields


# --------------------------------------------------------------------------
# 1. --no-pivot

def test_no_pivot_run(hk):
    copy = hk.rootfs_copy()
    marker = secrets.token_hex(8)
    (copy / "marker").write_text(marker + "\n")
    out = _run(hk, "echo $$; cat /marker; ls -a /", "--no-pivot", rootfs=copy)
    lines = out.splitlines()
    assert lines[0] == "1"
    assert lines[1] == marker
    # "/" is the rootfs and nothing else: exactly its entries
    assert set(lines[2:]) - {".", ".."} == set(os.listdir(copy))


def test_no_pivot_seen_from_host(hk):
    copy = hk.rootfs_copy()
    (copy / "marker").write_text("marked\n")
    cid, pid, out = _start_waiting(
        hk, "echo $$ > /mnt/rw/pid; cat /marker > /mnt/rw/marker; "
            "cat /proc/self/mountinfo > /mnt/rw/mountinfo",
        "--no-pivot", rootfs=copy)
    assert (out / "pid").read_text() == "1\n"
    assert (out / "marker").read_text() == "marked\n"
    # the process's root is the rootfs directory itself
    st, want = os.stat(f"/proc/{pid}/root"), os.stat(copy)
    assert (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino)
    assert Path(f"/proc/{pid}/root/marker").read_text() == "marked\n"
    mi = _mountinfo((out / "mountinfo").read_text())
    assert "/" in mi and "/proc" in mi and "/mnt/rw" in mi
    # only the container's mounts are in its view, none of the host's
    ours = ("/proc", "/dev", "/sys", "/mnt/rw")
    assert all(m == "/" or m.startswith(ours) for m in mi), sorted(mi)


# --------------------------------------------------------------------------
# 2. --preserve-fds

# ls -l of its own fds, exec'd by the shell: what the container process has
# plus ls's own directory fd (the one pointing at /proc/<pid>/fd)
FD_SCRIPT = (
    "{ echo hi >&3; } 2>/dev/null && echo wrote3 || echo no3; "
    "{ echo four >&4; } 2>/dev/null && echo wrote4 || echo no4; "
    "exec ls -l /proc/self/fd/")


def _fds(lines):
    """fd numbers in `ls -l /proc/self/fd/` output, minus ls's own dir fd."""
    fds = []
    for l in lines:
        m = re.search(r" (\d+) -> (.*)$", l)
        if m and not re.fullmatch(r"/proc/\d+/fd", m.group(2)):
            fds.append(int(m.group(1)))
    return sorted(fds)


def test_preserve_fds_run(hk):
    f3, f4 = hk.work / "fd3", hk.work / "fd4"
    b = hk.bundle(["sh", "-c", FD_SCRIPT])
    r = call_with_fds(hk, ">", [f3, f4], "run", "--preserve-fds", "1",
                       "--bundle", b.path, hk.new_id())
    assert r.rc == 0, str(r)
    # fd 3 is passed, fd 4 (beyond N=1) is not
    lines = r.out.splitlines()
    assert lines[:2] == ["wrote3", "no4"], str(r)
    assert _fds(lines[2:]) == [0, 1, 2, 3], str(r)
    assert f3.read_text() == "hi\n"
    assert f4.read_text() == ""


def test_without_preserve_fds_extra_fds_are_closed(hk):
    f3, f4 = hk.work / "fd3", hk.work / "fd4"
    b = hk.bundle(["sh", "-c", FD_SCRIPT])
    r = call_with_fds(hk, ">", [f3, f4], "run", "--bundle", b.path, hk.new_id())
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[:2] == ["no3", "no4"], str(r)
    assert _fds(lines[2:]) == [0, 1, 2], str(r)
    assert f3.read_text() == "" and f4.read_text() == ""


def test_preserve_fds_create_then_start(hk):
    """The fd is handed over at create; the waiting process holds it (seen
    from the host) and uses it after start."""
    f3, f4 = hk.work / "fd3", hk.work / "fd4"
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "echo started >&3; touch /mnt/rw/done"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    r = call_with_fds(hk, ">", [f3, f4], "create", "--preserve-fds", "1",
                       "--bundle", b.path, cid)
    assert r.rc == 0, str(r)
    pid = hk.state(cid)["pid"]
    targets = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            targets[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
    assert targets.get(3) == str(f3), targets
    assert str(f4) not in targets.values(), targets
    assert f3.read_text() == ""
    hk.start(cid)
    wait_for(lambda: (out / "done").exists(), what="container to finish")
    assert f3.read_text() == "started\n"


# --------------------------------------------------------------------------
# 8. global flags

def test_log_json(hk):
    log = hk.work / "log.json"
    cid = hk.new_id()
    r = hk.call("--log", log, "--log-format", "json", "state", cid)
    assert r.rc == 1, str(r)
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, entries
    assert all(isinstance(e["msg"], str) and e["msg"] for e in errors), errors
    # the error still reaches stderr too
    assert r.err.strip(), str(r)


@pytest.mark.husk_only
def test_log_json_message(hk):
    log = hk.work / "log.json"
    cid = hk.new_id()
    r = hk.call("--log", log, "--log-format", "json", "state", cid)
    assert r.rc == 1, str(r)
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert [e["level"] for e in entries] == ["error"], entries
    assert cid in entries[0]["msg"]
    assert "time" in entries[0]
    assert len(r.err_lines) == 1 and cid in r.err, r.err


def test_log_text(hk):
    log = hk.work / "log.txt"
    cid = hk.new_id()
    r = hk.call("--log", log, "state", cid)
    assert r.rc == 1, str(r)
    assert "error" in log.read_text()
    assert r.err.strip(), str(r)


@pytest.mark.husk_only
def test_log_text_message(hk):
    log = hk.work / "log.txt"
    cid = hk.new_id()
    r = hk.call("--log", log, "--log-format", "text", "state", cid)
    assert r.rc == 1, str(r)
    # one plain line on stderr, the same message in the file
    assert len(r.err_lines) == 1 and cid in r.err, r.err
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and cid in lines[0], lines


@pytest.mark.husk_only
def test_systemd_cgroup_refused(hk):
    """Where systemd is not PID 1 (this host), --systemd-cgroup fails
    before the container runs anything, leaving nothing (the systemd host's
    tests are tests/vm/test_systemd.py)."""
    if Path("/run/systemd/system").exists():
        pytest.skip("systemd runs here")
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"], extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    r = hk.call("--systemd-cgroup", "run", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and "systemd" in r.err, r.err
    assert "system bus" in r.err and "/run/systemd/private" in r.err
    assert_nothing_left(hk, cid)
    assert not (out / "ran").exists()


@pytest.mark.parametrize("cmd", ["create", "run"])
def test_console_socket_unreachable(hk, cmd):
    """A console socket nobody listens on: clear failure, nothing left."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"], extra_mounts=[bind(out, "/mnt/rw")],
                  terminal=True)
    sock = hk.work / "console.sock"
    cid = hk.new_id()
    args = [cmd, "--console-socket", sock, "--bundle", b.path, cid]
    if cmd == "run":
        args.insert(1, "--detach")
    r = hk.call(*args)
    assert r.rc == 1, str(r)
    assert_nothing_left(hk, cid)
    assert not (out / "ran").exists()


def test_debug_accepted(hk):
    b = hk.bundle(["sh", "-c", "echo $$ hello"])
    r = hk.call("--debug", "run", "--bundle", b.path, hk.new_id())
    assert r.rc == 0, str(r)
    assert r.out == "1 hello\n"
    assert hk.call("--debug", "list", "-q").rc == 0


# --------------------------------------------------------------------------
# 9. process settings

CAPS = {"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_AUDIT_WRITE": 29}
CAP_MASK = sum(1 << n for n in CAPS.values())  # 0x20000420

PROCESS_SCRIPT = r"""
echo "soft $(ulimit -n)" > /mnt/rw/process
echo "hard $(ulimit -Hn)" >> /mnt/rw/process
grep -E '^(NoNewPrivs|Cap[A-Za-z]+):' /proc/self/status >> /mnt/rw/process
echo "oom $(cat /proc/self/oom_score_adj)" >> /mnt/rw/process
echo new > /mnt/rw/newfile; mkdir /mnt/rw/newdir
"""


def test_process_settings(hk):
    def edit(cfg):
        p = cfg["process"]
        p["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]
        p["noNewPrivileges"] = True
        p["oomScoreAdj"] = 500
        p["user"]["umask"] = 0o077
    cid, pid, out = _start_waiting(hk, PROCESS_SCRIPT, bundle_edit=edit)
    got = dict(l.split(None, 1) for l in (out / "process").read_text().splitlines())
    assert got["soft"] == "512" and got["hard"] == "1024", got
    assert got["NoNewPrivs:"] == "1"
    assert got["oom"] == "500"
    for k in ("CapBnd:", "CapPrm:", "CapEff:"):
        assert int(got[k], 16) == CAP_MASK, (k, got[k])
    # ambient needs inheritable too, which the config leaves empty
    for k in ("CapInh:", "CapAmb:"):
        assert int(got[k], 16) & ~CAP_MASK == 0, (k, got[k])
    assert stat.S_IMODE((out / "newfile").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "newdir").stat().st_mode) == 0o700
    # from the host
    with open(f"/proc/{pid}/limits") as f:
        nofile = [l for l in f if l.startswith("Max open files")][0].split()
    assert nofile[3:5] == ["512", "1024"], nofile
    st = _status_fields(pid)
    assert st["NoNewPrivs"] == "1"
    assert int(st["CapBnd"], 16) == CAP_MASK
    assert _read(f"/proc/{pid}/oom_score_adj") == "500"


@pytest.mark.skipif(_status_fields("self")["NoNewPrivs"] != "0",
                    reason="the test process itself has no_new_privs set")
def test_no_new_privileges_false(hk):
    b = hk.bundle(["sh", "-c", "grep NoNewPrivs /proc/self/status"])
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.split() == ["NoNewPrivs:", "0"]


# --------------------------------------------------------------------------
# 10. a container whose process exited

def test_stopped_container(hk):
    b = hk.bundle(["true"])
    cid = hk.run_detached(b)
    hk.wait_status(cid, "stopped")
    st = hk.state(cid)
    assert st["status"] == "stopped" and st["pid"] == 0, st
    r = hk.call("kill", cid, "KILL")
    assert r.rc == 1, str(r)
    assert r.out == ""
    r = hk.call("kill", cid)
    assert r.rc == 1, str(r)
    # still there and still stopped after the failed kills
    assert hk.status(cid) == "stopped"
    hk.delete(cid)
    assert hk.status(cid) is None
    assert hk.list_ids() == []
    assert cgroup_dirs_named(cid) == []


# --------------------------------------------------------------------------
# 11. hostile root filesystems

def test_proc_symlink_in_rootfs_refused(hk):
    copy = hk.rootfs_copy()
    (copy / "proc").rmdir()
    (copy / "proc").symlink_to("/etc")
    etc_before = sorted(os.listdir(copy / "etc"))
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"], rootfs=copy,
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert_nothing_left(hk, cid)
    assert not (out / "ran").exists()
    assert os.readlink(copy / "proc") == "/etc"
    assert sorted(os.listdir(copy / "etc")) == etc_before


@pytest.mark.husk_only
def test_proc_symlink_in_rootfs_message(hk):
    copy = hk.rootfs_copy()
    (copy / "proc").rmdir()
    (copy / "proc").symlink_to("/etc")
    b = hk.bundle(rootfs=copy)
    cid, r = hk.create(b, None, check=False)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and "/proc" in r.err, r.err


@contextlib.contextmanager
def host_path_watch(path):
    """path must not exist on the host, before or after; if the runtime made
    it anyway, it is removed again (it is ours: the name is random)."""
    path = Path(path)
    assert not os.path.lexists(path)
    try:
        yield path
    finally:
        made = os.path.lexists(path)
        if made:
            if os.path.ismount(path):
                subprocess.run(["umount", "-l", str(path)], timeout=10)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
        assert not made, f"the runtime created {path} on the host"


ESCAPE_SCRIPT = r"""
cat /proc/self/mountinfo > /mnt/rw/mountinfo
cat $T/marker > /mnt/rw/via-target 2>&1
cat $L/marker > /mnt/rw/via-link 2>&1
"""


def _escape_setup(hk, link, target):
    """A rootfs copy with /mnt/<link> a symlink to /tmp/hk-escape-<rand>
    (absolute, or climbing out with ../..), that target existing in the
    rootfs or not; a host dir with a marker file to bind there."""
    name = f"hk-escape-{secrets.token_hex(4)}"
    copy = hk.rootfs_copy()
    share = hk.dir("share")
    (share / "marker").write_text("bound\n")
    if link == "absolute":
        (copy / "mnt" / link).symlink_to(f"/tmp/{name}")
    else:
        (copy / "mnt" / link).symlink_to("../" * 12 + f"tmp/{name}")
    if target == "existing":
        (copy / "tmp" / name).mkdir()
    return name, copy, share, f"/mnt/{link}"


def _check_landed_inside(hk, name, copy, link, dest, cid, pid, out):
    mi = _mountinfo((out / "mountinfo").read_text())
    assert f"/tmp/{name}" in mi, sorted(mi)
    assert dest not in mi
    assert (out / "via-target").read_text() == "bound\n"
    assert (out / "via-link").read_text() == "bound\n"
    assert (copy / "tmp" / name).is_dir()
    assert os.listdir(copy / "tmp" / name) == []  # the mount is the container's
    assert os.readlink(copy / "mnt" / link).endswith(f"tmp/{name}")
    assert Path(f"/proc/{pid}/root/tmp/{name}/marker").read_text() == "bound\n"
    # nothing mounted at the host's path in the host's namespace
    assert not mountinfo_lines_mentioning(f"/tmp/{name}")


def _escape_case(hk, link, target):
    name, copy, share, dest = _escape_setup(hk, link, target)
    with host_path_watch(f"/tmp/{name}"):
        cid, pid, out = _start_waiting(
            hk, f"T=/tmp/{name} L={dest}\n{ESCAPE_SCRIPT}", rootfs=copy,
            extra_mounts=[bind(share, dest, "ro")])
        _check_landed_inside(hk, name, copy, link, dest, cid, pid, out)


@pytest.mark.parametrize("link", ["absolute", "dotdot"])
def test_symlink_mount_destination_stays_in_rootfs(hk, link):
    """The destination is a symlink to a host path; its target exists in the
    rootfs: the mount lands at <rootfs>/tmp/hk-escape-*, never at the
    host's /tmp/hk-escape-*."""
    _escape_case(hk, link, "existing")


@pytest.mark.parametrize("link", ["absolute", "dotdot"])
def test_symlink_mount_destination_missing_target_created_in_rootfs(hk, link):
    _escape_case(hk, link, "missing")


@pytest.mark.parametrize("link", ["absolute", "dotdot"])
def test_symlink_mount_destination_missing_target_never_escapes(hk, link):
    """Whatever the runtime does with a dangling destination symlink (refuse,
    or create the target in the rootfs), nothing appears at the host path."""
    name, copy, share, dest = _escape_setup(hk, link, "missing")
    with host_path_watch(f"/tmp/{name}"):
        out = hk.dir("out")
        b = hk.bundle(["sh", "-c", f"T=/tmp/{name} L={dest}\n{ESCAPE_SCRIPT}"
                                   "touch /mnt/rw/ready; exec sleep 1000"],
                      rootfs=copy, extra_mounts=[bind(share, dest, "ro"),
                                                 bind(out, "/mnt/rw")])
        cid = hk.new_id()
        r = hk.call("run", "--detach", "--bundle", b.path, cid)
        if r.rc == 0:
            wait_for(lambda: (out / "ready").exists(), what="container to be ready")
            _check_landed_inside(hk, name, copy, link, dest, cid,
                                 hk.state(cid)["pid"], out)
        else:
            assert r.rc == 1, str(r)
            assert_nothing_left(hk, cid)
            assert not (out / "ready").exists()
        assert not mountinfo_lines_mentioning(f"/tmp/{name}")
