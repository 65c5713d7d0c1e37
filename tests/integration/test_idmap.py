"""Idmapped mounts (config.md: the idmap and ridmap options, a mount's
uidMappings and gidMappings; issue 16, B): bind mounts whose files show
with their owners shifted by the mount's ranges (or the container's user
namespace's), with and without a user namespace of the container. They
are mounted on the shared rootfs's /mnt/rw and /mnt/ro, which exist, so
nothing is made in it.

The expectations are those of runc 1.2's tests/integration/idmap.bats
(mapping X:Y:N turns an owner X on disk into Y on the host, that is
Y - H inside a container whose root is host uid H). Debian's runc 1.1.5
has no idmapped mounts, so these tests are husk_only."""

import os
import subprocess

import pytest

from conftest import bind
from test_userns import HOST_ID, id_map  # noqa: F401

pytestmark = pytest.mark.husk_only

USERNS = ("pid", "network", "ipc", "uts", "mount", "user")


def m(container, host, size):
    return [{"containerID": container, "hostID": host, "size": size}]


def idmapped(src, dst, uid=None, gid=None, opts=("bind",)):
    mnt = {"destination": dst, "type": "bind", "source": str(src), "options": list(opts)}
    if uid is not None:
        mnt["uidMappings"], mnt["gidMappings"] = uid, gid
    return mnt


@pytest.fixture
def sources(hk, traversable):
    """source-1/foo.txt (0:0), multi/{foo,bar,baz}.txt (100:211, 101:222,
    102:233), as idmap.bats makes them."""
    src = hk.dir("sources")
    (src / "one").mkdir()
    (src / "one/foo.txt").touch()
    (src / "multi").mkdir()
    for f, (u, g) in {"foo": (100, 211), "bar": (101, 222), "baz": (102, 233)}.items():
        (src / f"multi/{f}.txt").touch()
        os.chown(src / f"multi/{f}.txt", u, g)
    traversable(src / "one", src / "multi", hk.sess.rootfs)
    for d in (src, src / "one", src / "multi"):
        os.chmod(d, 0o755)
    return src


def _run(hk, script, mounts, userns):
    b = hk.bundle(["sh", "-c", script], extra_mounts=mounts,
                  namespaces=USERNS if userns else ("pid", "network", "ipc", "uts", "mount"))
    if userns:
        b.config["linux"]["uidMappings"] = b.config["linux"]["gidMappings"] = id_map()
    b.write()
    return hk.run_fg(b)


STAT = "stat -c =%n:%u=%g= "


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_idmap_mount_own_ranges(hk, sources, userns):
    """The mount's own ranges; a plain bind of the same source beside it is
    not shifted."""
    r = _run(hk, STAT + "/mnt/rw/foo.txt /mnt/ro/foo.txt", [
        idmapped(sources / "one", "/mnt/rw", m(0, HOST_ID, 65536), m(0, HOST_ID, 65536)),
        bind(sources / "one", "/mnt/ro", "ro")], userns)
    assert r.rc == 0, str(r)
    if userns:
        assert r.out.splitlines() == ["=/mnt/rw/foo.txt:0=0=",
                                      "=/mnt/ro/foo.txt:65534=65534="], r.out
    else:
        assert r.out.splitlines() == [f"=/mnt/rw/foo.txt:{HOST_ID}={HOST_ID}=",
                                      "=/mnt/ro/foo.txt:0=0="], r.out


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_idmap_mount_writes(hk, sources, userns):
    """In the container's user namespace, root's new file is root's on
    disk (through the mount's ranges); without one, root is not in the
    mount's ranges and cannot create files there (EOVERFLOW, as runc)."""
    r = _run(hk, "touch /mnt/rw/new && " + STAT + "/mnt/rw/new", [
        idmapped(sources / "one", "/mnt/rw", m(0, HOST_ID, 65536), m(0, HOST_ID, 65536))],
        userns)
    if userns:
        assert r.rc == 0 and r.out == "=/mnt/rw/new:0=0=\n", str(r)
        st = os.stat(sources / "one/new")
        assert (st.st_uid, st.st_gid) == (0, 0)
    else:
        assert r.rc != 0 and "Value too large for defined data type" in r.err, str(r)
        assert not (sources / "one/new").exists()


def test_idmap_same_source_different_ranges(hk, sources):
    """One source, two mounts, two mappings (uids and gids apart)."""
    r = _run(hk, STAT + "/mnt/rw/foo.txt /mnt/rw/bar.txt /mnt/ro/foo.txt /mnt/ro/baz.txt", [
        idmapped(sources / "multi", "/mnt/rw", m(100, 100000, 100), m(200, 100000, 100)),
        idmapped(sources / "multi", "/mnt/ro", m(100, 101000, 100), m(200, 102000, 100))],
        userns=True)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["=/mnt/rw/foo.txt:0=11=", "=/mnt/rw/bar.txt:1=22=",
                                  "=/mnt/ro/foo.txt:1000=2011=", "=/mnt/ro/baz.txt:1002=2033="], \
        r.out


def test_idmap_option_takes_container_userns(hk, sources):
    """idmap without ranges: the container's user namespace's (podman
    -v SRC:DST:idmap, Kubernetes volumes of hostUsers: false pods)."""
    r = _run(hk, STAT + "/mnt/rw/foo.txt",
             [idmapped(sources / "one", "/mnt/rw", opts=("rbind", "idmap", "ro"))], userns=True)
    assert r.rc == 0 and r.out == "=/mnt/rw/foo.txt:0=0=\n", str(r)


@pytest.mark.parametrize("opt", ["idmap", "ridmap"])
def test_idmap_recursive(hk, sources, opt):
    """ridmap shifts every mount of an rbind's tree; idmap only its top.
    A tmpfs the test mounts inside the source is the submount."""
    sub = sources / "one/sub"
    sub.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "hk-idmap-sub", str(sub)],
                   check=True, timeout=10)
    try:
        r = _run(hk, STAT + "/mnt/rw/foo.txt /mnt/rw/sub",
                 [idmapped(sources / "one", "/mnt/rw", opts=("rbind", opt))], userns=True)
    finally:
        subprocess.run(["umount", str(sub)], timeout=10)
    assert r.rc == 0, str(r)
    top, below = r.out.splitlines()
    assert top == "=/mnt/rw/foo.txt:0=0="
    assert below == ("=/mnt/rw/sub:0=0=" if opt == "ridmap" else "=/mnt/rw/sub:65534=65534="), \
        r.out


@pytest.mark.parametrize("case", ["not-bind", "uid-only", "no-ranges-no-userns", "crun-syntax"])
def test_idmap_refused(hk, sources, case):
    """As runc 1.2: bind mounts only, both ranges, or a user namespace to
    take them from; crun's "idmap=uids=...;gids=..." is not taken."""
    mnt = idmapped(sources / "one", "/mnt/rw", m(0, HOST_ID, 10), m(0, HOST_ID, 10))
    want = {"not-bind": "only a bind mount can be idmapped",
            "uid-only": "an idmapped mount needs uid and gid mappings",
            "no-ranges-no-userns": "takes the container's user namespace: none",
            "crun-syntax": "give the ranges as uidMappings and gidMappings"}[case]
    if case == "not-bind":
        mnt = {"destination": "/mnt/rw", "type": "tmpfs", "source": "tmpfs",
               "options": ["idmap"], "uidMappings": mnt["uidMappings"],
               "gidMappings": mnt["gidMappings"]}
    elif case == "uid-only":
        del mnt["gidMappings"]
    elif case == "no-ranges-no-userns":
        mnt = idmapped(sources / "one", "/mnt/rw", opts=("bind", "idmap"))
    else:
        mnt = idmapped(sources / "one", "/mnt/rw", opts=("bind", "idmap=uids=0-1-10;gids=0-1-10"))
    r = _run(hk, "true", [mnt], userns=False)
    assert r.rc == 1 and want in r.err, str(r)
