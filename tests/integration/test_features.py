"""runc features beyond the basic lifecycle: create/run flags (--no-pivot,
--preserve-fds, --console-socket), global flags, mount propagation and
mount types, linux.devices, masked and read-only paths, sysctl, process
settings, the stopped state and hostile root filesystems.  Checked from
inside the container and, where it makes sense, from the host."""

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


# --------------------------------------------------------------------------
# helpers

def _run(hk, script, *extra, **kw):
    """Run sh -c script in the foreground; its stdout."""
    r = hk.run_fg(hk.bundle(["sh", "-c", script], **kw), None, *extra)
    assert r.rc == 0, str(r)
    return r.out


def _start_waiting(hk, body, *extra, bundle_edit=None, **kw):
    """Run body detached with /mnt/rw bound to a fresh host dir; wait until
    it is done (it then sleeps).  Returns (cid, host pid, out dir)."""
    out = hk.dir(f"out{len(hk.ids)}")
    mounts = list(kw.pop("extra_mounts", ())) + [bind(out, "/mnt/rw")]
    b = hk.bundle(["sh", "-c", f"{body}\ntouch /mnt/rw/ready; exec sleep 1000"],
                  extra_mounts=mounts, **kw)
    if bundle_edit:
        bundle_edit(b.config)
        b.write()
    cid = hk.run_detached(b, None, *extra)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    return cid, hk.state(cid)["pid"], out


def _mountinfo(text):
    """{mount point: (optional fields, fstype, per-mount options, super
    options)} of a mountinfo dump; the last mount wins for a mount point."""
    res = {}
    for line in text.splitlines():
        pre, post = line.split(" - ", 1)
        f, g = pre.split(), post.split()
        res[f[4]] = (f[6:], g[0], set(f[5].split(",")), set(g[2].split(",")))
    return res


def _read_only(entry):
    """A _mountinfo entry is read-only, as a mount or as a filesystem."""
    return "ro" in entry[2] or "ro" in entry[3]


def _propagation(optional):
    """The shared:/master: fields of a mountinfo line, without the ids."""
    return sorted(o.split(":")[0] for o in optional
                  if o.startswith(("shared:", "master:")))



def _status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f}


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
# 3. mount propagation

@contextlib.contextmanager
def shared_mount(path):
    """path bind-mounted onto itself and made shared (a peer group of its
    own); yields the peer group id.  Everything mounted at or below path is
    unmounted again afterwards."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True, timeout=10)
    try:
        subprocess.run(["mount", "--make-shared", str(path)], check=True, timeout=10)
        line = [l for l in mountinfo_lines_mentioning(path)
                if l.split()[4] == str(path)][-1]
        peer = [o for o in line.split(" - ")[0].split()[6:] if o.startswith("shared:")]
        assert peer, line
        yield peer[0].split(":")[1]
    finally:
        for line in reversed(mountinfo_lines_mentioning(path)):
            mp = line.split()[4]
            if mp == str(path) or mp.startswith(str(path) + "/"):
                if subprocess.run(["umount", mp], capture_output=True, timeout=10).returncode:
                    subprocess.run(["umount", "-l", mp], capture_output=True, timeout=10)


def _host_lines_at(path):
    return [l for l in mountinfo_lines_mentioning(path)
            if l.split()[4] == str(path) or l.split()[4].startswith(str(path) + "/")]


def _bind_propagation(hk, opts):
    """Bind <shared host dir>/<name> at /mnt/<name> with each propagation
    option of opts ({name: option}); the rootfs is a private copy (the mount
    points are made in it).  The container records its mountinfo, then the
    host mounts a tmpfs (holding a file f) at <name>/sub of each source and
    the container looks again.  Returns (peer group of the host dir,
    mountinfo before, mountinfo after, {name: content of /mnt/<name>/sub/f
    or None}, host mount points under the dir while the container ran)."""
    d = hk.work / "shared"
    copy = hk.rootfs_copy()
    for name in opts:
        (d / name / "sub").mkdir(parents=True)
        (copy / "mnt" / name).mkdir()
    with shared_mount(d) as peer:
        body = ("cat /proc/self/mountinfo > /mnt/rw/b.tmp; mv /mnt/rw/b.tmp /mnt/rw/before; "
                "while [ ! -e /mnt/rw/go ]; do sleep 0.05; done; "
                "cat /proc/self/mountinfo > /mnt/rw/after; "
                f"for n in {' '.join(opts)}; do "
                "cat /mnt/$n/sub/f > /mnt/rw/f-$n 2>/dev/null || rm /mnt/rw/f-$n; done")
        out = hk.dir("out")
        b = hk.bundle(["sh", "-c", body + "; touch /mnt/rw/ready; exec sleep 1000"],
                      rootfs=copy,
                      extra_mounts=[bind(d / n, f"/mnt/{n}", o) for n, o in opts.items()]
                      + [bind(out, "/mnt/rw")])
        hk.run_detached(b)
        wait_for(lambda: (out / "before").exists(), what="container to be up")
        # the container's own mounts must not propagate back to the host
        host_mounts = [l.split()[4] for l in _host_lines_at(d)]
        for name in opts:
            p = d / name / "sub"
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "hk-prop", str(p)],
                           check=True, timeout=10)
            (p / "f").write_text(f"from host {name}\n")
        (out / "go").touch()
        wait_for(lambda: (out / "ready").exists(), what="container to look again")
    files = {n: (out / f"f-{n}").read_text() if (out / f"f-{n}").exists() else None
             for n in opts}
    return (peer, _mountinfo((out / "before").read_text()),
            _mountinfo((out / "after").read_text()), files, host_mounts, d)


def test_bind_propagation_private_and_slave(hk):
    """rbind+rprivate: no propagation; rslave: a slave of the host mount's
    peer group.  A mount the host makes below the source after the container
    started reaches the slave, not the private one."""
    peer, before, after, files, host_mounts, d = _bind_propagation(
        hk, {"a": "rprivate", "b": "rslave"})
    assert _propagation(before["/mnt/a"][0]) == [], before["/mnt/a"]
    assert _propagation(before["/mnt/b"][0]) == ["master"], before["/mnt/b"]
    assert f"master:{peer}" in before["/mnt/b"][0]
    assert host_mounts == [str(d)]
    assert "/mnt/a/sub" not in after
    assert after["/mnt/b/sub"][1] == "tmpfs"
    assert files == {"a": None, "b": "from host b\n"}


def test_bind_propagation_shared_receives(hk):
    """rshared: the bind receives what the host mounts below its source."""
    peer, before, after, files, host_mounts, d = _bind_propagation(hk, {"c": "rshared"})
    assert f"master:{peer}" in before["/mnt/c"][0], before["/mnt/c"]
    assert host_mounts == [str(d)]
    assert after["/mnt/c/sub"][1] == "tmpfs"
    assert files == {"c": "from host c\n"}


def test_bind_propagation_shared_is_shared(hk):
    peer, before, after, files, host_mounts, d = _bind_propagation(hk, {"c": "rshared"})
    assert "shared" in _propagation(before["/mnt/c"][0]), before["/mnt/c"]


@pytest.mark.parametrize("prop,want", [
    (None, ["master"]),
    ("rslave", ["master"]),
    pytest.param("slave", ["master"], marks=pytest.mark.husk_only),
    ("private", []),
    ("rprivate", []),
], ids=["default", "rslave", "slave", "private", "rprivate"])
def test_rootfs_propagation(hk, prop, want):
    """The rootfs lives on a shared host mount: with slave propagation the
    container's / is a slave of that mount's peer group, with private it
    has no propagation.  Either way nothing the container mounts reaches the
    host.  ("slave" is husk_only: runc 1.1 makes the shared parent mount
    private before binding the rootfs, so its / ends up private.)"""
    d = hk.work / "shared"
    d.mkdir()
    with shared_mount(d) as peer:
        copy = hk.rootfs_copy(name="shared/rootfs")

        def edit(cfg):
            if prop is not None:
                cfg["linux"]["rootfsPropagation"] = prop
        cid, pid, out = _start_waiting(
            hk, "cat /proc/self/mountinfo > /mnt/rw/mountinfo", rootfs=copy,
            bundle_edit=edit)
        mi = _mountinfo((out / "mountinfo").read_text())
        assert _propagation(mi["/"][0]) == want, mi["/"]
        if want:
            assert f"master:{peer}" in mi["/"][0], mi["/"]
        # /proc, /dev, /mnt/rw ... of the container stay in its namespace
        assert [l.split()[4] for l in _host_lines_at(d)] == [str(d)]


# --------------------------------------------------------------------------
# 4. mount types

def _host_v1_controllers():
    ctrls = set()
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, names, _ = line.rstrip("\n").split(":", 2)
            if hid != "0":
                ctrls |= {c for c in names.split(",") if c and not c.startswith("name=")}
    return sorted(ctrls)


CGROUP_V2_ONLY = os.path.exists("/sys/fs/cgroup/cgroup.controllers")

MOUNT_TYPES_SCRIPT = r"""
cat /proc/self/mountinfo > /mnt/rw/mountinfo
cat /proc/self/cgroup > /mnt/rw/cgroup
ls /sys/fs/cgroup > /mnt/rw/cgroup-ls
try() { if "$@" 2>/dev/null; then echo "$* WROTE"; else echo "$* denied"; fi; }
try touch /sys/x > /mnt/rw/writes
try touch /sys/fs/cgroup/x >> /mnt/rw/writes
try mkdir /sys/fs/cgroup/$PROBE/hk-x >> /mnt/rw/writes
rmdir /sys/fs/cgroup/$PROBE/hk-x 2>/dev/null
rm -f /sys/x /sys/fs/cgroup/x 2>/dev/null
"""


def test_mount_types_with_cgroup_namespace(hk):
    probe = "" if CGROUP_V2_ONLY else _host_v1_controllers()[0]
    cid, pid, out = _start_waiting(
        hk, f"PROBE={probe}\n{MOUNT_TYPES_SCRIPT}",
        namespaces=("pid", "network", "ipc", "uts", "mount", "cgroup"))
    mi = _mountinfo((out / "mountinfo").read_text())
    assert mi["/dev/mqueue"][1] == "mqueue"
    assert mi["/sys"][1] == "sysfs" and "ro" in mi["/sys"][2]
    assert "/sys/fs/cgroup" in mi
    writes = (out / "writes").read_text().splitlines()
    assert writes[0] == "touch /sys/x denied"
    # the container's own cgroup is bound read-only
    assert writes[2] == f"mkdir /sys/fs/cgroup/{probe}/hk-x denied"
    # a cgroup namespace rooted at the container's cgroup
    inner = (out / "cgroup").read_text().splitlines()
    assert inner and all(l.split(":", 2)[2] == "/" for l in inner), inner
    assert ns_id(pid, "cgroup") != ns_id("self", "cgroup")
    host_view = Path(f"/proc/{pid}/cgroup").read_text()
    assert cid in host_view, host_view
    listing = (out / "cgroup-ls").read_text().split()
    if CGROUP_V2_ONLY:
        assert "cgroup.controllers" in listing, listing
    else:
        for c in _host_v1_controllers():
            assert c in listing, (c, listing)


def test_cgroup_mount_top_not_writable(hk):
    cid, pid, out = _start_waiting(
        hk, "if touch /sys/fs/cgroup/x 2>/dev/null; then echo WROTE; rm /sys/fs/cgroup/x; "
            "else echo denied; fi > /mnt/rw/write",
        namespaces=("pid", "network", "ipc", "uts", "mount", "cgroup"))
    assert (out / "write").read_text() == "denied\n"


def test_cgroup_path_without_cgroup_namespace(hk):
    cid, pid, out = _start_waiting(hk, "cat /proc/self/cgroup > /mnt/rw/cgroup")
    inner = (out / "cgroup").read_text()
    assert ns_id(pid, "cgroup") == ns_id("self", "cgroup")
    # the real path, the same as the host sees
    assert inner == Path(f"/proc/{pid}/cgroup").read_text()
    assert any(cid in l.split(":", 2)[2] for l in inner.splitlines()), inner


# --------------------------------------------------------------------------
# 5. linux.devices

DEVICES = [
    {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
     "fileMode": 0o600, "uid": 0, "gid": 0},
    {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620, "uid": 0, "gid": 5},
]

DEVICES_SCRIPT = r"""
stat -c '%n|%F|%a|%u:%g|%t:%T' /dev/mynull /dev/myfifo > /mnt/rw/stat
echo x > /dev/mynull && echo null-ok > /mnt/rw/null
(echo through-fifo > /dev/myfifo &)
read line < /dev/myfifo; echo "$line" > /mnt/rw/fifo
"""


def test_devices(hk):
    cid, pid, out = _start_waiting(
        hk, DEVICES_SCRIPT,
        bundle_edit=lambda cfg: cfg["linux"].update(devices=DEVICES))
    assert (out / "stat").read_text().splitlines() == [
        "/dev/mynull|character special file|600|0:0|1:3",
        "/dev/myfifo|fifo|620|0:5|0:0"]
    assert (out / "null").read_text() == "null-ok\n"
    assert (out / "fifo").read_text() == "through-fifo\n"
    # from the host, through the container's root
    st = os.stat(f"/proc/{pid}/root/dev/mynull")
    assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    st = os.stat(f"/proc/{pid}/root/dev/myfifo")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620
    assert (st.st_uid, st.st_gid) == (0, 5)


# --------------------------------------------------------------------------
# 6. maskedPaths and readonlyPaths

MASK_SCRIPT = r"""
cat /proc/self/mountinfo > /mnt/rw/mountinfo
for p in $MASKED; do
  if [ -d $p ]; then echo "$p dir $(ls -A $p | wc -l)"
  elif [ -e $p ]; then echo "$p $(stat -c '%F %t:%T' $p) $(cat $p | wc -c)"
  else echo "$p missing"; fi
done > /mnt/rw/masked
if echo hk-renamed > /proc/sys/kernel/hostname; then echo WROTE; else echo denied; fi 2>/mnt/rw/err > /mnt/rw/ro
hostname >> /mnt/rw/ro
if touch /sys/firmware/x 2>/dev/null; then echo WROTE; else echo denied; fi >> /mnt/rw/ro
"""


def test_masked_and_readonly_paths(hk):
    cfg = hk.config()
    masked = cfg["linux"]["maskedPaths"]
    cid, pid, out = _start_waiting(hk, f"MASKED='{' '.join(masked)}'\n{MASK_SCRIPT}")
    mi = _mountinfo((out / "mountinfo").read_text())
    lines = dict(l.split(" ", 1) for l in (out / "masked").read_text().splitlines())
    checked = 0
    for p in masked:
        if not os.path.exists(p):  # not on this kernel
            continue
        checked += 1
        assert p in mi, f"{p} not masked"
        if os.path.isdir(p):
            # an empty (read-only) directory
            assert lines[p] == "dir 0", (p, lines[p])
            assert mi[p][1] == "tmpfs" and "ro" in mi[p][2], (p, mi[p])
        else:
            # /dev/null bound over it: reads empty
            assert lines[p] == "character special file 1:3 0", (p, lines[p])
    assert checked >= 2
    assert os.path.isdir("/sys/firmware") and "/sys/firmware" in mi
    # /proc/sys is read-only, so even a uts-namespaced knob cannot be set
    assert "ro" in mi["/proc/sys"][2], mi["/proc/sys"]
    assert (out / "ro").read_text().splitlines() == ["denied", "hktest", "denied"]
    assert "Read-only file system" in (out / "err").read_text()
    for p in cfg["linux"]["readonlyPaths"]:
        if os.path.exists(p):
            assert p in mi and "ro" in mi[p][2], (p, mi.get(p))


# --------------------------------------------------------------------------
# 7. linux.sysctl

def _read(path):
    with open(path) as f:
        return f.read().strip()


def test_sysctl_in_new_namespaces(hk):
    fwd = _read("/proc/sys/net/ipv4/ip_forward")
    msgmax = _read("/proc/sys/kernel/msgmax")
    want_msgmax = "12345" if msgmax != "12345" else "12346"
    b = hk.bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax"])
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1",
                                   "kernel.msgmax": want_msgmax}
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["1", want_msgmax]
    assert _read("/proc/sys/net/ipv4/ip_forward") == fwd
    assert _read("/proc/sys/kernel/msgmax") == msgmax


@pytest.mark.parametrize("case", ["kernel.panic", "net-without-netns"])
def test_sysctl_outside_namespaces_rejected(hk, case):
    """Each value is the host's current one, so a runtime that wrongly
    applied it would still change nothing."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"], extra_mounts=[bind(out, "/mnt/rw")])
    if case == "kernel.panic":
        key, path = "kernel.panic", "/proc/sys/kernel/panic"
    else:
        key, path = "net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"
        b.config["linux"]["namespaces"] = [
            n for n in b.config["linux"]["namespaces"] if n["type"] != "network"]
    before = _read(path)
    b.config["linux"]["sysctl"] = {key: before}
    b.write()
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert_nothing_left(hk, cid)
    assert not (out / "ran").exists()
    assert _read(path) == before


def test_sysctl_kernel_hostname_refused(hk):
    """kernel.hostname is namespaced, but the spec's hostname field says
    what the UTS namespace's name is: runc and crun refuse the sysctl
    (issue 16 A13), and the hostname stays the field's."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "hostname > /mnt/rw/name"], extra_mounts=[bind(out, "/mnt/rw")])
    b.config["linux"]["sysctl"] = {"kernel.hostname": "fromsysctl"}
    b.write()
    cid = hk.new_id()
    r = hk.call("run", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert not (out / "name").exists()
    assert_nothing_left(hk, cid)
    if not IS_RUNC:
        assert "linux.sysctl.kernel.hostname" in r.err and "hostname field" in r.err, r.err
    # kernel.domainname has no field of its own in spec 1.0: still allowed
    b.config["linux"]["sysctl"] = {"kernel.domainname": "dom.example"}
    b.config["process"]["args"] = ["sh", "-c", "hostname > /mnt/rw/name; "
                                   "cat /proc/sys/kernel/domainname >> /mnt/rw/name"]
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert (out / "name").read_text() == "hktest\ndom.example\n"


@pytest.mark.husk_only
def test_sysctl_rejected_message(hk):
    b = hk.bundle()
    b.config["linux"]["sysctl"] = {"kernel.panic": _read("/proc/sys/kernel/panic")}
    b.write()
    cid, r = hk.create(b, None, check=False)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and "kernel.panic" in r.err, r.err


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
