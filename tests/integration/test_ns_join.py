"""Mount and uts namespaces joined by path, and a container without a mount
namespace of its own (issue 16, A12), against Debian's runc 1.1.5.

The namespaces joined here belong to holder processes the test starts
(`unshare ... sleep`) and kills; nothing of the host's is joined, except in
the husk-only tests that check husk refuses to change the host's."""

import contextlib
import json
import os
import subprocess
import time

import pytest

from conftest import DEFAULT_NAMESPACES, mountinfo_lines_mentioning, wait_for


@contextlib.contextmanager
def holder(*unshare_args):
    """A process in namespaces of its own (unshare's options); yields its
    pid, kills it at the end."""
    p = subprocess.Popen(["unshare", *unshare_args, "sleep", "1000"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        own = os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/uts")
        wait_for(lambda: (os.readlink(f"/proc/{p.pid}/ns/mnt"),
                          os.readlink(f"/proc/{p.pid}/ns/uts")) != own
                 and open(f"/proc/{p.pid}/comm").read() == "sleep\n",
                 what="the holder to be in its namespaces")
        yield p.pid
    finally:
        p.kill()
        p.wait(timeout=10)


def _ns(*joined, base=DEFAULT_NAMESPACES):
    """base namespaces, those of type in joined replaced by {type, path}."""
    kinds = {j["type"] for j in joined}
    return tuple(n for n in base if n not in kinds) + tuple(joined)


# --------------------------------------------------------------------------
# a mount namespace joined by path

def test_join_mount_namespace_by_path(hk):
    """runc joins it and builds the container's root in it (its root is
    then the container's, as after any pivot_root there); husk refused."""
    with holder("--mount", "--propagation", "private") as pid:
        path = f"/proc/{pid}/ns/mnt"
        want = os.readlink(path)
        b = hk.bundle(["sh", "-c", "readlink /proc/self/ns/mnt; cat /etc/hostname"],
                      namespaces=_ns({"type": "mount", "path": path}))
        r = hk.run_fg(b)
        assert r.rc == 0, str(r)
        assert r.out.splitlines() == [want, "busybox"], r.out
    assert not mountinfo_lines_mentioning(hk.sess.rootfs)


@pytest.mark.husk_only
@pytest.mark.parametrize("whose", ["husk", "pid1"])
def test_join_host_mount_namespace_refused(hk, whose):
    """Joining the host's own mount namespace would pivot_root the host
    (runc 1.1.5 does just that): refused, nothing changed. Leaving "mount"
    out shares it without a pivot (below)."""
    path = "/proc/1/ns/mnt" if whose == "pid1" else f"/proc/{os.getpid()}/ns/mnt"
    b = hk.bundle(namespaces=_ns({"type": "mount", "path": path}))
    cid = hk.new_id()
    r = hk.call("run", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    # pid 1's namespaces may be closed even to root (here: EACCES)
    assert "is the host's mount namespace" in r.err or (
        whose == "pid1" and "Permission denied" in r.err), r.err
    assert hk.status(cid) is None


# --------------------------------------------------------------------------
# a uts namespace joined by path, with a hostname

def test_hostname_in_joined_uts_namespace(hk):
    """runc sets the hostname in a uts namespace joined by path; husk
    refused the config ("needs a new uts namespace")."""
    with holder("--uts") as pid:
        path = f"/proc/{pid}/ns/uts"
        b = hk.bundle(["sh", "-c", "hostname; readlink /proc/self/ns/uts"],
                      namespaces=_ns({"type": "uts", "path": path}), hostname="hk-joined")
        r = hk.run_fg(b)
        assert r.rc == 0, str(r)
        assert r.out.splitlines() == ["hk-joined", os.readlink(path)], r.out
        seen = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"],
                              capture_output=True, text=True, timeout=10)
        assert seen.stdout == "hk-joined\n", seen


@pytest.mark.husk_only
def test_hostname_in_host_uts_namespace_refused(hk):
    """The host's own uts namespace joined with a hostname: the host's
    hostname would change (runc 1.1.5 changes it). Refused."""
    before = os.uname().nodename
    b = hk.bundle(namespaces=_ns({"type": "uts", "path": f"/proc/{os.getpid()}/ns/uts"}),
                  hostname="hk-not-the-host")
    r = hk.run_fg(b)
    assert r.rc == 1 and "is the host's" in r.err, str(r)
    assert os.uname().nodename == before


# --------------------------------------------------------------------------
# no mount namespace: the runtime's is shared

NO_MNT = ("pid", "network", "ipc", "uts")


def _no_mntns_bundle(hk, args, rootfs):
    """config-linux.md: without a "mount" entry the container inherits the
    runtime's mount namespace. Nothing to mount in it, then."""
    b = hk.bundle(args, namespaces=NO_MNT, rootfs=rootfs, readonly=False, mounts=[])
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.write()
    return b


@pytest.mark.husk_only
def test_no_mount_namespace_shares_husks_chrooted(hk):
    """The container is in husk's mount namespace, chrooted into its root
    (runc chroots too: no pivot_root of the host's root); run, exec, kill
    and delete work on it, and nothing is mounted on the host.
    husk_only: runc 1.1.5 makes its mounts in the host's mount namespace
    and leaves them there, and without a /proc mount it cannot start
    ("open /proc/self/fd"); husk refused such a config."""
    copy = hk.rootfs_copy()
    b = _no_mntns_bundle(hk, ["sh", "-c", "touch /ran; exec sleep 1000"], copy)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    wait_for(lambda: (copy / "ran").exists(), what="the container to run")
    assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    assert os.stat(f"/proc/{pid}/root") == os.stat(copy)
    r = hk.call("exec", cid, "sh", "-c", "cat /etc/hostname; ls /ran")
    assert r.rc == 0 and r.out == "busybox\n/ran\n", str(r)
    assert not mountinfo_lines_mentioning(copy)
    hk.kill(cid, "KILL")
    hk.wait_status(cid, "stopped")
    hk.delete(cid)
    assert hk.status(cid) is None


@pytest.mark.husk_only
@pytest.mark.parametrize("field", ["mounts", "maskedPaths", "readonlyPaths",
                                   "readonly", "devices"])
def test_no_mount_namespace_refuses_host_changes(hk, field):
    """Whatever would have to be mounted or made for such a container
    would be made in the host's mount table or on the rootfs, and stay:
    refused, naming the field (runc refuses masked and read-only paths,
    "unable to restrict sys entries without a private MNT namespace",
    and makes the rest on the host)."""
    b = _no_mntns_bundle(hk, ["true"], hk.sess.rootfs)
    c = b.config
    if field == "mounts":
        c["mounts"] = [{"destination": "/proc", "type": "proc", "source": "proc"}]
    elif field == "readonly":
        c["root"]["readonly"] = True
    elif field == "devices":
        c["linux"]["devices"] = [{"type": "c", "path": "/dev/hk0", "major": 1, "minor": 3}]
    else:
        c["linux"][field] = ["/proc/kcore"]
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 1, str(r)
    assert "needs a mount namespace of the container's own" in r.err, r.err
    assert len(r.err_lines) == 1, r.err
