"""The outside attack of 2026-12-02 on husk launch, second part
(briefs/attack-findings.md: F2, F3, F6, F7, F11, F14): local users and
containers against the ids, directories, volumes and terminal of launched
containers. test_attack_launch_host.py has the hostile images (F1, F8).

Each test performs the attack as an outsider would; each failed on husk
before the fix (the binaries of /work/baseline3).
"""
import json
import os
import pty
import select
import stat
import subprocess
import time

import pytest

from conftest import HUSK, MARK_ENV, STATE_ROOT
from ocimage import Image, tar_of_dir
from test_launch import (USERNS_SIZE, containers_range, free_sub_start, launch,  # noqa: F401
                         sub_lines, subids)

pytestmark = pytest.mark.husk_only

NOBODY = 65534


def as_nobody(*argv, cwd="/"):
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", *map(str, argv)], capture_output=True, text=True,
                          timeout=30, cwd=cwd)


def maps(hk, cid):
    out = {}
    for f in ("uid_map", "gid_map"):
        r = hk.ok("exec", cid, "cat", f"/proc/self/{f}")
        out[f] = [int(x) for x in r.out.split()]
    return out


# --------------------------------------------------------------------------
# F2: --userns auto's ranges


def test_userns_auto_needs_a_range_set_aside(launch, rootfs, subids, traversable):
    """F2: with no range of root's in /etc/subuid, --userns auto took host
    ids from 1000000 up, which nothing set aside: a user with uid 1000000
    could kill the container, one whose subordinate range covered it
    could become its root and read its writable layer. As podman's
    --userns=auto, husk now wants a "containers" range (or root's) and
    refuses without one, naming the files."""
    lines = [l for p in ("/etc/subuid", "/etc/subgid") for l in sub_lines(p)]
    if any(l.split(":")[0] in ("containers", "root", "0") for l in lines):
        pytest.skip("the host sets a range aside for containers or root already")
    traversable(launch.data)
    # another user's subordinate range where husk used to hand ids out
    subids.add("hkt-someone", 1000000, USERNS_SIZE)
    r = launch.call("--rm", "--userns", "auto", rootfs, "cat", "/proc/self/uid_map")
    assert r.rc == 125, str(r)
    assert "/etc/subuid and /etc/subgid set no ids aside" in r.err and \
        '"containers"' in r.err, str(r)
    assert launch.entries() == []


@pytest.fixture
def local_user():
    """A user of /etc/passwd made for the test: made(uid) -> name."""
    made = []

    def make(uid):
        name = f"hkt{uid % 1000000}"
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-u", str(uid), "-s",
                        "/bin/sh", name], check=True, capture_output=True, timeout=30)
        made.append(name)
        return name

    yield make
    for name in made:
        subprocess.run(["userdel", name], capture_output=True, timeout=30)


def test_userns_auto_ranges_clear_of_local_users(launch, rootfs, subids, local_user,
                                                 traversable):
    """F2: ids were handed out with no look at /etc/subuid, /etc/subgid or
    /etc/passwd, and the gids were the uid range again. Now a slot that
    overlaps another user's subordinate range, or holds a uid of
    /etc/passwd, is skipped, and gids come from /etc/subgid, with the same
    care."""
    hk = launch.hk
    traversable(launch.data)
    s = free_sub_start(8 * USERNS_SIZE)
    subids.add("containers", s, 4 * USERNS_SIZE)
    # uid slot 0: another user's subordinate uids; slot 1: a local user
    subids.add("hkt-other", s + 100, 10, files=("/etc/subuid",))
    local_user(s + USERNS_SIZE + 7)
    # gid slot 0: another user's subordinate gids
    subids.add("hkt-other", s + 5, 1, files=("/etc/subgid",))
    a, b, c = hk.new_id(), hk.new_id(), hk.new_id()
    launch.ok("-d", "--userns", "auto", rootfs, "sleep", "60", name=a)
    launch.ok("-d", "--userns", "auto", rootfs, "sleep", "60", name=b)
    ma, mb = maps(hk, a), maps(hk, b)
    assert ma["uid_map"] == [0, s + 2 * USERNS_SIZE, USERNS_SIZE], ma
    assert ma["gid_map"] == [0, s + USERNS_SIZE, USERNS_SIZE], ma
    assert mb["uid_map"] == [0, s + 3 * USERNS_SIZE, USERNS_SIZE], mb
    assert mb["gid_map"] == [0, s + 2 * USERNS_SIZE, USERNS_SIZE], mb
    # no free uid slot is left: refused, not handed out twice
    r = launch.call("-d", "--userns", "auto", rootfs, "sleep", "60", name=c)
    assert r.rc == 125 and "ranges of 65536 ids set aside" in r.err, str(r)
    for cid in (a, b):
        hk.kill(cid, "KILL")
        hk.wait_status(cid, "stopped")
        hk.delete(cid)
    assert launch.entries() == []
    assert os.listdir(launch.data / ".userns") == []
    # root's own range does too, when there is no "containers" one
    subids.remove()
    subids.add("root", s, USERNS_SIZE)
    r = launch.call("--rm", "--userns", "auto", rootfs, "cat", "/proc/self/uid_map")
    assert r.rc == 0 and r.out.split() == ["0", str(s), str(USERNS_SIZE)], str(r)


# --------------------------------------------------------------------------
# F6: names that are DATA's own entries


def test_names_of_datas_own_entries_refused(launch, rootfs, containers_range, traversable):
    """F6: a container named ".userns" was DATA's directory of --userns auto
    claims: deleting it dropped every claim, and the next container got a
    running one's range. A name must start with a letter or a digit, as
    docker's."""
    hk = launch.hk
    traversable(launch.data)
    b = hk.new_id()
    launch.ok("-d", "--userns", "auto", rootfs, "sleep", "60", name=b)
    for name in (".userns", ".trash", "-x", "_x", "a+b"):
        r = launch.call("-d", rootfs, "sleep", "60", name=name)
        hk.track(name)
        assert r.rc == 125 and "only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed" in r.err, str(r)
        assert name not in hk.list_ids()
    assert len(os.listdir(launch.data / ".userns")) == 2  # b's uid and gid claims
    hk.kill(b, "KILL")
    hk.wait_status(b, "stopped")
    hk.delete(b)
    assert launch.entries() == []


# --------------------------------------------------------------------------
# F3: a writable layer that cannot be removed, and the name it held


def test_deep_writable_layer_is_removed(launch, rootfs):
    """F3: the cleanup kept one open fd per directory level: a chain deeper
    than the open file limit (a container makes one in a second) failed
    with EMFILE, delete went on and dropped the state, and DATA/<id> stayed
    for good with its name taken. Removed now with two fds at any depth
    (here under a limit of 64 open files)."""
    hk = launch.hk
    cid = hk.new_id()
    launch.ok(rootfs, "sh", "-c", "cd /tmp; i=0; while [ $i -lt 300 ]; do mkdir d; cd d; "
              "i=$((i+1)); done; touch leaf", name=cid)
    assert (launch.data / cid / "upper" / "tmp" / "d").is_dir()
    r = subprocess.run(["prlimit", "--nofile=64", HUSK, "--root", str(STATE_ROOT), "delete",
                        "--force", cid], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    assert "warning" not in r.stderr, r
    assert launch.entries() == []
    assert launch.settle()
    launch.ok("--rm", rootfs, "true", name=cid)


def test_failed_cleanup_leaves_no_name_taken(launch, rootfs):
    """F3: when the cleanup hook failed half-way (here: an immutable file
    in the writable layer) or never ran (killed: simulated by a state
    whose hook is /bin/false), delete dropped the state and DATA/<id>
    stayed with nothing that named it: `launch --name` of it failed for
    good ("exists already"). Now DATA/<id> moves to DATA/.trash before
    anything is removed, which the next cleanup empties, and a DATA/<id>
    left under the same --root is removed by the next launch of its
    name."""
    hk = launch.hk
    a = hk.new_id()
    launch.ok(rootfs, "sh", "-c", "mkdir -p /keep && echo x > /keep/stuck", name=a)
    stuck = launch.data / a / "upper" / "keep" / "stuck"
    subprocess.run(["chattr", "+i", str(stuck)], check=True, timeout=10)
    try:
        hk.call("delete", "--force", a)
        assert a not in hk.list_ids()
        r = launch.call("--rm", rootfs, "echo", "again", name=a)
        assert r.rc == 0 and r.out == "again\n", str(r)
    finally:
        for p in [stuck, *(launch.data / ".trash").glob("*/upper/keep/stuck")]:
            subprocess.run(["chattr", "-i", str(p)], capture_output=True, timeout=10)
    # the hook that never ran
    b = hk.new_id()
    launch.ok(rootfs, "sh", "-c", "echo y > /y", name=b)
    f = STATE_ROOT / b / "state.json"
    state = json.loads(f.read_text())
    hooks = [h for h in state["hooks"]["poststop"] if "cleanup" in h["args"]]
    assert hooks, state
    for h in hooks:
        h["path"] = "/bin/false"
    f.write_text(json.dumps(state))
    hk.call("delete", "--force", b)
    assert b not in hk.list_ids() and (launch.data / b).exists()
    r = launch.call("--rm", rootfs, "cat", "/y", name=b)
    assert r.rc != 0 and "No such file" in r.out + r.err, str(r)  # a fresh layer
    # whatever the failed cleanups left is gone with the last one
    assert launch.entries() == []
    assert launch.settle()


def test_kept_layer_is_not_reclaimed(launch, rootfs):
    """--keep keeps the writable layer on purpose: a later launch of the
    same name is refused, as before, rather than taking it for a leftover."""
    cid = launch.hk.new_id()
    launch.ok("--rm", "--keep", rootfs, "sh", "-c", "echo kept > /kept", name=cid)
    r = launch.call("--rm", rootfs, "true", name=cid)
    assert r.rc == 125 and "exists already" in r.err, str(r)
    assert (launch.data / cid / "upper" / "kept").read_text() == "kept\n"


# --------------------------------------------------------------------------
# F7: -v HOST:CTR:ro and the mounts below HOST


def test_ro_volume_is_read_only_below_too(launch, rootfs, tmp_path):
    """F7: -v HOST:CTR:ro made only the top mount read-only: a filesystem
    mounted below HOST on the host (an NFS share, a disk) was writable
    through the :ro volume. Recursive, as docker's :ro since 25 (Linux >=
    5.12, mount_setattr AT_RECURSIVE)."""
    vol = tmp_path / "vol"
    (vol / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "hk-ro-sub", str(vol / "sub")], check=True,
                   timeout=30)
    try:
        r = launch.call("--rm", "-v", f"{vol}:/data:ro", rootfs, "sh", "-c",
                        "touch /data/top 2>/dev/null || echo top-ro; "
                        "touch /data/sub/written 2>/dev/null || echo sub-ro")
        assert r.rc == 0 and r.out.split() == ["top-ro", "sub-ro"], str(r)
        assert not (vol / "sub" / "written").exists()
        r = launch.call("--rm", "-v", f"{vol}:/data", rootfs, "touch", "/data/sub/rw")
        assert r.rc == 0 and (vol / "sub" / "rw").exists(), str(r)
    finally:
        subprocess.run(["umount", "-l", str(vol / "sub")], timeout=30)


# --------------------------------------------------------------------------
# F11: the operator's terminal


def run_on_terminal(argv, typed=b"", seconds=20):
    """argv with stdin, stdout and stderr a new pty's slave (the operator's
    terminal); typed is written to it after a second. Returns (rc, what
    the terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown = b""
    t0 = time.monotonic()
    sent = False
    try:
        while p.poll() is None or select.select([master], [], [], 0.1)[0]:
            if time.monotonic() - t0 > seconds:
                raise AssertionError(f"{argv} did not finish in {seconds}s: {shown!r}")
            if not sent and typed and time.monotonic() - t0 > 1:
                os.write(master, typed)
                sent = True
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        os.close(master)
    return p.returncode, shown.decode(errors="replace")


def test_no_terminal_without_t(launch, rootfs):
    """F11: without -t the container got the operator's terminal as its
    stdout and stderr, open read-write: it read what the operator typed
    (and, with dev.tty.legacy_tiocsti 1, could have pushed input into the
    operator's shell). As docker run without -t, it gets pipes; launch
    copies between them and the terminal."""
    hk = launch.hk
    base = [HUSK, "--root", str(STATE_ROOT), "launch", "--rm", "--net", "none", "--data-dir",
            str(launch.data), "--cache-dir", str(launch.cache), "-e", MARK_ENV]
    cid = hk.new_id()
    rc, shown = run_on_terminal(base + ["--name", cid, str(rootfs), "sh", "-c",
                                        "for f in 0 1 2; do readlink /proc/self/fd/$f; done; "
                                        "read -t 4 x <&1; echo container-read=$x"],
                                typed=b"operator-secret\n")
    assert rc == 0, shown
    lines = [l.strip() for l in shown.splitlines()]
    assert "/dev/null" in lines, shown
    assert sum(l.startswith("pipe:[") for l in lines) == 2, shown
    assert not any("/dev/pts" in l for l in lines), shown
    assert "container-read=" in lines, shown
    # -i: the terminal's input reaches the program, through a pipe
    cid = hk.new_id()
    rc, shown = run_on_terminal(base + ["-i", "--name", cid, str(rootfs), "sh", "-c",
                                        "readlink /proc/self/fd/0; read x; echo got=$x"],
                                typed=b"typed-line\n")
    assert rc == 0 and "got=typed-line" in shown and "pipe:[" in shown, shown
    assert "/dev/pts" not in shown, shown
    assert launch.entries() == []


# --------------------------------------------------------------------------
# F14: --data-dir and --cache-dir through another user's link


@pytest.fixture
def sticky(tmp_path, traversable):
    """A world-writable sticky directory (as /tmp) that uid 65534 can reach,
    and a root-owned 0755 directory beside it (say /etc)."""
    d = tmp_path / "sticky"
    d.mkdir()
    os.chmod(d, 0o1777)
    canary = tmp_path / "canary"
    canary.mkdir()
    os.chmod(canary, 0o755)
    (canary / "public.txt").write_text("anyone may read this\n")
    traversable(d, canary)
    return d, canary


def test_data_dir_through_a_users_link(launch, rootfs, sticky, tmp_path):
    """F14: --data-dir was resolved with realpath and only its end checked:
    a local user's link at the operator's --data-dir path (in /tmp) sent
    it to a root-owned directory of the user's choosing, which launch then
    chmod'ed 0700 (and filled). Walked as --root is now: a link of
    another user's is never followed."""
    d, canary = sticky
    img = Image([(tar_of_dir(rootfs), "gzip")], {"Cmd": ["true"]}).layout(tmp_path / "img")
    assert as_nobody("ln", "-s", canary, d / "data").returncode == 0
    assert as_nobody("ln", "-s", canary.parent, d / "up").returncode == 0
    for path, flag in ((d / "data", "--data-dir"), (d / "up" / "canary", "--data-dir"),
                       (d / "up" / "canary", "--cache-dir")):
        r = launch.call("--rm", flag, path, img, "true")
        assert r.rc == 125 and f"{flag} {path}" in r.err and \
            "symbolic link" in r.err, str(r)
        assert stat.S_IMODE(os.stat(canary).st_mode) == 0o755
        assert sorted(os.listdir(canary)) == ["public.txt"]
    assert as_nobody("cat", canary / "public.txt").returncode == 0
    # the walk is --root's, which refuses such a link now too
    r = launch.hk.call("--root", d / "up" / "canary", "list", root=False)
    assert r.rc != 0 and "symbolic link of uid 65534" in r.err, str(r)


@pytest.fixture
def noacl_dir(launch):
    """A directory on a filesystem without ACLs (ramfs: no xattrs at all),
    in the test's work dir."""
    mnt = launch.hk.dir("noacl")
    subprocess.run(["mount", "-t", "ramfs", "hk-noacl", str(mnt)], check=True, timeout=30)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], timeout=30)


def test_no_acl_search_is_closed_again(launch, rootfs, noacl_dir, containers_range,
                                       traversable):
    """F14: where DATA's filesystem has no ACLs, --userns auto opened DATA's
    parent to every user (o+x) for the container root, and never closed
    it again. It is closed when the last --userns auto container goes."""
    hk = launch.hk
    parent = noacl_dir / "srv"
    parent.mkdir(mode=0o700)
    os.chmod(parent, 0o700)
    data = parent / "data"
    traversable(noacl_dir)
    a, b = hk.new_id(), hk.new_id()
    for cid in (a, b):
        r = launch.call("-d", "--userns", "auto", "--data-dir", data, rootfs, "sleep", "60",
                        name=cid)
        assert r.rc == 0, str(r)
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o701
    for i, cid in enumerate((a, b)):
        hk.kill(cid, "KILL")
        hk.wait_status(cid, "stopped")
        hk.delete(cid)
        want = 0o701 if i == 0 else 0o700
        assert stat.S_IMODE(os.stat(parent).st_mode) == want, (cid, oct(os.stat(parent).st_mode))
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert sorted(os.listdir(data)) in ([], [".userns"])


# --------------------------------------------------------------------------
# outside attack on pulls, F2: a SOURCE another user planted


def test_source_planted_by_another_user_is_refused(launch, rootfs, tmp_path):
    """Root runs `husk launch alpine` in a directory others can write (a
    sticky /tmp): a directory "alpine" of another user's there was taken
    as SOURCE and ran as root's container; a link of theirs named like an
    image led root's launch to any directory of root's. A SOURCE (or a
    link at it) must be root's or husk's user's."""
    hk = launch.hk
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    planted = shared / "alpine"
    subprocess.run(["cp", "-a", str(rootfs), str(planted)], check=True, timeout=60)
    os.chown(planted, NOBODY, NOBODY)
    argv = [HUSK, "--root", STATE_ROOT, "launch", "--rm", "--net", "none", "--data-dir",
            launch.data, "--cache-dir", launch.cache, "-e", MARK_ENV, "--name", hk.new_id()]
    p = subprocess.run([*map(str, argv), "alpine", "echo", "ran"], cwd=shared,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "owned by uid 65534" in p.stderr, p
    assert "ran" not in p.stdout
    # a link of nobody's to a tree of root's
    subprocess.run(["rm", "-rf", str(planted)], check=True, timeout=30)
    os.symlink(rootfs, shared / "alpine")
    os.lchown(shared / "alpine", NOBODY, NOBODY)
    argv[-1] = hk.new_id()
    p = subprocess.run([*map(str, argv), "alpine", "echo", "ran"], cwd=shared,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "symbolic link of uid 65534" in p.stderr, p
    assert launch.entries() == []


def test_husk_exe_from_the_environment_is_not_believed(launch, rootfs, tmp_path):
    """Outside attack, F7: husk took _HUSK_EXE (how one husk tells the next
    where its binaries are) from any environment: root's
    `_HUSK_EXE=/x/husk husk launch` ran /x/husk-launch. Believed now only
    by a husk running from a read-only view of that very file."""
    evil = tmp_path / "evil"
    evil.mkdir()
    canary = tmp_path / "ran"
    for b in ("husk", "husk-launch", "husk-init"):
        (evil / b).write_text(f"#!/bin/sh\ntouch {canary}\n")
        (evil / b).chmod(0o755)
    env = dict(os.environ, _HUSK_EXE=str(evil / "husk"))
    r = launch.call("--rm", rootfs, "echo", "ok", env=env)
    assert r.rc == 0 and r.out == "ok\n", str(r)
    assert not canary.exists()
    r = launch.hk.call("run", "--bundle", "/nonexistent", "x", env=env)
    assert "CVE-2019-5736" not in r.err, str(r)
