"""runc features of the container's filesystem: mount propagation and
mount types, linux.devices, masked and read-only paths, sysctl. Checked
from inside the container and, where it makes sense, from the host."""

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
