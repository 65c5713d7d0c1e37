"""A co-container swapping the victim's mount destinations while it is made.

The attacker (issues 23 and 15, the CVE-2021-30465 class): co-container A
has victim B's rootfs directory (or a volume B uses) bound in, and runs
tests/integration/race_flip.c, which exchanges a directory of it with a
symlink (renameat2 RENAME_EXCHANGE) in a tight loop while B is created
over and over with a plain `runc spec` config (default mounts, masked and
read-only paths, no user namespace).

After each create that succeeded the attacker is paused (SIGSTOP) and B,
still waiting to be started, is judged from the host through
/proc/<pid>/mountinfo and /proc/<pid>/root.  A win for the attacker is:

* procfs or sysfs in B with a masked path left unmasked, or procfs whose
  sys/kernel/core_pattern B could open for writing (the host escape of
  issue 23);
* any mount of B at, or below, the symlink's target;
* a device node, directory or file landing in the shared volume or in the
  rootfs under B's /dev tmpfs;
* a masked file of a bind mount readable, or a read-only bind writable.

A create that fails is not a win (the attacker may make B's creation fail:
it can write B's rootfs).  Each test asserts zero wins over its creates;
against Debian's runc (HUSK=runc) it runs the same attack and, if runc
loses, is skipped with the count.  The number of creates per test is
HK_RACE_CREATES when set (`make race` runs a long campaign).
"""

import os
import re
import shutil
import signal
import stat
from pathlib import Path

import pytest

from conftest import HUSK, IS_RUNC, REPO, bind, runc_default_mounts, wait_for

# built next to husk (make integration); for another runtime, from build/
FLIP = next((p for p in (Path(HUSK).resolve().parent / "tests" / "race_flip",
                         REPO / "build" / "tests" / "race_flip") if p.exists()),
            REPO / "build" / "tests" / "race_flip")


def _creates(default):
    return int(os.environ.get("HK_RACE_CREATES") or default)


def _life(n):
    """Seconds the attacker may live: far more than n creates take."""
    return 120 + n


# --------------------------------------------------------------------------
# the attacker

class Attacker:
    """Co-container A: B's rootfs (or a shared dir) at /mnt/rw, flipping
    pairs of names there."""

    def __init__(self, hk, shared, pairs, seconds):
        assert FLIP.exists(), f"{FLIP} missing (make integration builds it)"
        self.tools = hk.dir("attacker-tools")
        (self.tools / "race_flip").write_bytes(FLIP.read_bytes())
        os.chmod(self.tools / "race_flip", 0o755)
        # a bound on its life, should this test die without deleting it
        args = ["/mnt/ro/race_flip", str(seconds), "/mnt/ro/rounds", "/mnt/rw"]
        for a, b in pairs:
            args += [a, b]
        bundle = hk.bundle(args, name="attacker", extra_mounts=[
            bind(shared, "/mnt/rw"), bind(self.tools, "/mnt/ro")])
        self.cid = hk.run_detached(bundle)
        self.pid = hk.state(self.cid)["pid"]
        wait_for(lambda: self.rounds() > 0, 10, what="the attacker to flip")

    def rounds(self):
        try:
            return int((self.tools / "rounds").read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _state(self):
        with open(f"/proc/{self.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)
        wait_for(lambda: self._state() in ("T", "t"), 5, interval=0.001,
                 what="the attacker to stop")

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)


def _victim_rootfs(hk, links):
    """A private rootfs copy with the attacker's symlinks planted in it:
    links maps a name at the top of the rootfs to the symlink's target."""
    rf = hk.rootfs_copy("victim-rootfs")
    (rf / "evil").mkdir()
    for name, target in links.items():
        os.symlink(target, rf / name)
    return rf


# --------------------------------------------------------------------------
# judging B

def _mountinfo(pid):
    """[(mount id, parent id, root, mount point, fstype)] of pid's mounts."""
    out = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields = pre.split()
            out.append((int(fields[0]), int(fields[1]), fields[3], fields[4],
                        post.split()[0]))
    return out


def _at(pid, path):
    return f"/proc/{pid}/root{path}"


def _below(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def _mounts_below(mi, top):
    return [f"{fs} on {mp}" for _i, _p, _r, mp, fs in mi if _below(mp, top)]


def _is_null(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True  # nothing there to read
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def _writable(path):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    os.close(fd)
    return True


def _judge_proc(pid, mi):
    wins = _mounts_below(mi, "/evil")
    for _i, _p, root, mp, fs in mi:
        if fs != "proc" or root != "/":
            continue
        if _writable(_at(pid, f"{mp}/sys/kernel/core_pattern")):
            wins.append(f"{mp}/sys/kernel/core_pattern writable")
        for f in ("kcore", "keys", "timer_list"):
            if not _is_null(_at(pid, f"{mp}/{f}")):
                wins.append(f"{mp}/{f} not masked")
    return wins


def _judge_sys(pid, mi):
    wins = _mounts_below(mi, "/evil")
    points = {mp: fs for _i, _p, _r, mp, fs in mi}
    for _i, _p, root, mp, fs in mi:
        if fs == "sysfs" and root == "/" and points.get(f"{mp}/firmware") != "tmpfs":
            wins.append(f"{mp}/firmware not masked")
    return wins


def _empty(d):
    for e in os.listdir(d):
        p = d / e
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _campaign(hk, attacker, bundle, n, judge, after_delete=None):
    """n creates of bundle under attack; returns (made, wins).  judge(pid,
    mountinfo) lists the wins in B; after a failed create it is called with
    (None, []) for what the create left on the host.  The attacker is
    paused from the end of each create until B is deleted and
    after_delete() has run, so the names it flips hold still meanwhile."""
    made, wins = 0, []
    errors = {}
    pidfile = hk.work / "victim.pid"
    for i in range(n):
        if pidfile.exists():
            pidfile.unlink()
        cid, r = hk.create(bundle, None, "--pid-file", pidfile, check=False)
        attacker.pause()
        try:
            if r.rc == 0:
                pid = int(pidfile.read_text())
                try:
                    mi = _mountinfo(pid)
                except OSError:
                    # gone already (runc's init dies when it cannot open
                    # the exec fifo through a /proc that was swapped away)
                    mi = None
                    errors["created, then died"] = errors.get("created, then died", 0) + 1
                made += mi is not None
                found = judge(pid, mi) if mi is not None else judge(None, [])
                hk.delete(cid, force=True)
            else:
                line = (r.err.strip().splitlines() or ["?"])[-1]
                line = re.sub(r'^time="[^"]*" ', "", line)  # runc's log lines
                errors[line] = errors.get(line, 0) + 1
                found = judge(None, [])
                if found:
                    found.insert(0, "(the create failed)")
            # a failed create left nothing to delete (the leak check sees it
            # if it did)
            hk.ids.remove(cid)
            if found:
                wins.append((i, found))
            if after_delete:
                after_delete()
        finally:
            attacker.resume()
    for line, count in sorted(errors.items(), key=lambda e: -e[1]):
        print(f"{count} creates failed: {line}")
    return made, wins


def _verdict(hk, what, n, made, wins, attacker):
    rounds = attacker.rounds()
    summary = (f"{what}: {len(wins)} wins in {made} successful creates of {n} "
               f"({rounds} flip rounds)")
    print(summary)
    if IS_RUNC and wins:
        pytest.skip(f"runc 1.1.5 loses: {summary}; first: {wins[0]}")
    assert not wins, f"{summary}; first wins: {wins[:3]}"
    assert made > 0, f"{summary}: no container could be made at all"
    assert rounds > n, f"{summary}: the attacker hardly flipped"


# --------------------------------------------------------------------------
# the attacks

def test_proc_swapped_for_symlink(hk):
    """Issue 23: /proc exchanged with a symlink to /evil.  Before the fix
    procfs landed on /evil with its masks and read-only /proc/sys skipped,
    and core_pattern was writable from the container: a host escape."""
    rf = _victim_rootfs(hk, {"proc-flip": "/evil"})
    n = _creates(300)
    attacker = Attacker(hk, rf, [("proc", "proc-flip")], _life(n))
    b = hk.bundle(["true"], rootfs=rf)
    made, wins = _campaign(hk, attacker, b, n, _judge_proc)
    _verdict(hk, "/proc", n, made, wins, attacker)


def test_proc_swapped_for_directory(hk):
    """/proc exchanged with another directory: no symlink to refuse, so
    procfs may land on either; the one that is /proc once the root is in
    place must be the procfs made for it, and whichever directory it is
    on, it is masked."""
    rf = _victim_rootfs(hk, {})
    (rf / "proc-alt").mkdir()
    n = _creates(100)
    attacker = Attacker(hk, rf, [("proc", "proc-alt")], _life(n))
    b = hk.bundle(["true"], rootfs=rf)
    made, wins = _campaign(hk, attacker, b, n, _judge_proc)
    _verdict(hk, "/proc (directory)", n, made, wins, attacker)


def test_sys_swapped_for_symlink(hk):
    """/sys exchanged with a symlink: sysfs (and the cgroup mount below it)
    must land on B's /sys, with /sys/firmware masked."""
    rf = _victim_rootfs(hk, {"sys-flip": "/evil"})
    n = _creates(100)
    attacker = Attacker(hk, rf, [("sys", "sys-flip")], _life(n))
    b = hk.bundle(["true"], rootfs=rf)
    made, wins = _campaign(hk, attacker, b, n, _judge_sys)
    _verdict(hk, "/sys", n, made, wins, attacker)


def test_dev_swapped_for_symlink_to_volume(hk):
    """/dev exchanged with a symlink to a volume B shares with the attacker:
    /dev's tmpfs, devpts, shm and mqueue and the device nodes must all land
    in B's own /dev, never in the volume or in the rootfs under it."""
    vol = hk.dir("volume")
    rf = _victim_rootfs(hk, {"dev-flip": "/mnt/rw"})
    n = _creates(100)
    attacker = Attacker(hk, rf, [("dev", "dev-flip")], _life(n))
    b = hk.bundle(["true"], rootfs=rf, extra_mounts=[bind(vol, "/mnt/rw")])
    b.config["linux"]["devices"] = [
        {"path": "/dev/hk/zero2", "type": "c", "major": 1, "minor": 5}]
    b.write()

    def judge(pid, mi):
        wins = [f"{fs} on {mp}" for _i, _p, _r, mp, fs in mi
                if mp.startswith("/mnt/rw/")]
        at_vol = [fs for _i, _p, _r, mp, fs in mi if mp == "/mnt/rw"]
        if pid is not None and len(at_vol) != 1:
            wins.append(f"mounts on the volume: {at_vol}")
        for d in (vol, rf / "dev", rf / "dev-flip"):
            if d.is_dir() and not d.is_symlink() and os.listdir(d):
                wins.append(f"in {d.name}: {sorted(os.listdir(d))}")
                # emptied (B's mounts there are gone with B), so that each
                # win is counted once
                dirty.append(d)
        return wins

    dirty = []

    def clean():
        while dirty:
            _empty(dirty.pop())

    made, wins = _campaign(hk, attacker, b, n, judge, after_delete=clean)
    _verdict(hk, "/dev", n, made, wins, attacker)


def test_bind_paths_masked_and_readonly(hk):
    """maskedPaths and readonlyPaths inside bind mounts, with the rootfs
    directory above the binds exchanged with a symlink: the masked file of
    the secret bind must never be readable in B, the read-only bind never
    writable, wherever the attacker made the binds land."""
    secret, data = hk.dir("secret"), hk.dir("data")
    (secret / "key").write_text("host secret\n")
    rf = _victim_rootfs(hk, {"srv-flip": "/evil"})
    (rf / "srv" / "secret").mkdir(parents=True)
    (rf / "srv" / "data").mkdir()
    n = _creates(100)
    attacker = Attacker(hk, rf, [("srv", "srv-flip")], _life(n))
    b = hk.bundle(["true"], rootfs=rf, extra_mounts=[
        bind(secret, "/srv/secret"), bind(data, "/srv/data")])
    b.config["linux"]["maskedPaths"].append("/srv/secret/key")
    b.config["linux"]["readonlyPaths"].append("/srv/data")
    b.write()
    ids = {(st.st_dev, st.st_ino): what for what, st in
           (("secret", os.stat(secret)), ("data", os.stat(data)))}

    def judge(pid, mi):
        wins = []
        for mp in sorted({mp for _i, _p, _r, mp, _fs in mi}):  # none if pid is None
            try:
                st = os.stat(_at(pid, mp))
            except OSError:
                continue
            what = ids.get((st.st_dev, st.st_ino))
            if what == "secret" and not _is_null(_at(pid, f"{mp}/key")):
                wins.append(f"{mp}/key readable")
            if what == "data" and os.access(_at(pid, mp), os.W_OK):
                wins.append(f"{mp} writable")
        return wins

    made, wins = _campaign(hk, attacker, b, n, judge)
    _verdict(hk, "binds", n, made, wins, attacker)


def test_dev_bound_from_volume_untouched(hk):
    """/dev bound from a directory others share, with linux.devices: no node
    is made (or replaced) in it.  Before, husk unlinked the directory's
    "null" and made its nodes there, on the host; runc makes no devices
    when /dev is a bind mount, and husk now does the same."""
    vol = hk.dir("devvol")
    (vol / "null").write_text("the volume's own file\n")
    before = sorted(os.listdir(vol))
    b = hk.bundle(["true"], mounts=[m for m in runc_default_mounts()
                                    if not m["destination"].startswith("/dev")],
                  extra_mounts=[bind(vol, "/dev")])
    b.config["linux"]["devices"] = [
        {"path": "/dev/hk-zero", "type": "c", "major": 1, "minor": 5},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    # masks would need the volume's "null" to be the null device
    b.config["linux"]["maskedPaths"] = []
    b.write()
    cid = hk.create(b)
    hk.delete(cid, force=True)
    assert sorted(os.listdir(vol)) == before
    assert (vol / "null").read_text() == "the volume's own file\n"


def test_renames_elsewhere_do_not_fail_creates(hk):
    """A co-container renaming in a loop in a directory of its own, shared
    with no one: every openat2 with ".." on the machine may then fail with
    EAGAIN (openat2(2)), and husk did not retry, so containers whose paths
    hold ".." (a cwd, a symlink on the way to a mount) failed to start now
    and then.  Now all of them must run."""
    own = hk.dir("attacker-own")
    (own / "x").mkdir()
    (own / "y").mkdir()
    n = _creates(50)
    attacker = Attacker(hk, own, [("x", "y")], _life(n))
    rf = hk.rootfs_copy("victim-rootfs")
    os.symlink("../../tmp", rf / "mnt" / "up")
    b = hk.bundle(["true"], rootfs=rf, cwd="/tmp/../tmp",
                  extra_mounts=[{"destination": "/mnt/up/t", "type": "tmpfs",
                                 "source": "tmpfs", "options": []}])
    failed = []
    for _ in range(n):
        r = hk.run_fg(b)
        if r.rc != 0:
            failed.append(r.err.strip())
    print(f"renames elsewhere: {len(failed)} of {n} runs failed "
          f"({attacker.rounds()} flip rounds)")
    assert not failed, f"{len(failed)} of {n} runs failed: {failed[:3]}"
    assert attacker.rounds() > n
