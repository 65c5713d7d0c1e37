"""The image store beyond pulling (issue 19): `husk image prune` (the
layers no image and no container uses) and an ordinary user's pulls,
against the same local registry as test_registry.py (its fixtures)."""

import fcntl
import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import HUSK
from ocimage import Image, tar_of_dir
from test_registry import CONFIG, TIMEOUT, puller, world  # noqa: F401
from test_userns_rootless import rootless  # noqa: F401

pytestmark = pytest.mark.husk_only


# --------------------------------------------------------------------------
# husk image prune: the layers no image of the store and no container uses

def prune(puller, env=None):
    return puller.hk.call("image", "prune", "--cache-dir", puller.cache, "--data-dir",
                          puller.data, env=env, timeout=TIMEOUT)


def deleted(r):
    return sorted(l.split("sha256:")[1] for l in r.out.splitlines()
                  if l.startswith("deleted: sha256:"))


def test_prune_keeps_what_images_and_containers_use(puller, world):
    hexes = sorted(world.img.layer_hex(i) for i in range(2))
    cache = ("--cache-dir", puller.cache)
    r = prune(puller)  # an empty cache
    assert r.rc == 0 and r.out == "Total reclaimed space: 0B\n", str(r)
    for ref in (world.oci, world.docker):
        assert puller.pull(ref, "-q").rc == 0
    puller.hk.ok("rmi", *cache, world.oci)
    r = prune(puller)  # hk/docker:1 has the same layers
    assert r.rc == 0 and deleted(r) == [] and puller.layers() == hexes, str(r)
    cid = puller.hk.new_id()
    r = puller.hk.call("launch", "-d", "--net", "none", "--name", cid, "--data-dir", puller.data,
                       "--cache-dir", puller.cache, "--pull", "never", world.docker, "sleep 100",
                       timeout=TIMEOUT)
    assert r.rc == 0, str(r)
    try:
        puller.hk.ok("rmi", *cache, world.docker)
        assert puller.refs() == []
        r = prune(puller)  # no image: the container still uses them
        assert r.rc == 0 and deleted(r) == [] and puller.layers() == hexes, str(r)
        assert puller.hk.status(cid) == "running"
    finally:
        puller.hk.call("delete", "--force", cid)
    r = prune(puller)
    assert r.rc == 0 and deleted(r) == hexes, str(r)
    assert r.out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert r.out.splitlines()[-1] != "Total reclaimed space: 0B"
    assert puller.layers() == [] and puller.tmp_empty()
    # and the image comes back whole
    r = puller.launch(world.oci)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    assert r.err.count("Copying blob") == 2, str(r)


def test_prune_removes_layers_of_a_layout_once_its_container_is_gone(puller, world):
    lay = world.img.layout(puller.hk.dir("lay") / "layout")
    r = puller.launch(str(lay))
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    assert len(puller.layers()) == 2
    r = prune(puller)
    assert r.rc == 0 and len(deleted(r)) == 2 and puller.layers() == [], str(r)


def test_prune_stops_at_a_container_without_a_record(puller, world):
    """A container directory with an owner and no record of its layers (a
    launch killed as it started, or an older husk's): its layers cannot be
    told from unused ones, so nothing goes."""
    assert puller.pull(world.oci, "-q").rc == 0
    puller.hk.ok("rmi", "--cache-dir", puller.cache, world.oci)
    odd = puller.data / "old-container"
    odd.mkdir(mode=0o700)
    (odd / ".owner").write_text("token\n")
    r = prune(puller)
    assert r.rc == 1 and "old-container" in r.err and "nothing removed" in r.err, str(r)
    assert len(r.err.strip().splitlines()) == 1, str(r)
    assert len(puller.layers()) == 2
    shutil.rmtree(odd)
    r = prune(puller)
    assert r.rc == 0 and len(deleted(r)) == 2, str(r)


def test_prune_waits_for_a_pull_or_launch_holding_the_cache(puller, world):
    """A pull or launch holds the cache (flock, shared) from before it looks
    for its layers until what uses them is recorded: a prune waits for it,
    $HUSK_PULL_TIMEOUT seconds at most."""
    assert puller.pull(world.oci, "-q").rc == 0
    puller.hk.ok("rmi", "--cache-dir", puller.cache, world.oci)
    fd = os.open(puller.cache / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        t0 = time.monotonic()
        r = prune(puller, env={**os.environ, "HUSK_PULL_TIMEOUT": "1"})
        assert r.rc == 1 and "held it" in r.err, str(r)
        assert 0.9 < time.monotonic() - t0 < 10
        assert len(puller.layers()) == 2
    finally:
        os.close(fd)
    r = prune(puller)
    assert r.rc == 0 and len(deleted(r)) == 2, str(r)


def test_launch_waits_for_a_prune(puller, world):
    """...and a launch waits for a prune the same way (here one stuck)."""
    assert puller.pull(world.oci, "-q").rc == 0
    fd = os.open(puller.cache / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = puller.launch(world.oci, env={**os.environ, "HUSK_PULL_TIMEOUT": "1"})
        assert r.rc == 125 and "a prune held it" in r.err, str(r)
    finally:
        os.close(fd)
    r = puller.launch(world.oci)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)


def test_image_prune_usage(puller):
    r = puller.hk.call("image", "list")
    assert r.rc != 0 and "unknown subcommand" in r.err, str(r)
    r = puller.hk.call("image")
    assert r.rc != 0 and "prune" in r.err, str(r)


# --------------------------------------------------------------------------
# an ordinary user's pull: unpacked in the user's namespace, as its launch



def _owned_image(rootfs):
    """busybox, and a layer with a file of uid 100 (an image's daemon)."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("srv/owned")
        ti.uid = ti.gid = 100
        ti.mode, ti.mtime = 0o644, 1700000000
        t.addfile(ti, io.BytesIO(b""))
    return Image([(tar_of_dir(rootfs, [("srv", None)]), "gzip"), (buf.getvalue(), "tar")],
                 CONFIG)


def test_pull_and_launch_by_name_as_an_ordinary_user(rootless, hk, world):
    here = Path(HUSK).parent
    there = Path(rootless.runtime).parent
    if there != here:  # the companions go next to the user's copy of husk
        for b in ("husk-pull", "husk-launch", "husk-init"):
            shutil.copy2(here / b, there / b)
    img = _owned_image(hk.sess.rootfs)
    lay = img.layout(hk.dir("owned") / "layout")
    ref = world.reg.push(f"oci:{lay}", "hk/owned:1")
    cache = Path(rootless.home) / ".cache/husk"
    r = rootless.call("pull", ref, timeout=TIMEOUT)
    assert r.rc == 0 and r.out == img.id + "\n", str(r)
    # unpacked in the user's namespace: uid 100 is the subordinate range's
    # (skopeo compressed the tar layer as it pushed: its digest is new)
    owned = list(cache.glob("sha256/*/srv/owned"))
    assert len(owned) == 1 and len(os.listdir(cache / "sha256")) == 2
    st = os.stat(owned[0])
    assert (st.st_uid, st.st_gid) == (rootless.subuid[0] + 99, rootless.subgid[0] + 99)
    st = os.stat(next(cache.glob("sha256/*/bin")))
    assert st.st_uid == rootless.uid
    r = rootless.call("images", timeout=TIMEOUT)
    assert r.rc == 0 and "hk/owned" in r.out, str(r)
    r = rootless.call("launch", "--rm", "--net", "none", "--pull", "never", ref,
                      "stat -c '%u %g' /srv/owned; id -u", timeout=TIMEOUT)
    assert r.rc == 0 and r.out.split("\n")[:2] == ["100 100", "0"], str(r)
    rootless.ok("rmi", ref, timeout=TIMEOUT)
    r = rootless.call("image", "prune", timeout=TIMEOUT)
    assert r.rc == 0 and r.out.count("deleted: sha256:") == 2, str(r)
    assert os.listdir(cache / "sha256") == []
    # launch by name pulls what is missing, as the user too
    r = rootless.call("launch", "--rm", "--net", "none", ref, "stat -c %u /srv/owned",
                      timeout=TIMEOUT)
    assert r.rc == 0 and r.out == "100\n" and r.err.count("Copying blob") == 2, str(r)
