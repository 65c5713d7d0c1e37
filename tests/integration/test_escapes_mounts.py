"""Known container-escape attacks through mounts, replayed against the
runtime: symlinked destinations and their races, /dev and /proc/sys,
sysctls, capabilities, a writable cgroup mount, destinations inside /proc
and /sys, a bundle the container can write. The runtime's own binary and
leaked fds are test_escapes.py's.
"""

import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (HUSK, IS_RUNC, STATE_ROOT, bind, make_config, ns_id, runc_default_mounts,
                      tmpfs, wait_for)

from escapehelpers import (call_with, host_mounts_mention, host_path, init_pid, no_dev_mounts,
                            private_runtime, sha256, watched)  # noqa: F401 (fixture)

husk_only = pytest.mark.husk_only



# --------------------------------------------------------------------------
# 3. symlinked mount destinations

@pytest.mark.parametrize("how", ["abs", "dotdot"])
def test_symlinked_mount_destinations(hk, watched, how):
    rf = hk.rootfs_copy()
    src = hk.dir("src")
    (src / "payload").write_text("payload\n")
    targets = {}
    for name in ("x", "y"):
        hp = host_path(name)
        watched.append(hp)
        targets[name] = hp
        link = str(hp) if how == "abs" else "../../../../../../.." + str(hp)
        os.symlink(link, rf / "mnt" / name)
    b = hk.bundle(["sh", "-c", "cat /proc/self/mountinfo; ls /tmp"], rootfs=rf,
                  readonly=False,
                  extra_mounts=[tmpfs("/mnt/x"), bind(src, "/mnt/y")])
    cid, r = hk.create(b, check=False)
    for hp in targets.values():
        assert not os.path.lexists(hp), f"{hp} appeared on the host"
        assert not host_mounts_mention(hp)
    if r.rc == 0:
        hk.start(cid)
        hk.wait_status(cid, "stopped")
        out = (b.path / f"{cid}.stdout").read_text()
        # the mounts landed in the rootfs, at the path the link names there
        for hp in targets.values():
            assert hp.name in out, out
            assert (rf / "tmp" / hp.name).exists()
    for hp in targets.values():
        assert not os.path.lexists(hp)


@pytest.mark.parametrize("what", ["proc", "sys"])
def test_proc_sys_symlinks(hk, watched, what):
    rf = hk.rootfs_copy()
    hp = host_path(what)
    watched.append(hp)
    os.rmdir(rf / what)
    os.symlink(str(hp), rf / what)
    b = hk.bundle(["true"], rootfs=rf, readonly=False)
    cid, r = hk.create(b, check=False)
    assert not os.path.lexists(hp), f"{hp} appeared on the host"
    assert not host_mounts_mention(hp)
    if not IS_RUNC:
        # husk refuses a /proc or /sys that is not a directory
        assert r.rc != 0, str(r)
        assert f"/{what}" in r.err, r.err


_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _exchange(a, b):
    if _libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def test_mount_destination_race(hk, watched):
    """A directory on the way to a mount point swapped for a symlink to a host
    path, back and forth, while containers are made: nothing on the host."""
    rf = hk.rootfs_copy()
    hp = host_path("race")
    watched.append(hp)
    (rf / "mnt" / "race").mkdir()
    os.symlink(str(hp), rf / "mnt" / "race-alt")
    src = hk.dir("src")
    stop = threading.Event()
    flips = [0]

    def flipper():
        while not stop.is_set():
            _exchange(rf / "mnt" / "race", rf / "mnt" / "race-alt")
            flips[0] += 1

    t = threading.Thread(target=flipper, daemon=True)
    t.start()
    made = 0
    try:
        for i in range(20):
            mounts = [tmpfs("/mnt/race/t"), bind(src, "/mnt/race/b")] if i % 2 else \
                     [tmpfs("/mnt/race"), bind(src, "/mnt/race/b")]
            b = hk.bundle(["true"], rootfs=rf, readonly=False, extra_mounts=mounts)
            cid, r = hk.create(b, check=False)
            made += r.rc == 0
            assert not os.path.lexists(hp), f"{hp} created on the host (round {i})"
            assert not host_mounts_mention(hp)
            if r.rc == 0:
                hk.delete(cid, force=True)
    finally:
        stop.set()
        t.join(5)
    assert flips[0] > 100, flips
    assert not os.path.lexists(hp)
    assert made > 0, "no container could be made at all"


# --------------------------------------------------------------------------
# 4. CVE-2025-31133: maskedPaths bound from a swapped /dev/null

def _core_pattern():
    return Path("/proc/sys/kernel/core_pattern").read_bytes()


@pytest.mark.parametrize("kind", ["core_pattern", "regular", "host_file"])
def test_cve_2025_31133_devnull(hk, watched, kind):
    if IS_RUNC:
        # runc 1.1.5 binds the planted file over the masked paths
        pytest.skip("runc 1.1.5 is vulnerable (CVE-2025-31133)")
    before = _core_pattern()
    rf = hk.rootfs_copy()
    null = rf / "dev" / "null"
    if null.exists() or null.is_symlink():
        null.unlink()
    hostf = None
    if kind == "core_pattern":
        os.symlink("/proc/sys/kernel/core_pattern", null)
    elif kind == "regular":
        null.write_text("not a device\n")
    else:
        hostf = hk.work / "hostfile"
        hostf.write_text("host secret\n")
        os.symlink(str(hostf), null)
    b = hk.bundle(["sh", "-c", "cat /proc/keys /proc/timer_list 2>/dev/null | head -c 200; echo end"],
                  rootfs=rf, readonly=False, mounts=no_dev_mounts())
    cid, r = hk.create(b, check=False)
    if r.rc != 0:
        if not IS_RUNC:
            assert "/dev/null" in r.err, r.err
    else:
        # husk replaced the planted /dev/null by a real one: whatever is
        # bound over a masked file must be the null device
        pid = init_pid(hk, cid)
        for f in ("keys", "timer_list", "kcore", "sched_debug"):
            try:
                st = os.stat(f"/proc/{pid}/root/proc/{f}")
            except FileNotFoundError:
                continue
            assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), f
        hk.start(cid)
        hk.wait_status(cid, "stopped")
        out = (b.path / f"{cid}.stdout").read_text()
        assert "host secret" not in out and "not a device" not in out, out
        if before.strip():
            assert before.decode(errors="replace").strip() not in out, out
    assert _core_pattern() == before
    if hostf:
        assert hostf.read_text() == "host secret\n"


# --------------------------------------------------------------------------
# 5. CVE-2025-52881: writes to /proc redirected by the container's mounts

SHMMAX = str(4096 * 12345)


def _ipc_shmmax(pid):
    r = subprocess.run(["nsenter", "-t", str(pid), "-i", "cat", "/proc/sys/kernel/shmmax"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@husk_only  # runc 1.1.5 writes the sysctl through the container's /proc: refused here
def test_cve_2025_52881_sysctl_tmpfs_over_proc_sys(hk):
    mounts = runc_default_mounts()
    i = [m["destination"] for m in mounts].index("/proc")
    mounts.insert(i + 1, tmpfs("/proc/sys/kernel"))
    b = hk.bundle(["sh", "-c", "ls -A /proc/sys/kernel; echo end; sleep 1000"],
                  mounts=mounts)
    b.config["linux"]["sysctl"] = {"kernel.shmmax": SHMMAX}
    b.write()
    cid, r = hk.create(b, check=False)
    if r.rc != 0:
        assert "sysctl" in r.err or "/proc" in r.err, r.err
        return
    pid = init_pid(hk, cid)
    assert _ipc_shmmax(pid) == SHMMAX
    assert _ipc_shmmax(os.getpid()) != SHMMAX
    hk.start(cid)
    out = wait_for(lambda: "end" in (t := (b.path / f"{cid}.stdout").read_text()) and t, 5)
    assert out.split() == ["end"], f"a file was written to the tmpfs: {out}"


@husk_only  # runc 1.1.5 writes into the bind-mounted host file (the CVE)
def test_cve_2025_52881_sysctl_bind_over_file(hk):
    host = hk.work / "fake-shmmax"
    host.write_text("original\n")
    b = hk.bundle(["sleep", "1000"],
                  extra_mounts=[bind(host, "/proc/sys/kernel/shmmax")])
    # the bind must be placed before the sysctl write: right after /proc
    ms = b.config["mounts"]
    ms.insert(1, ms.pop())
    b.config["linux"]["sysctl"] = {"kernel.shmmax": SHMMAX}
    b.write()
    cid, r = hk.create(b, check=False)
    assert host.read_text() == "original\n", "the sysctl was written into the host file"
    if r.rc == 0:
        assert _ipc_shmmax(init_pid(hk, cid)) == SHMMAX


@husk_only
def test_oom_score_adj_not_redirected(hk):
    """process.oomScoreAdj with a file bound over /proc/self's target."""
    host = hk.work / "fake-oom"
    host.write_text("original\n")
    b = hk.bundle(["sleep", "1000"], extra_mounts=[bind(host, "/proc/1/oom_score_adj")])
    ms = b.config["mounts"]
    ms.insert(1, ms.pop())
    b.config["process"]["oomScoreAdj"] = 123
    b.write()
    cid, r = hk.create(b, check=False)
    assert host.read_text() == "original\n"
    if r.rc == 0:
        pid = init_pid(hk, cid)
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "123"


# --------------------------------------------------------------------------
# 6. /dev set-up following planted symlinks

def test_dev_symlinks_to_host(hk, watched):
    rf = hk.rootfs_copy()
    hps = {}
    for name in ("ptmx", "fd", "null", "zero", "tty", "console", "pts", "shm", "mqueue"):
        hp = host_path(name)
        watched.append(hp)
        hps[name] = hp
        p = rf / "dev" / name
        if p.exists() or p.is_symlink():
            (p.unlink() if not p.is_dir() or p.is_symlink() else shutil.rmtree(p))
        os.symlink(str(hp), p)
    b = hk.bundle(["sh", "-c", "ls -l /dev; echo x > /dev/null; echo end"], rootfs=rf,
                  readonly=False)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    for name, hp in hps.items():
        assert not os.path.lexists(hp), f"{hp} appeared on the host (/dev/{name})"
    assert "hk-esc" not in r.out, r.out


def test_dev_symlinks_terminal(hk, watched):
    rf = hk.rootfs_copy()
    for name in ("ptmx", "pts", "tty", "console"):
        hp = host_path(name)
        watched.append(hp)
        p = rf / "dev" / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
        os.symlink(str(hp), p)
    b = hk.bundle(["sh"], rootfs=rf, readonly=False, terminal=True)
    sock_path = hk.work / "console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(1)
    srv.settimeout(10)
    got = {}

    def recv():
        c, _ = srv.accept()
        with c:
            _m, fds, _, _ = socket.recv_fds(c, 1024, 1)
            got["fd"] = fds[0]

    t = threading.Thread(target=recv, daemon=True)
    t.start()
    cid = hk.new_id()
    hk.ok("create", "--console-socket", sock_path, "--bundle", b.path, cid)
    t.join(10)
    master = got["fd"]
    try:
        host_devpts = os.stat("/dev/pts").st_dev
        assert os.fstat(master).st_dev != host_devpts, "pty master from the host's devpts"
        hk.start(cid)
        os.write(master, b"tty; echo $((6*7))-done; exit\n")
        buf = b""
        deadline = time.monotonic() + 5
        while b"42-done" not in buf and time.monotonic() < deadline:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
        assert b"/dev/pts/0" in buf, buf
    finally:
        os.close(master)
        srv.close()
    for hp in watched:
        assert not os.path.lexists(hp), f"{hp} appeared on the host"


# --------------------------------------------------------------------------
# 7. CVE-2022-29162: inheritable capabilities

def _caps(text):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in text.splitlines()
            if l.startswith("Cap")}


def test_cve_2022_29162_no_inheritable_caps(hk):
    b = hk.bundle(["grep", "^Cap", "/proc/self/status"], user={"uid": 1000, "gid": 1000})
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    caps = _caps(r.out)
    assert caps["CapInh"] == 0, r.out
    cid = hk.run_detached(hk.bundle(["sleep", "1000"], user={"uid": 1000, "gid": 1000}))
    r = hk.ok("exec", "--user", "1000:1000", cid, "grep", "^Cap", "/proc/self/status")
    assert _caps(r.out)["CapInh"] == 0, r.out


@pytest.mark.skipif(not shutil.which("setcap"), reason="setcap (libcap2-bin) missing")
def test_cve_2022_29162_file_caps_gain_nothing(hk):
    rf = hk.rootfs_copy()
    (rf / "capdir").mkdir()
    shutil.copy2(rf / "bin" / "busybox", rf / "capdir" / "grep")   # applet by argv[0]
    r = subprocess.run(["setcap", "cap_net_raw,cap_sys_admin,cap_dac_override+ei",
                        str(rf / "capdir" / "grep")], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"setcap failed on the test fs: {r.stderr}")
    b = hk.bundle(["/capdir/grep", "^Cap", "/proc/self/status"], rootfs=rf,
                  user={"uid": 1000, "gid": 1000})
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    caps = _caps(r.out)
    assert caps["CapInh"] == 0 and caps["CapPrm"] == 0 and caps["CapEff"] == 0, r.out


# --------------------------------------------------------------------------
# 8. CVE-2023-25809: rw cgroupfs without a cgroup namespace

def test_cve_2023_25809_rw_cgroup_mount(hk):
    mounts = [m for m in runc_default_mounts() if m["destination"] != "/sys/fs/cgroup"]
    mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                   "options": ["nosuid", "noexec", "nodev", "rw"]})
    script = r"""
for c in /sys/fs/cgroup/*; do
  [ -e $c/release_agent ] && echo "AGENT $c"
  [ -e $c/../release_agent ] && echo "AGENT-UP $c"
  echo /tmp/x > $c/release_agent 2>/dev/null && echo "WROTE-AGENT $c"
  mkdir $c/../hk-esc-up 2>/dev/null && echo "MKDIR-UP $c" && rmdir $c/../hk-esc-up
  echo 1 > $c/notify_on_release 2>/dev/null && echo "NOR $c"
done
[ -e /sys/fs/cgroup/release_agent ] && echo AGENT-TOP
echo end
"""
    b = hk.bundle(["sh", "-c", script], mounts=mounts)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert "end" in r.out, r.out
    for bad in ("AGENT", "WROTE-AGENT", "MKDIR-UP"):
        assert not re.search(rf"^{bad}\b", r.out, re.M), r.out


# --------------------------------------------------------------------------
# Mount destinations inside /proc and /sys (CVE-2019-16884, CVE-2023-27561
# class; the fourth outside attack): a config's mount is led by an image's
# symlink onto a file of procfs or sysfs. runc refuses a destination inside
# /proc, except the files lxcfs emulates; husk refuses the same, and also a
# destination a symlink leads into sysfs (runc mounts it).

def _proc_case(hk, link, target, mount):
    rootfs = hk.rootfs_copy()
    if link:
        (rootfs / link.lstrip("/")).symlink_to(target)
    b = hk.bundle(["sh", "-c", "echo ran"], rootfs=rootfs, extra_mounts=[mount])
    b.write()
    return hk.run_fg(b)


@pytest.mark.parametrize("link,target,dest", [
    ("/data", "/proc/sys/kernel", "/data"),
    ("/data", "../proc/sys", "/data/kernel"),
    ("/data", "/proc/self/attr", "/data"),
    (None, None, "/proc/sys/kernel"),
    (None, None, "/proc/self/attr"),
])
def test_bind_inside_proc_refused(hk, link, target, dest):
    r = _proc_case(hk, link, target, bind(hk.dir("src"), dest))
    assert r.rc != 0, f"a bind went over procfs at {dest}: {r}"
    assert "ran" not in r.out
    assert "inside /proc" in r.err, str(r)


@husk_only  # runc 1.1 checks bind mounts only, and /proc only
@pytest.mark.parametrize("target", ["/proc/sys/kernel", "../proc/self/attr", "/sys/kernel",
                                    "../sys/devices"])
@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_mount_led_into_proc_or_sys_refused(hk, target, kind):
    mount = bind(hk.dir("src"), "/data") if kind == "bind" else tmpfs("/data")
    r = _proc_case(hk, "/data", target, mount)
    assert r.rc != 0, f"a {kind} went over procfs or sysfs through /data -> {target}: {r}"
    assert "ran" not in r.out
    where = "/proc" if "proc" in target else "/sys"
    assert f"inside {where}" in r.err, str(r)


@pytest.mark.parametrize("dest", ["/proc/driver", "/sys/kernel/security"])
def test_tmpfs_named_inside_proc_or_sys_works(hk, dest):
    """A tmpfs the config names at /proc/... or /sys/... itself (no symlink
    on the way) is mounted, as runc mounts it."""
    b = hk.bundle(["sh", "-c", f"grep ' {dest} ' /proc/mounts | cut -d' ' -f3"],
                  extra_mounts=[tmpfs(dest)])
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.split() == ["tmpfs"]


@pytest.mark.parametrize("dest", ["/proc/cpuinfo", "/proc/meminfo", "/proc/uptime"])
def test_lxcfs_files_may_cover_proc(hk, dest):
    """What lxcfs does: bind a file of its own over one of /proc's."""
    fake = hk.dir("lxcfs") / "fake"
    fake.write_text("from lxcfs\n")
    b = hk.bundle(["cat", dest], extra_mounts=[bind(fake, dest, "rbind", "ro")])
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out == "from lxcfs\n"


# --------------------------------------------------------------------------
# A bundle the container can write (root.path "."): what `exec` takes from
# it at exec time (outside attack, F5 and F9)

def _self_bundle(hk):
    """A bundle whose rootfs is the bundle itself, as root.path "." has it,
    writable by the container's root."""
    d = hk.rootfs_copy("selfbundle")
    cfg = make_config(d, ["sleep", "1000"], readonly=False)
    cfg["root"] = {"path": ".", "readonly": False}
    (d / "config.json").write_text(json.dumps(cfg))
    return d, cfg


@pytest.mark.husk_only  # runc 1.1.5 takes all of it from the bundle
def test_exec_keeps_what_bounds_the_process_from_create(hk):
    d, cfg = _self_bundle(hk)
    cid = hk.new_id()
    r = hk.call("run", "--detach", "--bundle", d, cid)
    assert r.rc == 0, str(r)
    try:
        forged = dict(cfg)
        forged["process"] = dict(cfg["process"], user={"uid": 1000, "gid": 1000},
                                 rlimits=[{"type": "RLIMIT_NOFILE", "hard": 256, "soft": 256}],
                                 oomScoreAdj=500)
        hk.ok("exec", cid, "sh", "-c", f"echo '{json.dumps(forged)}' > /config.json")
        r = hk.ok("exec", cid, "sh", "-c", "id -u; ulimit -n; cat /proc/self/oom_score_adj")
        assert r.out.split() == ["0", "1024", "0"], str(r)
        # a link at config.json is never followed to another's config
        secret = hk.dir("victim") / "config.json"
        secret.write_text(json.dumps(dict(cfg, process=dict(cfg["process"],
                                                            env=["DB_PASSWORD=victim"]))))
        hk.ok("exec", cid, "sh", "-c", f"rm /config.json; ln -s {secret} /config.json")
        r = hk.call("exec", cid, "sh", "-c", "echo $DB_PASSWORD")
        assert "victim" not in r.out, str(r)
        assert r.rc != 0 and "config.json" in r.err, str(r)
    finally:
        hk.call("delete", "--force", cid)
