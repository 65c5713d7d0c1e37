"""husk launch: a program from a rootfs directory or an OCI image, with safe
defaults, through the same create/start code as the OCI face.

Every launch here uses a private --data-dir and --cache-dir inside the
test's work directory (never /var/lib/husk), so the leak checks see any
overlay mount left behind; containers are named with the session's prefix
and carry its marker in their environment.
"""
import hashlib
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import time
import tarfile
import tempfile
import stat
from pathlib import Path

import pytest

from conftest import HUSK, MARK_ENV, STATE_ROOT, mountinfo_lines_mentioning, wait_for
from ocimage import Image, tar_of, tar_of_dir

pytestmark = pytest.mark.husk_only

INIT = Path(HUSK).parent / "husk-init"


class Launcher:
    def __init__(self, hk):
        self.hk = hk
        self.data = hk.dir("data")
        self.cache = hk.dir("cache")

    def call(self, *args, name=None, net="none", env=None, timeout=20):
        name = name or self.hk.new_id()
        self.last = name
        argv = ["launch", "--name", name, "--data-dir", self.data, "--cache-dir", self.cache,
                "-e", MARK_ENV]
        if net:
            argv += ["--net", net]
        return self.hk.call(*argv, *args, env=env, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.call(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    def settle(self, timeout=10):
        """Wait for the after-care to have emptied DATA/.trash: launch
        --rm returns before its writable layer's files are removed
        (cmd/husk-launch/aftercare.c). True when it is gone."""
        deadline = time.monotonic() + timeout
        while (Path(self.data) / ".trash").exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def entries(self):
        self.settle()
        # .userns holds --userns=auto's claims
        return sorted(e for e in os.listdir(self.data) if e != ".userns")


@pytest.fixture
def launch(hk):
    if not os.access(INIT, os.X_OK):
        pytest.skip(f"{INIT} not built")
    return Launcher(hk)


SUBID_FILES = ("/etc/subuid", "/etc/subgid")
USERNS_SIZE = 65536


def sub_lines(path):
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


def free_sub_start(count):
    """A start above every range of /etc/subuid and /etc/subgid and every
    id of /etc/passwd and /etc/group, slot aligned."""
    top = 1 << 20
    for path in SUBID_FILES:
        for line in sub_lines(path):
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                top = max(top, int(parts[1]) + int(parts[2]))
    for path, field in (("/etc/passwd", 2), ("/etc/group", 2)):
        for line in sub_lines(path):
            parts = line.split(":")
            if len(parts) > field and parts[field].isdigit():
                top = max(top, int(parts[field]) + 1)
    top = (top + USERNS_SIZE - 1) // USERNS_SIZE * USERNS_SIZE
    assert top + count < 1 << 32
    return top


class SubIds:
    """Lines of /etc/subuid and /etc/subgid a test adds, removed again
    (exactly those lines) when it ends."""

    def __init__(self):
        self.added = []

    def add(self, owner, start, count, files=SUBID_FILES):
        line = f"{owner}:{start}:{count}"
        for path in files:
            text = "\n".join(sub_lines(path))
            with open(path, "w") as f:
                f.write((text + "\n" if text else "") + line + "\n")
            self.added.append((path, line))
        return start

    def remove(self):
        for path, line in reversed(self.added):
            lines = sub_lines(path)
            if line in lines:
                lines.remove(line)
                Path(path).write_text("".join(l + "\n" for l in lines))
        self.added.clear()


@pytest.fixture
def subids():
    s = SubIds()
    try:
        yield s
    finally:
        s.remove()


@pytest.fixture
def containers_range(subids):
    """--userns auto takes its ranges from the "containers" entries of
    /etc/subuid and /etc/subgid (podman's convention): one of 8 slots,
    unless the host has one already. Returns its first id."""
    have = [l for path in SUBID_FILES for l in sub_lines(path) if l.startswith("containers:")]
    if len(have) >= 2:
        return int(have[0].split(":")[1])
    return subids.add("containers", free_sub_start(8 * USERNS_SIZE), 8 * USERNS_SIZE)


def tree_digest(root):
    """Every entry's type, mode, owner and content (or link target)."""
    h = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            else:
                what = ""
            h[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_gid, what)
    return h


def no_mounts_of(path):
    return not mountinfo_lines_mentioning(path)


# --------------------------------------------------------------------------
# root filesystem directories


def test_rootfs_untouched_and_writes_private(launch, rootfs):
    before = tree_digest(rootfs)
    hk = launch.hk
    a = hk.new_id()
    b = hk.new_id()
    launch.ok("-d", rootfs, "sh", "-c", "echo a > /etc/mine; rm /etc/group; sleep 30", name=a)
    launch.ok("-d", rootfs, "sh", "-c", "echo b > /etc/mine; sleep 30", name=b)
    wait_for(lambda: hk.call("exec", a, "test", "-e", "/etc/mine").rc == 0, what="a's write")
    wait_for(lambda: hk.call("exec", b, "test", "-e", "/etc/mine").rc == 0, what="b's write")
    assert hk.ok("exec", a, "cat", "/etc/mine").out == "a\n"
    assert hk.ok("exec", b, "cat", "/etc/mine").out == "b\n"
    # a's deletion is a's only
    assert hk.call("exec", a, "test", "-e", "/etc/group").rc != 0
    assert hk.ok("exec", b, "cat", "/etc/group").out.startswith("root:")
    # list/state of the OCI face see launched containers
    assert {a, b} <= set(hk.list_ids())
    st = hk.state(a)
    assert st["status"] == "running" and st["bundle"] == str(launch.data / a)
    assert tree_digest(rootfs) == before
    for cid in (a, b):
        hk.kill(cid, "KILL")
        hk.wait_status(cid, "stopped")
        hk.delete(cid)
    assert tree_digest(rootfs) == before
    assert launch.entries() == []
    assert no_mounts_of(launch.data)


def test_rm_removes_layer_and_state(launch, rootfs):
    r = launch.call("--rm", rootfs, "sh", "-c", "echo hi > /x; cat /x; exit 7")
    assert r.rc == 7 and r.out == "hi\n", str(r)
    assert launch.last not in launch.hk.list_ids()
    assert launch.entries() == []
    assert no_mounts_of(launch.data)


def test_without_rm_stays_until_delete(launch, rootfs):
    hk = launch.hk
    r = launch.ok(rootfs, "sh", "-c", "echo kept > /kept")
    cid = launch.last
    assert hk.status(cid) == "stopped"
    upper = launch.data / cid / "upper"
    assert (upper / "kept").read_text() == "kept\n"
    assert json.loads((launch.data / cid / "config.json").read_text())["root"]["path"] \
        == str(launch.data / cid / "rootfs")
    # a plain delete runs the poststop hook that removes the layer
    hk.delete(cid)
    assert launch.entries() == []
    assert no_mounts_of(launch.data)


def test_keep_leaves_the_writable_layer(launch, rootfs):
    launch.ok("--rm", "--keep", rootfs, "sh", "-c", "echo kept > /kept")
    cid = launch.last
    assert (launch.data / cid / "upper" / "kept").read_text() == "kept\n"
    assert no_mounts_of(launch.data)


def test_process_options(launch, rootfs, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("from host\n")
    r = launch.call("--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1:1", "--hostname", "box",
                    "-v", f"{vol}:/mnt/v:ro", rootfs, "sh", "-c",
                    "echo $FOO; pwd; id -u; id -g; hostname; cat /mnt/v/f; "
                    "touch /mnt/v/g 2>/dev/null || echo ro")
    assert r.rc == 0, str(r)
    assert r.out.split("\n")[:7] == ["bar", "/tmp", "1", "1", "box", "from host", "ro"]
    r = launch.call("--rm", "-u", "nobody", rootfs, "id")
    assert r.rc == 0 and "uid=65534(nobody) gid=65534" in r.out, str(r)


def test_safe_defaults(launch, rootfs):
    r = launch.call("--rm", rootfs, "sh", "-c",
                    "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; "
                    "ps -o pid,args | sed -n 2p; "
                    "cat /proc/timer_list /proc/interrupts | wc -c; "
                    "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sysro; "
                    "unshare -U true 2>/dev/null || echo nouserns; "
                    "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done")
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    status = dict(l.split(":\t") for l in lines[:4])
    # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    # NET_BIND_SERVICE SYS_CHROOT SETFCAP: podman's set, smaller than Docker's
    assert status["CapEff"] == status["CapBnd"] == "00000000800405fb"
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    assert "/dev/init" in lines[4] and lines[4].split()[0] == "1"
    assert lines[5].strip() == "0"
    assert lines[6] == "sysro" and lines[7] == "nouserns"
    for n, inside in zip(("pid", "net", "ipc", "uts", "mnt", "cgroup"), lines[8:14]):
        assert inside != os.readlink(f"/proc/self/ns/{n}"), n


def test_unconfined_no_init_and_caps(launch, rootfs):
    r = launch.call("--rm", "--no-init", "--security-opt", "seccomp=unconfined",
                    "--cap-drop", "ALL", "--cap-add", "net_raw", rootfs, "sh", "-c",
                    "grep -E '^(CapEff|Seccomp):' /proc/self/status; echo $$; "
                    "unshare -U true && echo userns")
    assert r.rc == 0, str(r)
    assert r.out.split() == ["CapEff:", "0000000000002000", "Seccomp:", "0", "1", "userns"]


def test_read_only_and_seccomp_file(launch, rootfs, tmp_path):
    # as podman's --read-only-tmpfs (default true): /tmp and /var/tmp (and
    # /run, which this rootfs lacks: left out, the root cannot take a new
    # mountpoint) get a tmpfs with the image's content copied up
    (Path(rootfs) / "tmp" / "from-image").write_text("img\n")
    try:
        probe = ("touch /x 2>/dev/null || echo ro; echo ok > /tmp/t 2>/dev/null || echo ro; "
                 "echo ok > /var/tmp/t 2>/dev/null || echo ro; cat /tmp/from-image; "
                 "stat -c %a /tmp; test -e /run || echo no-run")
        r = launch.call("--rm", "--read-only", rootfs, "sh", "-c", probe)
        assert r.rc == 0 and r.out.split() == ["ro", "img", "1777", "no-run"], str(r)
        r = launch.call("--rm", "--read-only", "--read-only-tmpfs=false", rootfs, "sh", "-c",
                        probe)
        assert r.rc == 0 and r.out.split() == ["ro", "ro", "ro", "img", "1777", "no-run"], \
            str(r)
        r = launch.call("--rm", "--read-only", "--read-only-tmpfs=maybe", rootfs, "true")
        assert r.rc == 125 and "--read-only-tmpfs=maybe" in r.err, str(r)
        # outside attack F5: a volume below /tmp goes on top of the tmpfs
        # (it was shadowed by a copy), one at /tmp (however written) takes it
        vol = tmp_path / "vol"
        vol.mkdir()
        (vol / "f").write_text("original\n")
        for dst in ("/tmp/data", "/tmp/", "/tmp"):
            r = launch.call("--rm", "--read-only", "-v", f"{vol}:{dst}", rootfs, "sh", "-c",
                            f"cat {dst}/f; echo changed > {dst}/f")
            assert r.rc == 0 and r.out == "original\n", (dst, str(r))
            assert (vol / "f").read_text() == "changed\n", dst
            (vol / "f").write_text("original\n")
        # outside attack F4: an image whose /tmp is a link (into /proc) gets
        # no tmpfs there, nor a copy made with every capability
        img = Image([(tar_of_dir(rootfs), "gzip"),
                     (tar_of([("tmp", ("symlink", "/proc/sys/fs"))]), "tar")],
                    {"Cmd": ["true"]})
        r = launch.call("--rm", "--read-only", img.layout(tmp_path / "link"), "sh", "-c",
                        "mount | grep -c \" on /proc/sys/fs type tmpfs\" || true")
        assert r.rc == 0 and r.out.strip() == "0", str(r)
    finally:
        (Path(rootfs) / "tmp" / "from-image").unlink()
    assert not (Path(rootfs) / "x").exists()
    assert not (Path(rootfs) / "tmp" / "t").exists()
    # an OCI linux.seccomp object from a file: everything but mkdir/mkdirat
    profile = tmp_path / "seccomp.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]}))
    r = launch.call("--rm", "--security-opt", f"seccomp={profile}", rootfs, "sh", "-c",
                    "mkdir /d 2>&1; touch /f && echo touched")
    assert r.rc == 0 and "Permission denied" in r.out and "touched" in r.out, str(r)
    profile.write_text("{ not json")
    r = launch.call("--rm", "--security-opt", f"seccomp={profile}", rootfs, "true")
    assert r.rc == 125 and "seccomp" in r.err, str(r)
    assert launch.entries() == []


def test_interactive_stdin(launch, rootfs):
    base = [HUSK, "--root", str(STATE_ROOT), "launch", "--rm", "--net", "none",
            "--data-dir", str(launch.data), "--cache-dir", str(launch.cache), "-e", MARK_ENV]
    for flags, want in ((["-i"], "typed\n"), ([], "")):
        name = launch.hk.new_id()
        p = subprocess.run(base + ["--name", name, *flags, str(rootfs), "cat"],
                           input="typed\n", capture_output=True, text=True, timeout=20)
        assert p.returncode == 0 and p.stdout == want, p
    assert launch.entries() == []


def test_share_and_host_net(launch, rootfs):
    r = launch.call("--rm", "--share", "pid,uts", rootfs, "sh", "-c",
                    "for n in pid uts ipc; do readlink /proc/self/ns/$n; done", net="host")
    assert r.rc == 0, str(r)
    pid, uts, ipc = r.out.split()
    assert pid == os.readlink("/proc/self/ns/pid") and uts == os.readlink("/proc/self/ns/uts")
    assert ipc != os.readlink("/proc/self/ns/ipc")
    r = launch.call("--rm", rootfs, "readlink", "/proc/self/ns/net", net="host")
    assert r.rc == 0 and r.out.strip() == os.readlink("/proc/self/ns/net"), str(r)
    # --share net is --net host, even with the default --net bridge
    r = launch.call("--rm", "--share", "net", rootfs, "readlink", "/proc/self/ns/net",
                    net="bridge")
    assert r.rc == 0 and r.out.strip() == os.readlink("/proc/self/ns/net"), str(r)
    r = launch.call("--rm", "--share", "net", rootfs, "true", net="none")
    assert r.rc == 125 and "contradict" in r.err, str(r)


def test_resources(launch, rootfs):
    r = launch.call("--rm", "--memory", "64m", "--pids-limit", "20", "--cpus", "0.5", rootfs,
                    "sh", "-c", "cd /sys/fs/cgroup; "
                    "cat memory/memory.limit_in_bytes memory.max 2>/dev/null; "
                    "cat pids/pids.max pids.max 2>/dev/null; "
                    "cat cpu/cpu.cfs_quota_us cpu.max 2>/dev/null; true")
    assert r.rc == 0, str(r)
    assert r.out.split()[:3] == ["67108864", "20", "50000"]


def test_detached_rm_is_deleted_when_it_exits(launch, rootfs):
    hk = launch.hk
    r = launch.ok("-d", "--rm", rootfs, "sh", "-c", "echo out; sleep 0.5")
    cid = launch.last
    assert r.out.strip() == cid
    wait_for(lambda: cid not in hk.list_ids(), timeout=10, what="the --rm monitor")
    wait_for(lambda: launch.entries() == [], what="the layer to go")


def test_detached_launch_whose_name_cannot_be_written_succeeds_and_says_it(launch, rootfs):
    """launch -d with stdout on a full disk: the container runs, so launch
    exits 0 and names it in a warning on stderr; it had exited 1 with the
    container running and its name lost (outside attack, round 18, F1)."""
    hk, name = launch.hk, launch.hk.new_id()
    argv = [HUSK, "--root", str(STATE_ROOT), "launch", "--name", name, "--data-dir",
            str(launch.data), "--cache-dir", str(launch.cache), "--net", "none", "-d", "--rm",
            str(rootfs), "sleep", "30"]
    with open("/dev/full", "wb") as full:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                           timeout=30)
    try:
        assert r.returncode == 0, r
        err = r.stderr.decode()
        assert f"container {name} is running" in err and "No space left" in err, err
        assert name in hk.list_ids()
    finally:
        hk.call("delete", "-f", name)
        launch.settle()


# --------------------------------------------------------------------------
# images

CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo $GREETING from $(pwd) as $(id -u)"],
          "Env": ["PATH=/bin:/usr/bin:/sbin", "GREETING=hello"], "WorkingDir": "/srv",
          "User": "1", "ExposedPorts": {"8080/tcp": {}}}


@pytest.fixture(scope="module")
def image(session_env):
    """Two layers: the busybox rootfs plus files (gzip), then a layer that
    deletes one of them through a whiteout and makes a directory opaque
    (zstd when the zstd tool is there)."""
    l1 = tar_of_dir(session_env.rootfs, [
        ("etc/deleteme", b"old\n"), ("opq", None), ("opq/a", b"a\n"), ("srv", None)])
    l2 = tar_of([("etc/.wh.deleteme", b""), ("opq/.wh..wh..opq", b""), ("opq/c", b"c\n"),
                 ("layer2", b"two\n"), ("hardlink", ("link", "layer2"))])
    zstd = "zstd" if os.access("/usr/bin/zstd", os.X_OK) else "tar"
    return Image([(l1, "gzip"), (l2, zstd)], CONFIG)


CHECK = "test -e /etc/deleteme && echo deleteme; ls /opq; cat /hardlink; echo $GREETING; pwd"


@pytest.mark.parametrize("kind", ["layout", "oci-archive", "docker-archive"])
def test_image(launch, image, kind):
    src = {"layout": lambda p: image.layout(p), "oci-archive": lambda p: image.oci_archive(p),
           "docker-archive": lambda p: image.docker_archive(p)}[kind](launch.hk.work / "img")
    # Entrypoint + Cmd + Env + WorkingDir + User
    r = launch.call("--rm", src)
    assert r.rc == 0 and r.out == "hello from /srv as 1\n", str(r)
    # CMD ARGS replace Cmd: whiteout and opaque directory honoured
    r = launch.call("--rm", src, CHECK)
    assert r.rc == 0, str(r)
    assert r.out.split() == ["c", "two", "hello", "/srv"]
    assert launch.entries() == []


def test_image_env_never_reads_the_operators(launch):
    """An image Env entry without "=" is dropped, not filled from launch's
    own environment (the operator's secrets: outside attack, F3); -e KEY
    without a value still takes launch's, as docker's -e does."""
    secret = f"HK_SECRET_{os.getpid()}"
    cfg = dict(CONFIG, Cmd=[f"echo img=${secret}; echo op=$HK_OPERATOR_VALUE"],
               Env=["PATH=/bin:/usr/bin:/sbin", secret])
    img = Image([(tar_of_dir(launch.hk.sess.rootfs, []), "gzip")], cfg)
    src = img.oci_archive(launch.hk.work / "env-img.tar")
    env = dict(os.environ, **{secret: "hunter2", "HK_OPERATOR_VALUE": "given"})
    r = launch.call("--rm", "-e", "HK_OPERATOR_VALUE", src, env=env)
    assert r.rc == 0, str(r)
    assert r.out == "img=\nop=given\n", str(r)


def _cmdlines_with(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_detached_launch_keeps_no_secret_in_argv(launch, rootfs):
    """-d's logger and --rm's monitor live as long as the container: they
    retitle themselves, so the operator's `-e PASSWORD=...` is not in any
    /proc/<pid>/cmdline for every local user to read (outside attack, F4)."""
    secret = f"hk-s3cret-{os.getpid()}"
    launch.ok("-d", "--rm", "-e", f"DB_PASSWORD={secret}", rootfs, "sleep", "100")
    cid = launch.last
    try:
        assert _cmdlines_with(secret) == []
        assert _cmdlines_with(f"husk-launch --rm monitor {cid}"), "no monitor titled"
    finally:
        launch.hk.delete(cid, force=True)


def test_rm_monitor_deletes_only_its_own_container(launch, rootfs):
    """A --rm monitor that wakes late (here stopped) after its container
    was deleted and another launched under the same name leaves the new
    one alone (outside attack, F7)."""
    hk = launch.hk
    launch.ok("-d", "--rm", rootfs, "sleep", "100")
    cid = launch.last
    monitors = _cmdlines_with(f"husk-launch --rm monitor {cid}")
    assert len(monitors) == 1, monitors

    def waiting():  # in poll on the process's pidfd, the state's lock let go
        d = f"/proc/{monitors[0]}/fd"
        return any("pidfd" in os.readlink(f"{d}/{fd}") for fd in os.listdir(d))
    wait_for(waiting, timeout=10, what="the monitor to wait on its container")
    os.kill(monitors[0], signal.SIGSTOP)
    try:
        hk.delete(cid, force=True)
        launch.ok("-d", rootfs, "sleep", "100", name=cid)
    finally:
        os.kill(monitors[0], signal.SIGCONT)
    try:
        wait_for(lambda: not os.path.exists(f"/proc/{monitors[0]}"), timeout=10,
                 what="the old monitor to end")
        assert hk.status(cid) == "running"
    finally:
        hk.delete(cid, force=True)


def test_name_of_an_existing_cgroup_is_refused(launch, rootfs):
    """A --name that is a cgroup already (here one this test made, with a
    process in it, in the pids hierarchy where husk's own cgroup is) is
    refused: launch would have joined it and put the container's pids limit
    and device rules on whatever runs there (outside attack, F5)."""
    own = open("/proc/self/cgroup").read()
    rel = next((l.split(":", 2)[2] for l in own.splitlines() if l.split(":")[1] == "pids"), None)
    if rel is None:
        pytest.skip("no pids hierarchy")
    cid = launch.hk.new_id()
    cg = Path("/sys/fs/cgroup/pids") / rel.lstrip("/") / cid
    cg.mkdir()
    try:
        r = launch.call("--rm", rootfs, "true", name=cid)
        assert r.rc != 0 and "exists already" in r.err, str(r)
        assert (cg / "pids.max").read_text().strip() == "max"
        assert launch.entries() == []
    finally:
        cg.rmdir()


def test_inspect_lists_the_layers(launch, image):
    """husk inspect of a launched container lists its lower layers, top
    first (issue 16 A13): the overlay is built one layer at a time
    (fsconfig "lowerdir+"), which mountinfo shows as one lowerdir+= option
    per layer, escapes and all; a path with a space, a comma, a colon and a
    backslash comes back whole."""
    hk = launch.hk
    odd = hk.rootfs_copy("r a,b:c\\d")
    cid = hk.new_id()
    launch.ok("-d", odd, "sleep", "100", name=cid)
    lines = hk.ok("inspect", cid).out.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith("root filesystem"))
    assert lines[i + 1].split(None, 2)[2] == str(odd), lines[i:i + 4]
    assert lines[i + 1].startswith("  lower layers ")
    j = json.loads(hk.ok("inspect", "--format", "json", cid).out)["rootfs"]
    assert j["type"] == "overlay" and j["lowerdir"] == [str(odd)], j
    assert j["upperdir"] == str(launch.data / cid / "upper")
    # an image: its two layers, the top one first
    src = image.layout(hk.work / "img")
    cid2 = hk.new_id()
    launch.ok("-d", src, "sleep 100", name=cid2)
    j = json.loads(hk.ok("inspect", "--format", "json", cid2).out)["rootfs"]
    assert j["lowerdir"] == [str(launch.cache / "sha256" / image.layer_hex(i)) for i in (1, 0)], j
    for c in (cid, cid2):
        hk.delete(c, force=True)


def test_image_cache_is_reused(launch, image):
    src = image.oci_archive(launch.hk.work / "img.tar")
    r = launch.call("--rm", src, "true")
    assert r.rc == 0, str(r)
    layers = [launch.cache / "sha256" / image.layer_hex(i) for i in range(2)]
    assert all(l.is_dir() for l in layers)
    inodes = [l.stat().st_ino for l in layers]
    (layers[0] / "marker").write_text("still here\n")
    r = launch.hk.call("--debug", "launch", "--rm", "--net", "none", "--data-dir", launch.data,
                       "--cache-dir", launch.cache, "-e", MARK_ENV, "--name",
                       launch.hk.new_id(), src, "cat /marker")
    assert r.rc == 0 and r.out == "still here\n", str(r)
    assert "layers ready (0 unpacked)" in r.err
    assert [l.stat().st_ino for l in layers] == inodes
    assert os.listdir(launch.cache / "tmp") == []


def test_layer_digest_mismatch_refused(launch, image):
    lay = image.layout(launch.hk.work / "img")
    blob = lay / "blobs" / "sha256" / image.layer_hex(1)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xff
    blob.write_bytes(bytes(data))
    r = launch.call("--rm", lay, "true")
    assert r.rc != 0
    assert f"does not match its digest sha256:{image.layer_hex(1)}" in r.err, str(r)
    # the good layer stays cached, the bad one left nothing
    assert not (launch.cache / "sha256" / image.layer_hex(1)).exists()
    assert os.listdir(launch.cache / "tmp") == []
    assert launch.entries() == [] and launch.last not in launch.hk.list_ids()


def test_only_gzip_and_zstd_decoded_in_process(launch, rootfs, tmp_path):
    """Outside attack on pulls, F3/F5: libarchive's filters ran lrzip,
    grzip or lzop from PATH, as root, on a layer whose first bytes asked
    for them, and xz took a 1 GiB dictionary per layer. Only tar, gzip and
    zstd (OCI's layer types) are read now, in-process; the rest is
    refused and nothing is run."""
    canary = tmp_path / "ran"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for prog in ("lrzip", "grzip", "lzop"):
        (bindir / prog).write_text(f"#!/bin/sh\ntouch {canary}\ncat >/dev/null\n")
        (bindir / prog).chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    base = tar_of_dir(rootfs)
    layer = tar_of([("hello", b"hi\n")])
    for name, blob in (("lrzip", b"LRZI\0\6" + bytes(64)),
                       ("lzop", b"\x89LZO\0\r\n\x1a\n" + bytes(64)),
                       ("grzip", b"GRZipII\0\x02\x04:)" + bytes(64)),
                       ("xz", lzma.compress(layer))):
        img = Image([(base, "gzip"), (blob, "tar")], {"Cmd": ["true"]})
        r = launch.call("--rm", img.layout(tmp_path / name), env=env)
        assert r.rc == 125, (name, str(r))
        assert not canary.exists(), name
        assert not (launch.cache / "sha256" / img.layer_hex(1)).exists()
    assert launch.entries() == []


def test_layer_xattrs_and_hostile_entries(launch, rootfs, tmp_path):
    """File capabilities survive unpacking; trusted.* (overlayfs metadata)
    from a tar is dropped; an entry through a symlink or with .. is refused."""
    import io
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("capfile")
        ti.size, ti.mode = 3, 0o755
        ti.pax_headers = {
            "SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20" + "\x00" * 14,
            "SCHILY.xattr.trusted.overlay.opaque": "y", "SCHILY.xattr.user.note": "hi"}
        t.addfile(ti, io.BytesIO(b"abc"))
    base = tar_of_dir(rootfs)
    img = Image([(base, "gzip"), (buf.getvalue(), "tar")], {"Cmd": ["true"]})
    launch.ok("--rm", img.layout(tmp_path / "ok"))
    cap = launch.cache / "sha256" / img.layer_hex(1) / "capfile"
    assert sorted(os.listxattr(cap)) == ["security.capability", "user.note"]
    for name, members in (
            ("symlink", [("evil", ("symlink", "/tmp")), ("evil/hk-launch-evil", b"x")]),
            ("dotdot", [("a/../../x", b"x")])):
        img = Image([(base, "gzip"), (tar_of(members), "tar")], {"Cmd": ["true"]})
        r = launch.call("--rm", img.layout(tmp_path / name))
        assert r.rc == 125, str(r)
        assert "layer entry" in r.err, str(r)
        assert not (launch.cache / "sha256" / img.layer_hex(1)).exists()
    assert not Path("/tmp/hk-launch-evil").exists()
    assert launch.entries() == []


# --------------------------------------------------------------------------
# bad input: a clear error, nothing left


def bad(launch, *args, want):
    """docker run's convention, which README promises: 125 for every
    launch that failed itself, option errors included."""
    r = launch.call(*args)
    assert r.rc == 125, str(r)
    assert re.search(want, r.err), str(r)
    assert launch.entries() == []
    assert launch.last not in launch.hk.list_ids()
    assert no_mounts_of(launch.data)


def test_source_neither_dir_nor_image(launch, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is no image\n" * 100)
    bad(launch, junk, "true", want="neither a directory nor an image")
    r = launch.call(junk, "true")
    # libarchive's EILSEQ for "no archive" is not the reason to print
    assert r.err.rstrip().endswith("Unrecognized archive format"), str(r)
    bad(launch, tmp_path / "missing", "true", want="missing: No such file")


def test_malformed_index(launch, image, tmp_path):
    lay = image.layout(tmp_path / "img")
    (lay / "index.json").write_text('{"schemaVersion": 2, "manifests": 5}')
    bad(launch, lay, "true", want="index.json.*manifests.*array")
    (lay / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    bad(launch, lay, "true", want="index.json")
    (lay / "index.json").write_text(json.dumps({"manifests": [{"digest": "sha256:../../x"}]}))
    bad(launch, lay, "true", want="not a sha256 digest")


def test_unknown_option_and_missing_volume(launch, rootfs, tmp_path):
    bad(launch, "--frobnicate", rootfs, "true", want="unknown or incomplete option")
    bad(launch, "-v", f"{tmp_path}/nope:/mnt", rootfs, "true", want="nope: No such file")
    bad(launch, "--memory", "lots", rootfs, "true", want="not a size")
    bad(launch, "--cap-add", "CAP_BOGUS", rootfs, "true", want="unknown capability")


# --------------------------------------------------------------------------
# bridge networking and published ports, inside the test's own namespaces
# (test_net.py's lab: husk runs in its "host" namespace through nsenter)

from test_net import HOST_IP, SUBNET, netlab  # noqa: E402,F401  (netlab: a fixture)


def test_bridge_and_publish(launch, netlab, image):
    hk = launch.hk
    hk.prefix = netlab.enter()
    env = dict(os.environ, HUSK_NET_DIR=str(netlab.dir))
    src = image.layout(hk.work / "img")
    server = ("mkdir -p /www && echo $(hostname) > /www/index.html && "
              "exec httpd -f -p 8080 -h /www")
    try:
        r = launch.call("-d", "--hostname", "web1", "--bridge", netlab.bridge, "--subnet",
                        SUBNET, "-p", "18080:8080", "-u", "0", src, server, net=None, env=env)
        assert r.rc == 0, str(r)
        cid = launch.last
        # -P publishes the image's ExposedPorts (8080/tcp) on a free host
        # port (as docker run -P)
        r = launch.call("-d", "--hostname", "web2", "--bridge", netlab.bridge, "--subnet",
                        SUBNET, "-P", "-u", "0", src, server, net="bridge", env=env)
        assert r.rc == 0, str(r)
        cid2 = launch.last
        [port] = netlab.leases()[cid2]["ports"]
        host_port = int(port.split(":")[0])
        assert port == f"{host_port}:8080/tcp" and host_port != 8080, port
        netlab.wait_get(netlab.out, HOST_IP, 18080, "web1")
        netlab.wait_get(netlab.out, HOST_IP, host_port, "web2")
        lease = netlab.leases()[cid]
        assert lease["address"].startswith("10.77.0.")
        for c in (cid, cid2):
            hk.kill(c, "KILL")
            hk.wait_status(c, "stopped")
            hk.delete(c)
        netlab.assert_clean()
        assert launch.entries() == []
    finally:
        hk.cleanup()
        hk.ids.clear()
        hk.prefix = []


# --------------------------------------------------------------------------
# --userns=auto


def test_userns_auto(launch, image, traversable, containers_range):
    hk = launch.hk
    traversable(launch.data)
    src = image.layout(hk.work / "img")
    a = hk.new_id()
    b = hk.new_id()
    launch.ok("-d", "--userns", "auto", "-u", "0", src, "sleep 30", name=a)
    launch.ok("-d", "--userns", "auto", "-u", "0", src, "sleep 30", name=b)
    maps = [hk.ok("exec", c, "cat", "/proc/self/uid_map").out.split() for c in (a, b)]
    for m in maps:
        assert m[0] == "0" and m[2] == "65536" and int(m[1]) >= 65536, maps
    assert maps[0][1] != maps[1][1], "two containers share a range"
    host_root = int(maps[0][1])
    # the image's root-owned files are the container root's (idmapped layers)
    r = hk.ok("exec", a, "sh", "-c", "stat -c %u /etc/passwd; echo x >> /etc/passwd && "
              "echo new > /etc/new && id -u")
    assert r.out.split() == ["0", "0"], str(r)
    st = os.stat(launch.data / a / "upper" / "etc" / "new")
    assert st.st_uid == host_root
    assert pid_uid(hk.state(a)["pid"]) == host_root
    for c in (a, b):
        hk.kill(c, "KILL")
        hk.wait_status(c, "stopped")
        hk.delete(c)
    assert launch.entries() == []
    assert os.listdir(launch.data / ".userns") == []
    assert no_mounts_of(launch.data)


def test_userns_auto_keep_holds_its_ids(launch, image, traversable, containers_range):
    """--keep leaves the writable layer owned by the container's ids: they
    stay claimed, so the next --userns auto container gets others (given
    back, the next one could read and write the kept layer: outside
    attack, second round, F8)."""
    hk = launch.hk
    traversable(launch.data)
    src = image.layout(hk.work / "img")
    a, b = hk.new_id(), hk.new_id()
    launch.ok("--rm", "--keep", "--userns", "auto", "-u", "0", src,
              "cat /proc/self/uid_map; echo x > /kept", name=a)
    first = launch.call("--rm", "--userns", "auto", "-u", "0", src, "cat /proc/self/uid_map",
                        name=b)
    assert first.rc == 0, str(first)
    kept_uid = os.stat(launch.data / a / "upper" / "kept").st_uid
    assert int(first.out.split()[1]) != kept_uid, (first.out, kept_uid)
    assert any(f.startswith("u") for f in os.listdir(launch.data / ".userns"))
    shutil.rmtree(launch.data / a)


def pid_uid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])


# --------------------------------------------------------------------------
# images as podman writes them (when podman is installed), in a private store


def test_podman_saved_images(launch, rootfs):
    if not shutil.which("podman"):
        pytest.skip("podman not installed")
    hk = launch.hk
    store = hk.dir("podman")
    # podman wants a runroot of at most 50 characters
    run = Path(tempfile.mkdtemp(prefix="hk-prun-", dir="/tmp"))
    p = ["podman", "--root", str(store / "root"), "--runroot", str(run),
         "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                         check=True).stdout
    subprocess.run(p + ["import", "--change", 'CMD ["echo", "from podman"]', "--change",
                        "ENV FOO=bar", "-", "localhost/hktest:1"], input=tar,
                   capture_output=True, check=True, timeout=120)
    try:
        for fmt in ("oci-archive", "docker-archive"):
            out = hk.work / f"{fmt}.tar"
            subprocess.run(p + ["save", "--format", fmt, "-o", str(out), "localhost/hktest:1"],
                           capture_output=True, check=True, timeout=120)
            r = launch.call("--rm", out)
            assert r.rc == 0 and r.out == "from podman\n", str(r)
            r = launch.call("--rm", out, "sh", "-c", "echo $FOO")
            assert r.rc == 0 and r.out == "bar\n", str(r)
    finally:
        subprocess.run(p + ["rmi", "-a", "-f"], capture_output=True, timeout=60)
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


def test_an_argument_that_is_not_utf8_is_refused_and_leaves_nothing(launch, hk, rootfs):
    """launch decodes the spec from the tree it built, not from its text
    parsed back (0.15 ms of each launch); the parse was what refused a
    command line that is not UTF-8, which state.json and config.json
    cannot hold: it is now refused by name, before anything is made."""
    cid = hk.new_id()
    r = launch.call("--rm", rootfs, "echo", os.fsdecode(b"caf\xe9"), name=cid)
    assert r.rc != 0, str(r)
    assert "not UTF-8" in r.err, str(r)
    assert cid not in hk.list_ids()
    assert launch.entries() == []
    # and UTF-8 beyond ASCII goes through
    r = launch.ok("--rm", rootfs, "echo", "café ☕")
    assert "café ☕" in r.out
