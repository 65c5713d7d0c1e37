"""Attacks on the host files husk reads and writes outside any container:
the --pid-file (and its temp file), fds handed on with --preserve-fds, the
state root (--root), a container's state directory, state.json and
exec.fifo, and the --console-socket's listener.

Each test plays an outsider who can write somewhere husk reads or writes
(a pid file's directory, a state directory left writable) or who has
tampered with husk's state, and checks that the host is untouched: no
file written through a planted link, no fd of husk's in a container, no
process signalled that is not the container's, no lock wedged. Where runc
1.1 falls for the same attack, the test is husk_only and says what runc
does.
"""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import HUSK, STATE_ROOT, Result, pid_alive, wait_for

NOBODY = 65534
PRECIOUS = "precious: root's own file\n"


def _precious(hk, name="precious"):
    """A root-only file of the host's that an attacker wants overwritten."""
    p = hk.work / name
    p.write_text(PRECIOUS)
    os.chmod(p, 0o600)
    return p


def _nobody_dir(hk, name):
    """A directory an unprivileged user owns (and so may fill with links)."""
    d = hk.dir(name)
    os.chown(d, NOBODY, NOBODY)
    os.chmod(d, 0o755)
    return d


def _plant_link(link, target):
    """A symlink made as the unprivileged user would."""
    os.symlink(target, link)
    os.lchown(link, NOBODY, NOBODY)


def _call_fds(hk, fds, *args, timeout=10, out_path=None):
    """hk.call with the runtime started with exactly fds {number: path} open
    (read/write) above stdio: a shell opens them, then execs the runtime."""
    redir = " ".join(f'{n}<>"{p}"' for n, p in sorted(fds.items()))
    argv = ["/bin/sh", "-c", f'exec {redir}; exec "$@"', "sh",
            HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    hk._n += 1
    out_path = Path(out_path or hk.work / f"call{hk._n}.out")
    err_path = hk.work / f"call{hk._n}.err"
    with open(out_path, "wb") as o, open(err_path, "wb") as e:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{argv} did not finish in {timeout}s (wedged?)")
    return Result(argv, p.returncode, out_path.read_text(errors="replace"),
                  err_path.read_text(errors="replace"))


# --------------------------------------------------------------------------
# 1. --pid-file: the file and its temp file where someone else can write

# The temp names runc (".NAME") and husk before the fix (".NAME.tmp") used.
PREDICTABLE_TEMPS = (".pid", ".pid.tmp")


def _pid_file_attempt(hk, how, pid_file):
    if how == "exec":
        cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
        r = hk.call("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "1000")
        return r, None
    b = hk.bundle(["sleep", "1000"])
    if how == "create":
        cid, r = hk.create(b, None, "--pid-file", pid_file, check=False)
    else:
        cid = hk.new_id()
        r = hk.call("run", "--detach", "--bundle", b.path, "--pid-file", pid_file, cid,
                    out_path=b.path / "run.out", err_path=b.path / "run.err")
    return r, cid


@pytest.mark.parametrize("how", ["create", "run", "exec"])
def test_pid_file_temp_link_not_followed(hk, how):
    """The unprivileged owner of the pid file's directory plants the temp
    file's name as a link to a root-only file: husk must not write through
    it (runc refuses, "file exists"; husk writes under a name no one can
    guess, created exclusively, and succeeds)."""
    d = _nobody_dir(hk, "pids")
    target = _precious(hk)
    for name in PREDICTABLE_TEMPS:
        _plant_link(d / name, target)
    r, cid = _pid_file_attempt(hk, how, d / "pid")
    assert target.read_text() == PRECIOUS, f"wrote through a planted link\n{r}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    if r.rc == 0:
        pid = int((d / "pid").read_text())
        assert pid_alive(pid)
        if cid:
            assert pid == hk.state(cid)["pid"]
        assert not (d / "pid").is_symlink()
    left = sorted(os.listdir(d))
    assert left in (sorted(PREDICTABLE_TEMPS + ("pid",)), sorted(PREDICTABLE_TEMPS)), left


@pytest.mark.parametrize("how", ["create", "exec"])
def test_pid_file_that_is_a_link_is_replaced(hk, how):
    """The pid file's own name planted as a link: replaced by the file (the
    link's target untouched), as runc does."""
    d = _nobody_dir(hk, "pids")
    target = _precious(hk)
    _plant_link(d / "pid", target)
    r, _cid = _pid_file_attempt(hk, how, d / "pid")
    assert r.rc == 0, str(r)
    assert target.read_text() == PRECIOUS
    assert not (d / "pid").is_symlink() and int((d / "pid").read_text()) > 0
    assert sorted(os.listdir(d)) == ["pid"]


def test_pid_file_existing_is_replaced(hk):
    d = hk.dir("pids")
    (d / "pid").write_text("12345")
    r, cid = _pid_file_attempt(hk, "create", d / "pid")
    assert r.rc == 0, str(r)
    assert int((d / "pid").read_text()) == hk.state(cid)["pid"]
    assert sorted(os.listdir(d)) == ["pid"]


# --------------------------------------------------------------------------
# 2. --preserve-fds with gaps: only what the caller passed reaches the
# container. runc 1.1.5 hands on its own fds in the gaps (an O_PATH fd of
# /sys/fs/cgroup, its epoll fd): these tests are husk_only.

# The shell's own fds (3 .. 40), each read by a child (readlink), so that
# the listing opens none in the shell: no pipe, no command substitution.
FD_PROBE = ("for i in " + " ".join(map(str, range(3, 41))) + "; do "
            "if [ -L /proc/$$/fd/$i ]; then echo -n \"fd $i \"; readlink /proc/$$/fd/$i; fi; "
            "done")


def _fds_seen(out):
    """{fd: target} above stdio from FD_PROBE's output."""
    got = {}
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == "fd" and int(parts[1]) > 2:
            got[int(parts[1])] = parts[2]
    return got


def _gap_files(hk):
    """Files for fds 3 and 5: 4 is a gap of --preserve-fds 3."""
    f3, f5 = hk.work / "passed3", hk.work / "passed5"
    f3.write_text("three\n")
    f5.write_text("five\n")
    return {3: f3, 5: f5}


def _check_gap(seen, out):
    assert sorted(seen) == [3, 5], f"fds in the container: {seen}\n{out}"
    assert seen[3].endswith("passed3") and seen[5].endswith("passed5"), seen


@pytest.mark.husk_only
def test_preserve_fds_gap_exec(hk):
    """exec: the gap at 4 must not carry husk's fds (the host's pid
    namespace, the container init's pidfd, the sync socket)."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = _call_fds(hk, _gap_files(hk), "exec", "--preserve-fds", "3", cid, "sh", "-c", FD_PROBE)
    assert r.rc == 0, str(r)
    _check_gap(_fds_seen(r.out), r)


# --preserve-fds 3: one gap (4), where husk's first fd (the state root)
# landed; 4: two gaps (4, 6), and the second took the state directory
# whose lock the container's copy then held.
GAPS = ["3", "4"]


@pytest.mark.husk_only
@pytest.mark.parametrize("n", GAPS)
def test_preserve_fds_gap_create_start(hk, n):
    """create: the gaps must carry neither the state root (a directory of
    the host's for the container to climb out by) nor the state directory
    (whose copy in the container's process held its lock: start then
    waited forever)."""
    b = hk.bundle(["sh", "-c", FD_PROBE])
    cid = hk.new_id()
    out = b.path / "create.out"
    r = _call_fds(hk, _gap_files(hk), "create", "--preserve-fds", n, "--bundle", b.path,
                  cid, out_path=out)
    assert r.rc == 0, str(r)
    r = hk.call("start", cid, timeout=10)
    assert r.rc == 0, str(r)
    hk.wait_status(cid, "stopped")
    _check_gap(_fds_seen(out.read_text()), out.read_text())


@pytest.mark.husk_only
@pytest.mark.parametrize("n", GAPS)
def test_preserve_fds_gap_delete_force_before_start(hk, n):
    b = hk.bundle(["sh", "-c", FD_PROBE])
    cid = hk.new_id()
    r = _call_fds(hk, _gap_files(hk), "create", "--preserve-fds", n, "--bundle", b.path, cid)
    assert r.rc == 0, str(r)
    r = hk.call("delete", "--force", cid, timeout=10)
    assert r.rc == 0, str(r)
    assert hk.status(cid) is None


@pytest.mark.husk_only
@pytest.mark.parametrize("n", GAPS)
@pytest.mark.parametrize("detach", [False, True])
def test_preserve_fds_gap_run(hk, detach, n):
    """run: deadlocked on its own lock before (the container's copy of it)."""
    b = hk.bundle(["sh", "-c", FD_PROBE])
    cid = hk.new_id()
    out = b.path / "run.out"
    r = _call_fds(hk, _gap_files(hk), "run", *(["--detach"] if detach else []),
                  "--preserve-fds", n, "--bundle", b.path, cid, out_path=out)
    assert r.rc == 0, str(r)
    if detach:
        hk.wait_status(cid, "stopped")
        hk.delete(cid)
    _check_gap(_fds_seen(out.read_text()), out.read_text())


@pytest.mark.husk_only
def test_preserve_fds_gap_at_the_end(hk):
    """Caller fds 3 and 5 with --preserve-fds 5: 4, 6 and 7 stay closed
    though husk's fds would be first to land there."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = _call_fds(hk, _gap_files(hk), "exec", "--preserve-fds", "5", cid, "sh", "-c", FD_PROBE)
    assert r.rc == 0, str(r)
    _check_gap(_fds_seen(r.out), r)


@pytest.mark.husk_only
def test_preserve_fds_with_log_file_in_the_gap(hk):
    """--log opens husk's log file before any command runs: at fd 4, in the
    gap, it must still not reach the container."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    log = hk.work / "husk.log"
    r = _call_fds(hk, _gap_files(hk), "--log", log, "exec", "--preserve-fds", "3", cid,
                  "sh", "-c", FD_PROBE)
    assert r.rc == 0, str(r)
    _check_gap(_fds_seen(r.out), r)


# --------------------------------------------------------------------------
# 3. --root: a link, or a directory someone else can change. runc 1.1.5
# follows a link and takes any directory: husk_only.

def _call_root(hk, root, *args, timeout=10):
    hk._n += 1
    return hk.call("--root", root, *args, root=False, timeout=timeout,
                   out_path=hk.work / f"root{hk._n}.out",
                   err_path=hk.work / f"root{hk._n}.err")


def _clean_root(hk, root):
    """What a runtime that took the root anyway made there goes again."""
    if root.is_dir() and not root.is_symlink():
        for cid in os.listdir(root):
            _call_root(hk, root, "delete", "--force", cid)


def _refused(r, path, reason):
    assert r.rc != 0, str(r)
    assert str(path) in r.err and reason in r.err, str(r)
    assert len(r.err_lines) == 1, str(r)


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", ["create", "list", "state", "delete"])
def test_root_that_is_a_link_refused(hk, cmd):
    real = hk.dir("real-root")
    os.chmod(real, 0o700)
    link = hk.work / "root-link"
    os.symlink(real, link)
    b = hk.bundle(["true"])
    cid = hk.new_id()
    args = {"create": ["create", "--bundle", b.path, cid], "list": ["list"],
            "state": ["state", cid], "delete": ["delete", "--force", cid]}[cmd]
    try:
        r = _call_root(hk, link, *args)
    finally:
        _clean_root(hk, real)
    _refused(r, link, "symbolic link")
    assert os.listdir(real) == []


@pytest.mark.husk_only
def test_root_missing_under_a_link_not_made(hk):
    """A --root that does not exist yet, whose name is a dangling link: not
    made through the link."""
    link = hk.work / "dangling"
    os.symlink(hk.work / "elsewhere", link)
    try:
        r = _call_root(hk, link, "create", "--bundle", hk.bundle(["true"]).path, hk.new_id())
    finally:
        _clean_root(hk, hk.work / "elsewhere")
    _refused(r, link, "symbolic link")
    assert not (hk.work / "elsewhere").exists()


@pytest.mark.husk_only
@pytest.mark.parametrize("mode,owner,reason", [
    (0o777, 0, "writable by others"),
    (0o770, 0, "writable by others"),
    (0o700, NOBODY, "owned by uid 65534"),
])
def test_root_changeable_by_others_refused(hk, mode, owner, reason):
    root = hk.dir("state-root")
    os.chmod(root, mode)
    os.chown(root, owner, owner)
    try:
        r = _call_root(hk, root, "create", "--bundle", hk.bundle(["true"]).path, hk.new_id())
        r2 = _call_root(hk, root, "list")
        made = os.listdir(root)
    finally:
        os.chown(root, 0, 0)
        os.chmod(root, 0o700)
        _clean_root(hk, root)
    _refused(r, root, reason)
    _refused(r2, root, reason)
    assert made == []


@pytest.mark.husk_only
def test_root_under_a_directory_others_can_write_refused(hk):
    """Its parent writable by all (not sticky): anyone could swap the root
    for their own directory."""
    parent = hk.dir("open-parent")
    os.chmod(parent, 0o777)
    root = parent / "root"
    try:
        r = _call_root(hk, root, "create", "--bundle", hk.bundle(["true"]).path, hk.new_id())
    finally:
        _clean_root(hk, root)
    _refused(r, parent, "writable by others")
    assert not root.exists()


def test_root_under_a_sticky_directory_works(hk):
    """/tmp-like (1777): others cannot rename or remove what root made."""
    parent = hk.dir("sticky-parent")
    os.chmod(parent, 0o1777)
    root = parent / "root"
    cid = hk.new_id()
    try:
        r = _call_root(hk, root, "run", "--bundle", hk.bundle(["true"]).path, cid)
        assert r.rc == 0, str(r)
    finally:
        _call_root(hk, root, "delete", "--force", cid)
    assert os.listdir(root) == []


# --------------------------------------------------------------------------
# 4. a container's state: its directory, state.json and exec.fifo changed
# behind husk's back. runc 1.1.5 reads them as they are: husk_only.

def _state_dir(cid):
    return STATE_ROOT / cid


@pytest.fixture
def restore_state():
    """Puts a tampered state directory back as husk made it, so that the
    fixture's delete --force can clean up."""
    saved = []

    def save(cid):
        d = _state_dir(cid)
        st = os.stat(d)
        saved.append((d, stat.S_IMODE(st.st_mode), st.st_uid,
                      (d / "state.json").read_bytes()))

    yield save
    for d, mode, uid, text in saved:
        if not d.exists():
            continue
        os.chmod(d, mode)
        os.chown(d, uid, uid)
        sj = d / "state.json"
        if sj.is_symlink():
            sj.unlink()
        sj.write_bytes(text)
        os.chmod(sj, 0o644)


COMMANDS_ON_STATE = {
    "state": lambda cid: ["state", cid],
    "kill": lambda cid: ["kill", cid, "KILL"],
    "exec": lambda cid: ["exec", cid, "true"],
    "delete": lambda cid: ["delete", "--force", cid],
}


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", list(COMMANDS_ON_STATE))
@pytest.mark.parametrize("how", ["world-writable", "group-writable", "foreign-owner"])
def test_state_dir_others_can_change_refused(hk, restore_state, how, cmd):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    d = _state_dir(cid)
    restore_state(cid)
    if how == "foreign-owner":
        os.chown(d, NOBODY, NOBODY)
        reason = "owned by uid 65534"
    else:
        os.chmod(d, 0o777 if how == "world-writable" else 0o771)
        reason = "writable by others"
    r = hk.call(*COMMANDS_ON_STATE[cmd](cid))
    _refused(r, d, reason)
    assert pid_alive(pid) and d.exists()


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", list(COMMANDS_ON_STATE))
def test_state_json_link_refused(hk, restore_state, cmd):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    restore_state(cid)
    sj = _state_dir(cid) / "state.json"
    elsewhere = hk.work / "forged.json"
    elsewhere.write_bytes(sj.read_bytes())
    sj.unlink()
    os.symlink(elsewhere, sj)
    r = hk.call(*COMMANDS_ON_STATE[cmd](cid))
    _refused(r, sj, "symbolic link")
    assert pid_alive(pid)


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", list(COMMANDS_ON_STATE))
def test_state_json_others_can_write_refused(hk, restore_state, cmd):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    restore_state(cid)
    sj = _state_dir(cid) / "state.json"
    os.chmod(sj, 0o666)
    r = hk.call(*COMMANDS_ON_STATE[cmd](cid))
    _refused(r, sj, "writable by others")
    assert pid_alive(pid)


@pytest.mark.husk_only
def test_state_dir_that_is_a_link_refused(hk):
    """<root>/<id> itself a link to a directory with a forged state.json."""
    cid = hk.new_id()
    forged = hk.dir("forged-state")
    os.chmod(forged, 0o711)
    (forged / "state.json").write_text("{}")
    link = _state_dir(cid)
    os.symlink(forged, link)
    try:
        for args in COMMANDS_ON_STATE.values():
            r = hk.call(*args(cid))
            _refused(r, link, "symbolic link")
        assert (forged / "state.json").read_text() == "{}"
    finally:
        link.unlink()


@pytest.mark.husk_only
def test_exec_fifo_link_refused(hk):
    """start reads a byte from exec.fifo: a link to a file someone else
    controls must not count as the container's."""
    cid = hk.create(hk.bundle(["sleep", "1000"]))
    fifo = _state_dir(cid) / "exec.fifo"
    fake = hk.work / "fake-fifo"
    fake.write_text("0")
    real = fifo.with_name("real-fifo")  # the process waits on it, opened
    os.rename(fifo, real)
    os.symlink(fake, fifo)
    try:
        r = hk.call("start", cid)
        _refused(r, fifo, "not a fifo")
        assert fake.read_text() == "0"
    finally:
        fifo.unlink()
        os.rename(real, fifo)
    hk.start(cid)
    assert hk.status(cid) == "running"


# --------------------------------------------------------------------------
# 5. state.json's pid pointing at a process that is not the container's:
# kill and delete must not signal it, exec must not run beside it. runc
# 1.1.5 kills it (its start time matching is all runc checks): husk_only.

@pytest.fixture
def victim():
    p = subprocess.Popen(["sleep", "1000"])
    yield p
    p.kill()
    p.wait()


def _start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def _point_pid_at(cid, pid):
    sj = _state_dir(cid) / "state.json"
    st = json.loads(sj.read_text())
    st["pid"], st["start_time"] = pid, _start_time(pid)
    sj.write_text(json.dumps(st))


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", ["kill", "delete", "exec"])
def test_tampered_pid_is_not_signalled(hk, restore_state, victim, cmd):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    real = hk.state(cid)["pid"]
    restore_state(cid)
    _point_pid_at(cid, victim.pid)
    marker = hk.work / "ran-on-the-host"
    args = {"kill": ["kill", cid, "KILL"], "delete": ["delete", "--force", cid],
            "exec": ["exec", cid, "sh", "-c", f"echo pwned > {marker}"]}[cmd]
    r = hk.call(*args)
    assert r.rc != 0, str(r)
    assert "not the container's" in r.err and str(victim.pid) in r.err, str(r)
    time.sleep(0.2)
    assert victim.poll() is None and pid_alive(victim.pid), "signalled a host process"
    assert not marker.exists(), "exec ran beside a host process"
    assert pid_alive(real) and _state_dir(cid).exists()


def test_container_in_a_mount_namespace_of_its_own_making_is_still_killed(hk):
    """The check above must not lock husk out of a container whose first
    process made itself a new mount namespace (unshare -m, in place)."""
    def caps(cfg):
        for k, v in cfg["process"]["capabilities"].items():
            v.append("CAP_SYS_ADMIN")
    b = hk.bundle(["unshare", "-m", "sleep", "1000"])
    caps(b.config)
    b.write()
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    # unshare execs sleep in place, in the mount namespace it made
    wait_for(lambda: open(f"/proc/{pid}/comm").read().strip() == "sleep", what="sleep")
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    hk.delete(cid)


# --------------------------------------------------------------------------
# 6. --console-socket: the terminal goes to whoever listens there. A
# listener that is neither root nor husk's user gets nothing (runc sends
# the master to any listener: husk_only).

@pytest.mark.husk_only
def test_console_socket_of_another_user_refused(hk):
    d = hk.dir("console")
    path = d / "console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    # the listener's credentials are taken at listen(): nobody's
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        srv.listen(1)
    finally:
        os.seteuid(0)
        os.setegid(0)
    srv.settimeout(10)
    got = []

    def accept():
        try:
            c, _ = srv.accept()
            with c:
                c.settimeout(5)
                _msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
                got.extend(fds)
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    b = hk.bundle(["sh"], terminal=True)
    cid, r = hk.create(b, None, "--console-socket", path, check=False)
    t.join(15)
    srv.close()
    for fd in got:
        os.close(fd)
    assert not got, "the terminal went to another user's listener"
    assert r.rc != 0, str(r)
    assert "--console-socket" in r.err and "uid 65534" in r.err, str(r)
    assert hk.status(cid) is None


# --------------------------------------------------------------------------
# --log FILE (outside attack F18)

@pytest.mark.husk_only  # runc 1.1.5 follows the link and waits on a fifo
def test_log_file_link_not_followed(hk):
    """A link planted at the --log path, in a directory others can write,
    sent root's log into the file of the planter's choosing."""
    target = _precious(hk)
    before = target.read_bytes()
    d = _nobody_dir(hk, "logdir")
    log = d / "husk.log"
    _plant_link(log, target)
    r = hk.call("--log", log, "state", "nosuch")
    assert r.rc == 1 and "link" in r.err, str(r)
    assert target.read_bytes() == before


@pytest.mark.husk_only
def test_log_file_fifo_refused_at_once(hk):
    d = hk.dir("logfifo")
    os.mkfifo(d / "husk.log")
    r = hk.call("--log", d / "husk.log", "state", "nosuch", timeout=5)
    assert r.rc == 1, str(r)


def test_log_file_plain_and_dev_null_work(hk):
    d = hk.dir("logok")
    log = d / "husk.log"
    log.write_text("earlier\n")
    hk.call("--log", log, "state", "nosuch")
    text = log.read_text()
    assert text.startswith("earlier\n") and "does not exist" in text, text
    r = hk.call("--log", "/dev/null", "state", "nosuch")
    assert r.rc == 1 and "does not exist" in r.err, str(r)


# --------------------------------------------------------------------------
# the bundle after create (outside attack F19, F20)

def _self_bundle(hk, seccomp=None):
    """A container whose root is its own bundle directory (root.path "."):
    it can rewrite its config.json."""
    d = hk.rootfs_copy("selfbundle")
    cfg = hk.config(["sleep", "1000"])
    cfg["root"] = {"path": ".", "readonly": False}
    if seccomp:
        cfg["linux"]["seccomp"] = seccomp
    (d / "config.json").write_text(json.dumps(cfg))
    return d


def test_exec_keeps_the_seccomp_filter_of_create(hk):
    """The container edits the rule out of its bundle's config.json; the
    next exec must still have the filter create gave it (runc keeps it)."""
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    d = _self_bundle(hk, prof)
    cid = hk.new_id()
    r = hk.call("run", "-d", "--bundle", d, cid)
    assert r.rc == 0, str(r)
    edit = ('sed -i "s/\\"mkdirat\\"/\\"nothing\\"/; s/\\"mkdir\\",/\\"nothing2\\",/" '
            '/config.json; grep -c nothing2 /config.json')
    r = hk.call("exec", cid, "sh", "-c", edit)
    assert r.rc == 0 and r.out.strip() == "1", str(r)
    r = hk.call("exec", cid, "sh", "-c", "mkdir /tmp/a2 && echo mkdir-allowed")
    assert "mkdir-allowed" not in r.out, str(r)


@pytest.mark.husk_only  # runc 1.1.5 re-reads the bundle's process for exec
def test_exec_keeps_the_capabilities_of_create(hk):
    d = _self_bundle(hk)
    cid = hk.new_id()
    assert hk.call("run", "-d", "--bundle", d, cid).rc == 0
    edit = ('sed -i "s/\\"CAP_KILL\\",/\\"CAP_KILL\\", \\"CAP_SYS_ADMIN\\",/g" /config.json')
    assert hk.call("exec", cid, "sh", "-c", edit).rc == 0
    r = hk.call("exec", cid, "sh", "-c", "grep CapEff /proc/self/status")
    assert r.rc == 0, str(r)
    eff = int(r.out.split()[1], 16)
    assert not eff & (1 << 21), f"CAP_SYS_ADMIN came from the edited bundle: {r.out}"


@pytest.mark.husk_only  # runc 1.1.5 takes the whole process from the bundle
def test_exec_keeps_umask_and_cpu_affinity_of_create(hk):
    """Fifth outside attack, F3: the container rewrote its bundle's umask
    (0) and execCPUAffinity (CPU 1 only, which husk applied to itself on
    the host before joining); exec took both from there."""
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    d = _self_bundle(hk)
    cid = hk.new_id()
    assert hk.call("run", "-d", "--bundle", d, cid).rc == 0
    probe = "umask; grep Cpus_allowed_list /proc/self/status"
    before = hk.call("exec", cid, "sh", "-c", probe)
    assert before.rc == 0, str(before)
    cfg = json.loads((d / "config.json").read_text())
    cfg["process"]["user"]["umask"] = 0
    cfg["process"]["execCPUAffinity"] = {"initial": "1", "final": "1"}
    (d / "config.json").write_text(json.dumps(cfg))
    after = hk.call("exec", cid, "sh", "-c", probe)
    assert after.rc == 0 and after.out == before.out, f"{before.out!r} -> {after.out!r}"


def test_exec_looks_up_no_host_path_from_the_bundle(hk):
    """The container points its bundle's root.path at host paths: exec must
    not look them up on the host (husk stat()ed it, so whether the next exec
    ran told the container whether a host directory existed, and any path
    there made every exec fail). runc reads only the process from it."""
    d = _self_bundle(hk)
    cid = hk.new_id()
    assert hk.call("run", "-d", "--bundle", d, cid).rc == 0
    secret = hk.dir("secretdir")
    for p in (secret, "/nonexistent-hk-path", "/etc/passwd"):
        edit = f"sed -i 's#\"path\": *\"[^\"]*\"#\"path\": \"{p}\"#' /config.json"
        assert hk.call("exec", cid, "sh", "-c", edit).rc == 0
        r = hk.call("exec", cid, "sh", "-c", "grep -c '\"path\": \"/' /config.json && echo ran")
        assert r.rc == 0 and "ran" in r.out, f"root.path {p}: {r}"


@pytest.mark.husk_only  # runc 1.1.5's exec hangs opening the fifo (its delete --force works)
def test_fifo_config_wedges_nothing(hk):
    """The container replaces its bundle's config.json with a fifo: exec,
    inspect and delete --force still answer (delete used to wait on the lock
    of an exec stuck opening the fifo)."""
    d = _self_bundle(hk)
    cid = hk.new_id()
    assert hk.call("run", "-d", "--bundle", d, cid).rc == 0
    r = hk.call("exec", cid, "sh", "-c", "rm /config.json && mkfifo /config.json")
    assert r.rc == 0, str(r)
    # as without a config.json: refused (runc too), but at once
    r = hk.call("exec", cid, "true", timeout=10)
    assert r.rc != 0 and "not a regular file" in r.err, str(r)
    assert hk.call("inspect", cid, timeout=10).rc == 0
    assert hk.call("delete", "--force", cid, timeout=10).rc == 0


@pytest.mark.husk_only  # runc 1.1.5 removes such a directory too
def test_delete_force_leaves_a_foreign_directory(hk):
    """`husk delete --force net` took husk net's records (/run/husk/net sits
    in the default state root) for a container and removed them all
    (outside attack F12)."""
    d = STATE_ROOT / "netlike"
    d.mkdir(mode=0o711)
    try:
        (d / "lock").write_text("")
        (d / "web.lease").write_text("id web\n")
        r = hk.call("delete", "--force", "netlike")
        assert r.rc != 0 and "not a container's state directory" in r.err, str(r)
        assert sorted(os.listdir(d)) == ["lock", "web.lease"]
    finally:
        shutil.rmtree(d)


def test_delete_force_of_a_half_made_state_dir(hk):
    """What a create killed after making its directory leaves is still
    removed by delete --force."""
    d = STATE_ROOT / f"{hk.new_id()}"
    d.mkdir(mode=0o711)
    r = hk.call("delete", "--force", d.name)
    assert r.rc == 0, str(r)
    assert not d.exists()


@pytest.mark.husk_only
def test_state_dir_copied_under_another_name_is_not_that_container(hk):
    """A state dir copied under another id, by husk's own uid and with its
    modes (what others plant is refused above): the copy names another
    container. `state` of it is refused, `list` leaves it out; list had
    shown the id inside, twice (outside attack, round 17, F2). runc names
    a container by its directory and would show the copy as a second one
    with the same process."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    src, copy = _state_dir(cid), _state_dir(hk.new_id())
    shutil.copytree(src, copy, symlinks=True)
    try:
        shutil.copystat(src, copy)
        r = hk.call("state", copy.name)
        _refused(r, copy / "state.json", f"is the state of container {cid}, not of {copy.name}")
        listed = [e["id"] for e in json.loads(hk.ok("list", "--format", "json").out)]
        assert listed == [cid], listed
        assert hk.ok("list", "-q").out.split() == [cid]
    finally:
        shutil.rmtree(copy)
