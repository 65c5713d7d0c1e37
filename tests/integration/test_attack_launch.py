"""Attacks on husk launch (issues 15 and 23): a local user of the host going
for the layers, overlay and cache of launched containers; hostile layer
entries; a launch killed at any instant; a detached container's output
filling the host's disk.

Each test performs the attack as an outsider would; every one of them
failed on husk before the fixes named in its docstring.
"""
import io
import json
import os
import random
import signal
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import (HUSK, MARK_ENV, STATE_ROOT, cgroup_dirs_named, mountinfo_lines_mentioning,
                      session_processes, wait_for)
from ocimage import Image, tar_of, tar_of_dir
from test_launch import (containers_range, launch, no_mounts_of,  # noqa: F401  (fixtures)
                         subids)

pytestmark = pytest.mark.husk_only

NOBODY = 65534

SUID_C = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid=%d\n", (int)geteuid()); return 0; }
"""


def build_suid_prog(tmp_path):
    src = tmp_path / "euid.c"
    src.write_text(SUID_C)
    out = tmp_path / "euid"
    subprocess.run(["cc", "-static", "-O1", "-o", str(out), str(src)], check=True,
                   capture_output=True, timeout=60)
    return out.read_bytes()


def root_disk():
    """(major, minor) of the block device holding the host's /."""
    st = os.stat("/")
    return os.major(st.st_dev), os.minor(st.st_dev)


def hostile_layer(prog):
    """What the issue's attacker put in an image: a setuid-root program, the
    host's /dev/kmsg (c 1:11) and its root disk as block node, all 0666;
    and /dev/null (c 1:3), which containers may use."""
    buf = io.BytesIO()
    major, minor = root_disk()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("suid-euid")
        ti.size, ti.mode, ti.uid, ti.gid = len(prog), 0o4755, 0, 0
        t.addfile(ti, io.BytesIO(prog))
        for name, kind, dev in (("kmsg", tarfile.CHRTYPE, (1, 11)),
                                ("disk", tarfile.BLKTYPE, (major, minor)),
                                ("imgnull", tarfile.CHRTYPE, (1, 3))):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = kind, 0o666
            ti.devmajor, ti.devminor = dev
            t.addfile(ti)
    return buf.getvalue()


# Run as uid 65534 on the host: for each path, what could be done with it.
PROBE = r"""
import json, os, subprocess, sys
out = {}
for p in sys.argv[1:]:
    r = {}
    try:
        os.stat(p)
        r["stat"] = True
    except OSError as e:
        r["stat"] = e.strerror
    base = os.path.basename(p)
    try:
        if base == "suid-euid":
            r["run"] = subprocess.run([p], capture_output=True, text=True,
                                      timeout=10).stdout.strip()
        elif base in ("kmsg", "disk"):
            # open only: never write to the kernel log or read a disk
            os.close(os.open(p, os.O_WRONLY if base == "kmsg" else os.O_RDONLY))
            r["open"] = True
        elif os.path.isdir(p):
            r["list"] = len(os.listdir(p))
    except OSError as e:
        r["err"] = e.strerror
    out[p] = r
print(json.dumps(out))
"""


def as_nobody(paths):
    p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        "/usr/bin/python3", "-c", PROBE, *map(str, paths)],
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert p.returncode == 0, p
    return json.loads(p.stdout)


def test_other_users_reach_no_layer_overlay_or_cache(launch, rootfs, traversable, tmp_path,
                                                     containers_range):
    """Issue 15 item 2 (moby CVE-2021-41091): with --userns auto the
    idmapped layers (DATA/<id>/lowerN) and the overlay (DATA/<id>/rootfs)
    were mounted in the host's namespace without nosuid or nodev, under
    directories searchable by everyone: as uid 65534 the image's setuid
    file ran as the container's root, its c 1:11 node opened the host's
    kernel log and its block node the host's disk. Nothing of a launched
    container may be reachable by another user; inside the container,
    image device nodes and the rootfs mount behave as in podman."""
    hk = launch.hk
    # the test's own directories above DATA (husk's business starts there)
    traversable(launch.data.parent)
    img = Image([(tar_of_dir(rootfs), "gzip"), (hostile_layer(build_suid_prog(tmp_path)), "tar")],
                {"Cmd": ["sleep", "30"]})
    src = img.layout(tmp_path / "img")
    a, b = hk.new_id(), hk.new_id()
    launch.ok("-d", "--userns", "auto", "-u", "0", src, name=a)
    launch.ok("-d", src, name=b)
    # inside: the image's /dev/null node works, its kmsg is refused by the
    # devices cgroup, and "/" is not nosuid/nodev (as podman's rootfs)
    r = hk.ok("exec", a, "sh", "-c", "cat /imgnull && echo null-ok; "
              "echo x 2>/dev/null > /kmsg || echo kmsg-refused; "
              "awk '$5 == \"/\" {print $6}' /proc/self/mountinfo | tail -1")
    lines = r.out.split()
    assert lines[:2] == ["null-ok", "kmsg-refused"], str(r)
    assert not {"nosuid", "nodev"} & set(lines[2].split(",")), str(r)
    paths = [launch.data, launch.cache]
    for cid in (a, b):
        d = launch.data / cid
        paths += [d, d / "upper", d / "config.json"]
        for sub in ("rootfs", "lower0", "lower1"):
            paths += [d / sub / n for n in ("suid-euid", "kmsg", "disk")]
    layer = launch.cache / "sha256" / img.layer_hex(1)
    paths += [layer / n for n in ("suid-euid", "kmsg", "disk")]
    got = as_nobody(paths)
    # DATA and CACHE themselves may be seen to exist, not listed or entered
    top = {str(launch.data), str(launch.cache)}
    reached = {p: r for p, r in got.items()
               if (r.get("stat") is True and p not in top) or "list" in r}
    try:
        assert not reached, f"uid {NOBODY} reached: {json.dumps(reached, indent=1)}"
    finally:
        for cid in (a, b):
            hk.kill(cid, "KILL")
            hk.wait_status(cid, "stopped")
            hk.delete(cid)
    assert launch.entries() == []
    assert no_mounts_of(launch.data)


# --------------------------------------------------------------------------
# hostile layer entries


def layer_image(rootfs, members):
    return Image([(tar_of_dir(rootfs), "gzip"), (members if isinstance(members, bytes)
                                                  else tar_of(members), "tar")],
                 {"Cmd": ["true"]})


def test_whiteout_names_checked_before_acting(launch, rootfs, tmp_path):
    """Issue 15 item 5: ".wh..." (whiteout of "..") ran a recursive delete
    of the entry's parent, ".wh.." of its own directory, before the name
    was checked; the error said nothing useful. Now the layer is refused
    naming the entry, and nothing was removed."""
    for n, entry in enumerate(("keep/sub/.wh...", ".wh..", "keep/.wh..", ".wh.")):
        img = layer_image(rootfs, [("keep/a", b"a\n"), ("keep/sub/b", b"b\n"), (entry, b"")])
        r = launch.call("--rm", img.layout(tmp_path / f"img{n}"))
        assert r.rc == 125, str(r)
        assert f'layer entry "{entry}": a whiteout must name an entry' in r.err, str(r)
        assert not (launch.cache / "sha256" / img.layer_hex(1)).exists()
        assert os.listdir(launch.cache / "tmp") == []
    # aufs metadata names are ignored (as containerd does), "." components
    # are no names of their own
    img = layer_image(rootfs, [("keep/a", b"a\n"), ("keep/.wh..wh.plnk", b""),
                               ("keep/./b", b"b\n"), ("keep/.", None)])
    r = launch.call("--rm", img.layout(tmp_path / "meta"), "sh", "-c", "ls -A /keep")
    assert r.rc == 0 and r.out.split() == ["a", "b"], str(r)
    assert launch.entries() == []


def test_hostile_layer_entries(launch, rootfs, tmp_path):
    """Issue 15: every path of a layer is hostile input. Absolute names stay
    inside the layer; hardlinks that leave it (by "..", by an absolute name
    meaning the host's file, through a symlink) and a header that promises
    more data than the tar has are refused, leaving nothing behind. (These
    held before: the test keeps them.)"""
    passwd = os.stat("/etc/passwd")
    img = layer_image(rootfs, [("/hk-abs-evil", b"x\n")])
    r = launch.call("--rm", img.layout(tmp_path / "abs"), "cat", "/hk-abs-evil")
    assert r.rc == 0 and r.out == "x\n", str(r)
    assert not Path("/hk-abs-evil").exists()
    huge = tarfile.TarInfo("huge")
    huge.size = 1 << 40
    truncated = huge.tobuf(format=tarfile.PAX_FORMAT) + b"\0" * 4096
    for name, members, want in (
            ("hl-dotdot", [("l", ("link", "../../../../etc/passwd"))], "points outside"),
            ("hl-abs", [("l", ("link", "/etc/passwd"))], "hardlink l -> /etc/passwd"),
            ("hl-symlink", [("evil", ("symlink", "/etc")), ("l", ("link", "evil/passwd"))],
             "layer entry evil"),
            ("huge", truncated, "layer")):
        img = layer_image(rootfs, members)
        r = launch.call("--rm", img.layout(tmp_path / name), "true")
        assert r.rc == 125 and want in r.err, f"{name}: {r}"
        assert not (launch.cache / "sha256" / img.layer_hex(1)).exists()
        assert os.listdir(launch.cache / "tmp") == []
    assert os.stat("/etc/passwd").st_nlink == passwd.st_nlink
    assert launch.entries() == []


def chown_tree(path, uid):
    for dirpath, dirnames, filenames in os.walk(path):
        for n in [dirpath] + [os.path.join(dirpath, f) for f in dirnames + filenames]:
            os.lchown(n, uid, uid)


def test_cache_and_data_dir_of_another_user(launch, rootfs, tmp_path):
    """A cache or data directory that another user made (say in /tmp,
    before root used it) is theirs to fill: a "verified" layer planted in
    the cache was used as is. Such a directory is refused; one of husk's
    own that is open to others (an admin's 0755, or the 0711 an older husk
    gave DATA for --userns auto) is closed to 0700."""
    hk = launch.hk
    img = layer_image(rootfs, [("real", b"real\n")])
    src = img.layout(tmp_path / "img")
    evil = tmp_path / "evil-cache"
    planted = evil / "sha256" / img.layer_hex(1)
    planted.mkdir(parents=True)
    (planted / "planted").write_text("planted\n")
    chown_tree(evil, NOBODY)
    evil_data = tmp_path / "evil-data"
    evil_data.mkdir()
    os.chown(evil_data, NOBODY, NOBODY)
    for flag, d in (("--cache-dir", evil), ("--data-dir", evil_data)):
        r = launch.call("--rm", flag, d, src, "cat", "/planted")
        assert r.rc == 125, str(r)
        assert f"{flag} {d}: {d} is owned by uid {NOBODY}, not by husk's uid" in r.err, str(r)
    assert launch.entries() == [] and os.listdir(evil_data) == []
    open_cache, open_data = tmp_path / "c755", tmp_path / "d711"
    open_cache.mkdir(mode=0o755)
    open_data.mkdir()
    os.chmod(open_cache, 0o755)
    os.chmod(open_data, 0o711)
    r = launch.call("--rm", "--cache-dir", open_cache, "--data-dir", open_data, src, "cat",
                    "/real")
    assert r.rc == 0 and r.out == "real\n", str(r)
    assert stat.S_IMODE(os.stat(open_cache).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(open_data).st_mode) == 0o700


# --------------------------------------------------------------------------
# a launch killed at any instant


def test_launch_killed_at_any_instant(launch, rootfs, traversable, tmp_path, containers_range):
    """Issue 23 item 3: `husk launch` killed early left its overlay mount
    and DATA/<id> (4 kills of 30 between 1 and 12 ms): `delete --force`
    could not see them, the name stayed taken. Killed at any instant, the
    next `husk delete --force NAME` must leave no mount (in any mount
    namespace), no DATA/<id>, no cgroup, no state, no process.
    HK_LAUNCH_KILL_ROUNDS sets the number of rounds (make launch-kill runs
    many)."""
    hk = launch.hk
    sess = hk.sess
    traversable(launch.data.parent)
    rounds = int(os.environ.get("HK_LAUNCH_KILL_ROUNDS", "40"))
    seed = int(os.environ.get("HK_LAUNCH_KILL_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    img = Image([(tar_of_dir(rootfs), "gzip")], {"Cmd": ["sleep", "30"]})
    src = img.layout(tmp_path / "img")
    launch.ok("--rm", src, "true")  # the cache is warm: kills land in launch itself
    # the kills are spread over a launch's life as long as it is on this
    # machine now (the seccomp cache made it shorter than the 50 ms the
    # spread once was: most launches ended before their kill)
    t0 = time.monotonic()
    launch.ok("--rm", src, "true")
    span = max(0.005, 0.9 * (time.monotonic() - t0))
    variants = (
        [rootfs, "true"],
        ["-d", rootfs, "sleep", "30"],
        ["-d", "--userns", "auto", src],
        ["--rm", "--userns", "auto", src, "true"],
        ["-d", "--rm", src],
    )
    # and each variant's spread shrinks when one of its launches ended
    # before its kill (a -d launch ends once the container runs; a busy
    # machine makes any of them vary)
    spans = [span] * len(variants)
    hit = {}
    for i in range(rounds):
        name = hk.new_id()
        args = variants[i % len(variants)]
        argv = [HUSK, "--root", STATE_ROOT, "launch", "--name", name, "--net", "none",
                "--data-dir", launch.data, "--cache-dir", launch.cache, "-e", MARK_ENV, *args]
        delay = rng.uniform(0, spans[i % len(variants)])
        p = subprocess.Popen(list(map(str, argv)), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=20)
        hit[p.returncode == -signal.SIGKILL] = hit.get(p.returncode == -signal.SIGKILL, 0) + 1
        if p.returncode != -signal.SIGKILL:
            spans[i % len(variants)] = max(0.002, 0.8 * delay)
        r = hk.call("--debug", "delete", "--force", name, timeout=30)
        what = f"round {i} (seed {seed}, {delay * 1000:.1f} ms, {' '.join(map(str, args))})"
        assert r.rc == 0, f"{what}: {r}"
        assert not (launch.data / name).exists(), \
            f"{what}: DATA/<id> left: {sorted(os.listdir(launch.data / name))}\n{r}"
        assert not (STATE_ROOT / name).exists(), f"{what}: state left"
        assert not cgroup_dirs_named(name), f"{what}: cgroup left"
        assert no_mounts_of(launch.data), f"{what}: mounts left"
        wait_for(lambda: not session_processes(sess.rootfs_ids), timeout=5,
                 what=f"{what}: no process left")
    assert hit.get(True, 0) >= rounds // 2, f"too few launches were killed: {hit}"
    assert not mounts_in_any_namespace(launch.data)
    assert launch.entries() == []
    claims = launch.data / ".userns"
    assert not claims.exists() or os.listdir(claims) == []


def mounts_in_any_namespace(needle):
    """Mount lines mentioning needle in the mount namespace of any process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/mountinfo") as f:
                found += [f"{pid}: {l.strip()}" for l in f if str(needle) in l]
        except OSError:
            pass
    return found


# --------------------------------------------------------------------------
# -d's output.log


def log_files(d):
    return sorted(n for n in os.listdir(d) if n.startswith("output.log"))


def test_detached_output_log_is_capped_and_rotated(launch, rootfs):
    """Issue 23 item 6: the output of `launch -d` went to output.log without
    bound (300 MiB of a loop's output on the host's root filesystem). Now
    it is rotated as docker's json-file driver does with --log-opt max-size
    and max-file; a link planted where a rotated file goes is replaced,
    never written through."""
    hk = launch.hk
    n = 30000
    r = launch.ok("-d", "--log-opt", "max-size=64k", "--log-opt", "max-file=3", rootfs, "sh",
                  "-c", f"sleep 0.2; i=0; while [ $i -lt {n} ]; do echo line $i; "
                  "i=$((i+1)); done")
    cid = launch.last
    d = launch.data / cid
    victim = launch.hk.work / "victim"
    victim.write_text("untouched\n")
    os.symlink(victim, d / "output.log.2")
    hk.wait_status(cid, "stopped", timeout=30)
    last = f"line {n - 1}\n".encode()
    wait_for(lambda: (d / "output.log").read_bytes().endswith(last), timeout=10,
             what="the last line in output.log")
    assert log_files(d) == ["output.log", "output.log.1", "output.log.2"]
    kept = b""
    for f in ("output.log.2", "output.log.1", "output.log"):
        st = os.lstat(d / f)
        assert stat.S_ISREG(st.st_mode) and st.st_size <= 64 << 10, f
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0, f
        data = (d / f).read_bytes()
        # rotated files are full, up to their last whole line
        assert data.startswith(b"line ") and data.endswith(b"\n"), f
        assert f == "output.log" or st.st_size > (64 << 10) - 16, (f, st.st_size)
        kept += data
    full = "".join(f"line {i}\n" for i in range(n)).encode()
    assert len(full) > 3 * (64 << 10)
    assert full.endswith(kept)
    assert victim.read_text() == "untouched\n"
    assert stat.S_IMODE(os.stat(d).st_mode) & 0o077 == 0
    hk.delete(cid)
    assert launch.entries() == []


def test_detached_output_log_default_cap(launch, rootfs):
    """Without --log-opt, a detached container's log takes at most
    3 x 10 MiB of the host's disk, however much the program prints."""
    hk = launch.hk
    launch.ok("-d", rootfs, "sh", "-c", "dd if=/dev/zero bs=1M count=34 2>/dev/null; echo end")
    cid = launch.last
    d = launch.data / cid
    hk.wait_status(cid, "stopped", timeout=60)
    wait_for(lambda: (d / "output.log").read_bytes().endswith(b"end\n"), timeout=30,
             what="the end in output.log")
    sizes = {f: os.stat(d / f).st_size for f in log_files(d)}
    assert set(sizes) == {"output.log", "output.log.1", "output.log.2"}, sizes
    assert all(s <= 10 << 20 for s in sizes.values()), sizes
    assert sum(sizes.values()) <= 30 << 20, sizes
    hk.delete(cid)


def test_log_opt_errors(launch, rootfs):
    for opt, want in (("max-size=lots", 'max-size: "lots" is not a size'),
                      ("max-size=-1", 'max-size: "-1" is not a size'),
                      ("max-file=0", 'max-file: "0" is not a number from 1 to 100'),
                      ("mode=non-blocking", 'is not max-size=SIZE or max-file=N')):
        r = launch.call("-d", "--log-opt", opt, rootfs, "true")
        assert r.rc != 0 and want in r.err, str(r)
        assert launch.last not in launch.hk.list_ids()
    assert launch.entries() == []


def test_cleanup_hook_removes_only_its_own(launch, rootfs, tmp_path):
    """The state a launch reserves before it makes DATA/<id> has a cleanup
    hook for DATA/<id>. A launch under another --root that shares DATA and
    finds the name's directory taken must not leave a hook that removes the
    other container's: the hooks name their launch by the token in
    DATA/<id>/.owner."""
    hk = launch.hk
    a = hk.new_id()
    launch.ok("-d", rootfs, "sleep", "30", name=a)
    d = launch.data / a
    before = sorted(os.listdir(d))
    other = tmp_path / "other-root"
    r = hk.call("--root", other, "launch", "--name", a, "--net", "none", "--data-dir",
                launch.data, "--cache-dir", launch.cache, "-e", MARK_ENV, rootfs, "true",
                root=False)
    assert r.rc == 125 and f"container {a} exists already" in r.err, str(r)
    assert not (other / a).exists()
    helper = str(Path(HUSK).parent / "husk-launch")
    # the hook as it is now, and as older states name it
    for argv in (["cleanup", "--owner", "0" * 32, d], ["launch", "--cleanup", d, "--owner",
                                                       "0" * 32]):
        p = subprocess.run([helper, *map(str, argv)], capture_output=True,
                           text=True, timeout=20)
        assert p.returncode == 0, p
    assert sorted(os.listdir(d)) == before
    assert hk.ok("exec", a, "true")
    # an empty directory without a token (a launch killed right after its
    # mkdir) goes; one with content stays
    for name, content in (("empty", False), ("full", True)):
        e = launch.data / f"{a}-{name}"
        e.mkdir()
        if content:
            (e / "upper").mkdir()
        p = subprocess.run([helper, "launch", "--cleanup", str(e), "--owner", "1" * 32],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0 and e.exists() == content, p
        if content:
            (e / "upper").rmdir()
            e.rmdir()
    hk.kill(a, "KILL")
    hk.wait_status(a, "stopped")
    hk.delete(a)
    assert launch.entries() == []
