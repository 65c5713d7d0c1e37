"""User and time namespaces.

As root, a container with a new user namespace gets the maps of
linux.uidMappings / gidMappings, and its process is root inside and
HOST_ID (an unprivileged uid) outside.  Everything that process touches on
the host is reached as that host uid, so:

* a rootfs the container writes to must be owned by the mapped root: a
  private copy, `chown -hR 100000:100000` (-h: symlinks themselves, never
  their targets).  A read-only rootfs owned by the host's root works too, as
  long as it is world-readable: root is unmapped in the container and its
  files show up as owned by nobody (65534);
* every directory on the way to the rootfs and to bind mount sources must be
  searchable by HOST_ID: the session's temp dirs are mkdtemp's 0700, so the
  `traversable` fixture adds o+x to them for the test and restores the
  modes afterwards.

Time namespaces are husk_only: runc 1.1 does not know them.  husk run by
an unprivileged user is in test_userns_rootless.py.
"""

import fcntl
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (assert_nothing_left, ALL_NAMESPACES, DEFAULT_NAMESPACES, ID_PREFIX,
                      IS_RUNC, bind, cgroup_dirs_named, ns_id, pid_alive, tmpfs, wait_for)

HOST_ID = 100000
MAP_SIZE = 65536
USERNS = ALL_NAMESPACES + ("user",)

# Every capability up to CAP_CHECKPOINT_RESTORE (40): root in the container
# with a full set, so that what it cannot do is the user namespace's doing.
ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]
ALL_CAPS_MASK = (1 << len(ALL_CAPS)) - 1

# ioctl(2) on a namespace file: the user namespace that owns it (ioctl_ns(2))
NS_GET_USERNS = 0xB701


def id_map(host=HOST_ID, size=MAP_SIZE, container=0):
    return [{"containerID": container, "hostID": host, "size": size}]


def set_maps(cfg, uid_map=None, gid_map=None):
    cfg["linux"]["uidMappings"] = uid_map if uid_map is not None else id_map()
    cfg["linux"]["gidMappings"] = gid_map if gid_map is not None else id_map()
    return cfg


def all_caps(cfg):
    cfg["process"]["capabilities"] = {
        k: list(ALL_CAPS) for k in ("bounding", "effective", "permitted")}
    return cfg


def userns_bundle(hk, args, *, namespaces=USERNS, maps=True, edit=None, **kw):
    b = hk.bundle(args, namespaces=namespaces, **kw)
    if maps:
        set_maps(b.config)
    if edit:
        edit(b.config)
    b.write()
    return b


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def map_lines(text):
    return [l.split() for l in text.splitlines()]


def owner_userns(path):
    """(dev, ino) of the user namespace owning the namespace at path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        ufd = fcntl.ioctl(fd, NS_GET_USERNS)
    finally:
        os.close(fd)
    try:
        st = os.fstat(ufd)
        return st.st_dev, st.st_ino
    finally:
        os.close(ufd)


def ns_inode(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def read_uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def _ready_script(body, out="/mnt/rw"):
    return f"{body}; touch {out}/ready; exec sleep 1000"


def start_waiting(hk, bundle, out):
    """Run bundle (made with _ready_script) detached, until it is ready."""
    cid = hk.run_detached(bundle)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    return cid, hk.state(cid)["pid"]


def host_out_dir(hk, name="out", owner=HOST_ID):
    """A host dir the container writes to: owned by the mapped root."""
    d = hk.dir(name)
    os.chown(d, owner, owner)
    return d


# --------------------------------------------------------------------------
# 1. maps

def test_maps_seen_inside_and_outside(hk, traversable):
    """uid/gid 0..65535 on 100000..165535.  The rootfs is a private copy the
    container writes to, so it must belong to the mapped root: chown -hR
    100000:100000 (a rootfs left to the host's root would be nobody's
    inside, and read-only to the container's root)."""
    rootfs = hk.rootfs_copy()
    subprocess.run(["chown", "-hR", f"{HOST_ID}:{HOST_ID}", str(rootfs)],
                   check=True, timeout=30)
    out = host_out_dir(hk)
    traversable(rootfs, out)
    body = ("cat /proc/self/uid_map > /mnt/rw/uid_map; "
            "cat /proc/self/gid_map > /mnt/rw/gid_map; "
            "id > /mnt/rw/id; stat -c %u:%g / > /mnt/rw/rootowner; "
            "touch /mnt/rw/made-inside /made-inside")
    b = userns_bundle(hk, ["sh", "-c", _ready_script(body)], rootfs=rootfs,
                      readonly=False, extra_mounts=[bind(out, "/mnt/rw")])
    cid, pid = start_waiting(hk, b, out)

    want = [["0", str(HOST_ID), str(MAP_SIZE)]]
    assert map_lines((out / "uid_map").read_text()) == want
    assert map_lines((out / "gid_map").read_text()) == want
    # the host reads the same maps of the container process
    assert map_lines(open(f"/proc/{pid}/uid_map").read()) == want
    assert map_lines(open(f"/proc/{pid}/gid_map").read()) == want
    ident = (out / "id").read_text()
    assert re.match(r"uid=0\(root\) gid=0\(root\)", ident), ident
    # the rootfs owned by HOST_ID is root's inside
    assert (out / "rootowner").read_text().strip() == "0:0"

    st = status_fields(pid)
    assert st["Uid"].split() == [str(HOST_ID)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(HOST_ID)] * 4, st["Gid"]
    assert ns_id(pid, "user") != ns_id("self", "user")

    for f in (out / "made-inside", rootfs / "made-inside"):
        fst = os.stat(f)
        assert (fst.st_uid, fst.st_gid) == (HOST_ID, HOST_ID), f


def test_read_only_rootfs_owned_by_host_root(hk, traversable):
    """The shared rootfs belongs to the host's root, unmapped inside: the
    container still runs from it, and sees its files as nobody's."""
    traversable(hk.sess.rootfs)
    b = userns_bundle(hk, ["sh", "-c", "id -u; stat -c %u:%g /bin/busybox"])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.split() == ["0", "65534:65534"]


def test_devices_bound_from_host(hk, traversable):
    """mknod is refused in a user namespace: the default devices are the
    host's nodes, bound."""
    traversable(hk.sess.rootfs)
    script = ("for d in null zero full random urandom tty; do "
              "stat -c '%n %F %t:%T' /dev/$d; done; "
              "echo x > /dev/null && echo null-ok; "
              "head -c 5 /dev/zero | wc -c; "
              "head -c 5 /dev/urandom | wc -c")
    b = userns_bundle(hk, ["sh", "-c", script])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    want = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8",
            "urandom": "1:9", "tty": "5:0"}
    for line, (name, dev) in zip(lines, want.items()):
        assert line == f"/dev/{name} character special file {dev}", r.out
    assert lines[6:] == ["null-ok", "5", "5"], r.out


# --------------------------------------------------------------------------
# 2. what root in a user namespace cannot do

def test_root_inside_is_not_root_outside(hk, traversable):
    """Root with every capability, in its own user namespace: the
    namespaced things work on its namespaces only, the rest is refused."""
    traversable(hk.sess.rootfs)
    host_name = open("/proc/sys/kernel/hostname").read()
    host_panic = open("/proc/sys/kernel/panic").read()
    new_name = f"hk-{secrets.token_hex(3)}"
    me = os.getpid()
    # each check prints "<name> <rc>" and its error text
    script = "; ".join([
        f"hostname {new_name}; echo hostname $?; hostname",
        # a global sysctl: write back the value it has, should it succeed
        "v=$(cat /proc/sys/kernel/panic); "
        "(echo $v > /proc/sys/kernel/panic) 2>/mnt/tmpfs/e; echo sysctl $?",
        "mknod /mnt/tmpfs/null c 1 3 2>&1; echo mknod $?",
        "head -c 64 /dev/zero > /mnt/tmpfs/dummy.ko; "
        "insmod /mnt/tmpfs/dummy.ko 2>&1; echo insmod $?",
        "ulimit -Hn 2048 2>&1; echo raise-rlimit $?",
        "renice -n -5 -p $$ 2>&1; echo renice $?",
        "touch /mnt/tmpfs/f; chown 70000 /mnt/tmpfs/f 2>&1; echo chown-unmapped $?",
        "chown 1000:1000 /mnt/tmpfs/f; echo chown-mapped $?",
        f"ls /proc/{me} >/dev/null 2>&1; echo host-pid $?",
        "grep Cap /proc/self/status",
    ])
    b = userns_bundle(hk, ["sh", "-c", script], edit=all_caps,
                      extra_mounts=[tmpfs("/mnt/tmpfs")])
    # not read-only: the refusal must come from the user namespace
    b.config["linux"]["readonlyPaths"].remove("/proc/sys")
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    out = r.out
    rc = dict(re.findall(r"^([a-z-]+) (\d+)$", out, re.M))

    # the container's own uts namespace is its to change; the host's is not
    assert rc["hostname"] == "0", out
    assert new_name in out.splitlines()
    assert open("/proc/sys/kernel/hostname").read() == host_name
    # a sysctl of the initial namespace
    assert rc["sysctl"] != "0", out
    assert open("/proc/sys/kernel/panic").read() == host_panic
    # device nodes, kernel modules: the initial namespace's capabilities
    assert rc["mknod"] != "0", out
    assert "Operation not permitted" in out.split("mknod ")[0], out
    assert rc["insmod"] != "0", out
    if os.path.exists("/proc/modules"):
        # (without module support the kernel says ENOSYS to anyone)
        assert re.search(r"insmod: .*Operation not permitted", out), out
    # limits and priorities above the initial namespace's
    assert rc["raise-rlimit"] != "0", out
    assert rc["renice"] != "0", out
    # only mapped ids exist in the namespace
    assert rc["chown-unmapped"] != "0", out
    assert "Invalid argument" in out, out
    assert rc["chown-mapped"] == "0", out
    # the host's processes are out of sight
    assert rc["host-pid"] != "0", out
    caps = dict(re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", out, re.M))
    assert int(caps["CapEff"], 16) & ALL_CAPS_MASK == ALL_CAPS_MASK, caps


# --------------------------------------------------------------------------
# 3. time namespace

BOOT_OFFSET = 365 * 86400
MONO_OFFSET = 3600


def _offsets(cfg):
    cfg["linux"]["timeOffsets"] = {
        "boottime": {"secs": BOOT_OFFSET, "nanosecs": 0},
        "monotonic": {"secs": MONO_OFFSET, "nanosecs": 0}}


@pytest.mark.husk_only
def test_time_offsets(hk):
    out = hk.dir("out")
    body = ("cat /proc/uptime > /mnt/rw/uptime; "
            "cat /proc/self/timens_offsets > /mnt/rw/offsets")
    b = hk.bundle(["sh", "-c", _ready_script(body)],
                  namespaces=DEFAULT_NAMESPACES + ("time",),
                  extra_mounts=[bind(out, "/mnt/rw")])
    _offsets(b.config)
    b.write()
    before = read_uptime()
    cid, pid = start_waiting(hk, b, out)
    after = read_uptime()
    inside = float((out / "uptime").read_text().split()[0])
    assert before + BOOT_OFFSET - 1 <= inside <= after + BOOT_OFFSET + 1, \
        (before, inside, after)
    # the host's clocks are untouched
    assert after - before < 60
    assert abs(read_uptime() - time.clock_gettime(time.CLOCK_BOOTTIME)) < 2
    offsets = sorted(map_lines((out / "offsets").read_text()))
    assert offsets == [["boottime", str(BOOT_OFFSET), "0"],
                       ["monotonic", str(MONO_OFFSET), "0"]]
    assert sorted(map_lines(open(f"/proc/{pid}/timens_offsets").read())) == offsets
    assert ns_id(pid, "time") != ns_id("self", "time")
    assert map_lines(open("/proc/self/timens_offsets").read()) == [
        ["monotonic", "0", "0"], ["boottime", "0", "0"]]


@pytest.mark.husk_only
def test_time_namespace_in_user_namespace(hk, traversable):
    traversable(hk.sess.rootfs)
    b = userns_bundle(hk, ["sh", "-c", "id -u; cat /proc/uptime"],
                      namespaces=USERNS + ("time",), edit=_offsets)
    before = read_uptime()
    r = hk.run_fg(b)
    after = read_uptime()
    assert r.rc == 0, str(r)
    uid, uptime = r.out.splitlines()[:2]
    assert uid == "0"
    inside = float(uptime.split()[0])
    assert before + BOOT_OFFSET - 1 <= inside <= after + BOOT_OFFSET + 1


# --------------------------------------------------------------------------
# 4. joining a user namespace by path

def test_join_user_namespace_by_path(hk, traversable):
    traversable(hk.sess.rootfs)
    name = f"hk-{secrets.token_hex(3)}"
    aout, bout = host_out_dir(hk, "a"), host_out_dir(hk, "b")
    traversable(aout, bout)
    a = userns_bundle(hk, ["sh", "-c", _ready_script("true")],
                      namespaces=("user", "mount", "pid", "network", "uts", "ipc"),
                      hostname=name, extra_mounts=[bind(aout, "/mnt/rw")])
    acid, apid = start_waiting(hk, a, aout)

    joined = [{"type": "user", "path": f"/proc/{apid}/ns/user"},
              {"type": "network", "path": f"/proc/{apid}/ns/net"},
              {"type": "uts", "path": f"/proc/{apid}/ns/uts"},
              "mount", "pid", "ipc"]
    body = ("id -u > /mnt/rw/uid; cat /proc/self/uid_map > /mnt/rw/uid_map; "
            "hostname > /mnt/rw/host; echo $$ > /mnt/rw/mypid; "
            "ip link > /mnt/rw/links")
    b = userns_bundle(hk, ["sh", "-c", _ready_script(body)], namespaces=joined,
                      hostname=None, maps=IS_RUNC,
                      extra_mounts=[bind(bout, "/mnt/rw")])
    # runc 1.1 wants the joined namespace's maps repeated; husk refuses them
    # (they are written already)
    bcid, bpid = start_waiting(hk, b, bout)

    for f in ("user", "net", "uts"):
        assert ns_id(bpid, f) == ns_id(apid, f), f
    for f in ("mnt", "pid", "ipc"):
        assert ns_id(bpid, f) != ns_id(apid, f), f
        assert ns_id(bpid, f) != ns_id("self", f), f
        # made after joining: they belong to the joined user namespace
        assert owner_userns(f"/proc/{bpid}/ns/{f}") == ns_inode(f"/proc/{apid}/ns/user"), f
    assert (bout / "uid").read_text().strip() == "0"
    assert map_lines((bout / "uid_map").read_text()) == [["0", str(HOST_ID), str(MAP_SIZE)]]
    assert (bout / "host").read_text().strip() == name
    assert (bout / "mypid").read_text().strip() == "1"
    assert status_fields(bpid)["Uid"].split() == [str(HOST_ID)] * 4
    assert re.findall(r"^\d+: ([^:@]+)[:@]", (bout / "links").read_text(), re.M) == ["lo"]
    # B's process is root of A's user namespace, so the state is consistent
    assert hk.state(bcid)["pid"] == bpid
    hk.kill(bcid, "KILL")
    hk.wait_status(bcid, "stopped")
    hk.delete(bcid)
    assert pid_alive(apid)


def test_join_user_namespace_by_path_run_foreground(hk, traversable):
    """`run` waits for a process that is, with a new pid namespace made in
    the joined user namespace, not the one first cloned."""
    traversable(hk.sess.rootfs)
    aout = host_out_dir(hk, "a")
    traversable(aout)
    a = userns_bundle(hk, ["sh", "-c", _ready_script("true")],
                      extra_mounts=[bind(aout, "/mnt/rw")])
    acid, apid = start_waiting(hk, a, aout)
    joined = [{"type": "user", "path": f"/proc/{apid}/ns/user"},
              "mount", "pid", "ipc", "network", "uts"]
    b = userns_bundle(hk, ["sh", "-c", "id -u; echo $$; readlink /proc/self/ns/user; exit 3"],
                      namespaces=joined, maps=IS_RUNC)
    r = hk.run_fg(b)
    assert r.rc == 3, str(r)
    assert r.out.split() == ["0", "1", ns_id(apid, "user")]


def test_joined_user_and_pid_namespaces_no_ptrace_during_setup(hk, traversable):
    """Attack (fourth outside attack): B is created into A's user *and* pid
    namespaces, both by path. Until pivot_root, B's process has the host's
    root, and it is in A's pid namespace, as root of A's user namespace. A
    process of A's with CAP_SYS_PTRACE scans A's /proc meanwhile: it must
    never reach the host's files through /proc/<pid>/root (B's process is
    not dumpable while it builds its mounts, as runc's init is not). A
    createRuntime hook holds B there for 2 s."""
    traversable(hk.sess.rootfs)
    marker = Path(hk.dir("host-only"))  # a path of the host's, not in the rootfs
    (marker / "secret").write_text("host\n")
    aout = host_out_dir(hk, "a")
    traversable(aout)
    scan = (f"touch /mnt/rw/ready; while [ ! -e /mnt/rw/stop ]; do "
            f"for p in /proc/[0-9]*; do [ -e $p/root{marker}/secret ] && "
            f"{{ echo $p; grep -E 'Uid|Name' $p/status; readlink $p/root; }} >> /mnt/rw/hit; done; done; touch /mnt/rw/done; exec sleep 1000")
    a = userns_bundle(hk, ["sh", "-c", scan], edit=all_caps,
                      extra_mounts=[bind(aout, "/mnt/rw")])
    acid, apid = start_waiting(hk, a, aout)

    def hold(cfg):
        cfg["hooks"] = {"createRuntime": [{"path": "/usr/bin/sleep", "args": ["sleep", "2"]}]}

    joined = [{"type": "user", "path": f"/proc/{apid}/ns/user"},
              {"type": "pid", "path": f"/proc/{apid}/ns/pid"},
              "mount", "ipc", "network", "uts"]
    b = userns_bundle(hk, ["sh", "-c", "id -u"], namespaces=joined, maps=IS_RUNC, edit=hold)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.split() == ["0"]
    (aout / "stop").touch()
    wait_for(lambda: (aout / "done").exists(), what="the scan to end")
    hit = (aout / "hit").read_text() if (aout / "hit").exists() else ""
    assert hit == "", f"A reached the host's files through B's /proc/<pid>/root: {hit}"
    hk.kill(acid, "KILL")
    hk.wait_status(acid, "stopped")
    hk.delete(acid)


@pytest.mark.husk_only
def test_join_time_namespace_by_path(hk):
    aout, bout = hk.dir("a"), hk.dir("b")
    a = hk.bundle(["sh", "-c", _ready_script("true")],
                  namespaces=DEFAULT_NAMESPACES + ("time",),
                  extra_mounts=[bind(aout, "/mnt/rw")])
    _offsets(a.config)
    a.write()
    acid, apid = start_waiting(hk, a, aout)
    body = "cat /proc/uptime > /mnt/rw/uptime"
    b = hk.bundle(["sh", "-c", _ready_script(body)],
                  namespaces=DEFAULT_NAMESPACES + (
                      {"type": "time", "path": f"/proc/{apid}/ns/time"},),
                  extra_mounts=[bind(bout, "/mnt/rw")])
    before = read_uptime()
    bcid, bpid = start_waiting(hk, b, bout)
    after = read_uptime()
    assert ns_id(bpid, "time") == ns_id(apid, "time")
    inside = float((bout / "uptime").read_text().split()[0])
    assert before + BOOT_OFFSET - 1 <= inside <= after + BOOT_OFFSET + 1


@pytest.mark.husk_only
def test_join_user_and_time_namespaces_by_path(hk, traversable):
    """A time namespace made inside a user namespace, both joined."""
    traversable(hk.sess.rootfs)
    aout = host_out_dir(hk, "a")
    traversable(aout)
    a = userns_bundle(hk, ["sh", "-c", _ready_script("true")],
                      namespaces=USERNS + ("time",), edit=_offsets,
                      extra_mounts=[bind(aout, "/mnt/rw")])
    acid, apid = start_waiting(hk, a, aout)
    assert owner_userns(f"/proc/{apid}/ns/time") == ns_inode(f"/proc/{apid}/ns/user")
    joined = [{"type": "user", "path": f"/proc/{apid}/ns/user"},
              {"type": "time", "path": f"/proc/{apid}/ns/time"},
              "mount", "pid", "ipc", "network", "uts"]
    bout = host_out_dir(hk, "b")
    traversable(bout)
    body = "id -u > /mnt/rw/uid; cat /proc/uptime > /mnt/rw/uptime"
    b = userns_bundle(hk, ["sh", "-c", _ready_script(body)], namespaces=joined,
                      hostname=None, maps=False, extra_mounts=[bind(bout, "/mnt/rw")])
    before = read_uptime()
    bcid, bpid = start_waiting(hk, b, bout)
    after = read_uptime()
    for f in ("user", "time"):
        assert ns_id(bpid, f) == ns_id(apid, f), f
    assert (bout / "uid").read_text().strip() == "0"
    inside = float((bout / "uptime").read_text().split()[0])
    assert before + BOOT_OFFSET - 1 <= inside <= after + BOOT_OFFSET + 1


# --------------------------------------------------------------------------
# 5. bad input

def _ns(cfg, *extra):
    cfg["linux"]["namespaces"] += [e if isinstance(e, dict) else {"type": e}
                                   for e in extra]


def _bad(fn, mention, runc_accepts=False):
    return fn, mention, runc_accepts


def _maps_without_userns(cfg):
    set_maps(cfg)


def _userns_without_maps(cfg):
    _ns(cfg, "user")


def _userns_only_uid_map(cfg):
    _ns(cfg, "user")
    cfg["linux"]["uidMappings"] = id_map()


def _userns_only_gid_map(cfg):
    _ns(cfg, "user")
    cfg["linux"]["gidMappings"] = id_map()


def _maps_with_joined_userns(cfg):
    _ns(cfg, {"type": "user", "path": "/proc/self/ns/user"})
    set_maps(cfg)


def _userns_maps(uid_map=None, gid_map=None):
    def fn(cfg):
        _ns(cfg, "user")
        set_maps(cfg, uid_map, gid_map)
    return fn


def _time(offsets, ns=("time",)):
    def fn(cfg):
        _ns(cfg, *ns)
        cfg["linux"]["timeOffsets"] = offsets
    return fn


BAD = {
    # runc 1.1 ignores maps without a user namespace
    "maps-without-userns": _bad(_maps_without_userns, "linux.uidMappings",
                                runc_accepts=True),
    "userns-without-maps": _bad(_userns_without_maps, "linux.uidMappings"),
    "userns-only-uid-map": _bad(_userns_only_uid_map, "linux.gidMappings"),
    "userns-only-gid-map": _bad(_userns_only_gid_map, "linux.uidMappings"),
    # runc 1.1 takes these maps, and joins the namespace (root's own here)
    "maps-with-joined-userns": _bad(_maps_with_joined_userns, "linux.uidMappings",
                                    runc_accepts=True),
    "size-0": _bad(_userns_maps(gid_map=id_map(size=0)), "linux.gidMappings[0].size"),
    "container-range-past-max": _bad(
        _userns_maps(uid_map=id_map(container=4294967295, size=1)), "linux.uidMappings[0]"),
    "host-range-past-max": _bad(
        _userns_maps(uid_map=id_map(host=4294967295 - 10, size=65536)),
        "linux.uidMappings[0]"),
    "id-over-32-bits": _bad(
        _userns_maps(gid_map=id_map(host=4294967296, size=1)),
        "linux.gidMappings[0].hostID"),
    "container-ranges-overlap": _bad(
        _userns_maps(uid_map=id_map() + id_map(host=300000, container=65535, size=2)),
        "linux.uidMappings[1].containerID"),
    "host-ranges-overlap": _bad(
        _userns_maps(gid_map=id_map(size=10) + id_map(host=HOST_ID + 9, container=10, size=1)),
        "linux.gidMappings[1].hostID"),
    # runc 1.1 knows no time namespaces, and ignores timeOffsets
    "time-offsets-without-time-ns": _bad(
        _time({"boottime": {"secs": 10}}, ns=()), "linux.timeOffsets", runc_accepts=True),
    "time-offsets-with-joined-time-ns": _bad(
        _time({"boottime": {"secs": 10}}, ns=({"type": "time", "path": "/proc/self/ns/time"},)),
        "linux.timeOffsets"),
    "time-offsets-unknown-clock": _bad(
        _time({"realtime": {"secs": 10}}), "linux.timeOffsets.realtime"),
    "time-offsets-nanosecs-too-big": _bad(
        _time({"monotonic": {"secs": 1, "nanosecs": 1000000000}}),
        "linux.timeOffsets.monotonic.nanosecs"),
}


def _attempt(hk, traversable, case, cmd):
    fn, mention, _ = BAD[case]
    traversable(hk.sess.rootfs)
    out = hk.dir("out")
    os.chmod(out, 0o777)
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"], extra_mounts=[bind(out, "/mnt/rw")])
    fn(b.config)
    b.write()
    cid = hk.new_id()
    cg_before = set(cgroup_dirs_named(ID_PREFIX))
    r = hk.call(cmd, "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert_nothing_left(hk, cid, cg_before)
    assert not (out / "ran").exists()
    return r, mention


@pytest.mark.parametrize("cmd", ["create", "run"])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_userns_config(hk, traversable, case, cmd):
    if IS_RUNC and BAD[case][2]:
        pytest.skip("runc 1.1 accepts this")
    _attempt(hk, traversable, case, cmd)


@pytest.mark.husk_only
@pytest.mark.parametrize("case", list(BAD))
def test_bad_userns_config_message(hk, traversable, case):
    r, mention = _attempt(hk, traversable, case, "create")
    lines = r.err_lines
    assert len(lines) == 1, f"want one line on stderr:\n{r.err}"
    assert mention in lines[0], f"{mention!r} not in {lines[0]!r}"
