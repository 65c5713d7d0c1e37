"""The outside attack of 2026-12-02 on husk launch (briefs/attack-findings.md:
F1, F2, F3, F6, F7, F8, F11, F14): an image or rootfs that makes launch
read a host device or block on a fifo, --userns auto ranges that local
users own, a writable layer too deep to remove, names that clash with
DATA's own entries, :ro volumes writable below their top, images that hold
the cache for hours or fill its disk, the operator's terminal handed to
the container, and --data-dir / --cache-dir paths through another user's
link.

Each test performs the attack as an outsider would; each failed on husk
before the fix (the binaries of /work/baseline3).
"""
import hashlib
import json
import os
import signal
import stat
import subprocess
import tarfile
import time
import zlib

import pytest

from conftest import HUSK, MARK_ENV, STATE_ROOT
from ocimage import Image, tar_of, tar_of_dir
from test_launch import launch  # noqa: F401  (a fixture)

pytestmark = pytest.mark.husk_only


def base_image(rootfs, *more, config=None):
    return Image([(tar_of_dir(rootfs), "gzip"), *more], config or {"Cmd": ["true"]})


# --------------------------------------------------------------------------
# F1: the container's /etc/passwd and the image layout's files, read on the
# host before the container exists


@pytest.fixture
def loopdev(tmp_path):
    """A loop device over a file whose first line is a passwd line."""
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"root:x:4242:4243:from a host block device:/:/bin/sh\n".ljust(1 << 20,
                                                                                        b"\0"))
    dev = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True,
                         text=True, check=True, timeout=30).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], timeout=30)


def test_passwd_fifo_or_device_is_not_read(launch, loopdev):
    """F1: launch looked up -u NAME in the container's /etc/passwd on the
    host side with a plain blocking open: a fifo there hung the launch for
    ever, a block device node was read as root (the uid came from a host
    disk: 4242). Now only a regular file is read (looked up O_PATH, type
    checked before anything opens it), as husk run reads it."""
    hk = launch.hk
    fifo = hk.rootfs_copy("rootfs-fifo")
    (fifo / "etc" / "passwd").unlink()
    os.mkfifo(fifo / "etc" / "passwd")
    r = launch.call("--rm", "-u", "root", fifo, "id", timeout=20)
    assert r.rc == 125 and 'user "root": the container\'s /etc/passwd: a fifo, not a regular ' \
        'file' in r.err, str(r)
    # a number needs no name: the group is 0, as husk run does it
    r = launch.call("--rm", "-u", "7", fifo, "id", "-g", timeout=20)
    assert r.rc == 0 and r.out == "0\n", str(r)
    dev = hk.rootfs_copy("rootfs-dev")
    (dev / "etc" / "passwd").unlink()
    st = os.stat(loopdev)
    os.mknod(dev / "etc" / "passwd", 0o644 | stat.S_IFBLK, st.st_rdev)
    r = launch.call("--rm", "-u", "root", dev, "id", timeout=20)
    assert r.rc == 125 and "a block device, not a regular file" in r.err, str(r)
    assert "4242" not in r.out
    assert launch.entries() == []


def test_layout_fifos_refused_at_once(launch, rootfs, tmp_path):
    """F1: an image layout whose index.json, oci-layout or a blob is a fifo
    (or a device) hung launch before it made anything (index.json, a
    manifest blob), or was taken for a file. Refused at once, naming it."""
    img = base_image(rootfs)
    cases = []
    for what in ("index.json", "oci-layout", "manifest", "config"):
        lay = img.layout(tmp_path / what)
        if what == "manifest":
            name = "blobs/sha256/" + json.loads(img.index)["manifests"][0]["digest"][7:]
        elif what == "config":
            name = f"blobs/sha256/{img.id}"
        else:
            name = what
        (lay / name).unlink()
        os.mkfifo(lay / name)
        cases.append((lay, name))
    for lay, name in cases:
        t = time.monotonic()
        r = launch.call("--rm", lay, "true", timeout=20)
        assert r.rc == 125 and f"{name}" in r.err and "a fifo" in r.err, str(r)
        assert time.monotonic() - t < 10
    assert launch.entries() == []


# --------------------------------------------------------------------------
# F8: images that hold the cache for hours or fill its disk


def test_layer_blob_device_refused(launch, rootfs, tmp_path):
    """F8: a layer blob that is /dev/zero (c 1 5) was read for ever under
    the cache's lock. Blobs are opened only as regular files of their
    descriptor's size."""
    img = base_image(rootfs, (tar_of([("marker", b"m\n")]), "tar"))
    lay = img.layout(tmp_path / "zero")
    blob = lay / "blobs" / "sha256" / img.layer_hex(1)
    blob.unlink()
    os.mknod(blob, 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    r = launch.call("--rm", lay, "true", timeout=30)
    assert r.rc == 125 and "a character device, not a regular file" in r.err, str(r)
    # a blob of another size than its descriptor's
    img2 = base_image(rootfs, (tar_of([("marker", b"m\n")]), "tar"))
    lay2 = img2.layout(tmp_path / "short")
    manifest = json.loads(img2.manifest)
    manifest["layers"][1]["size"] += 1
    data = json.dumps(manifest).encode()
    mhex = hashlib.sha256(data).hexdigest()
    (lay2 / "blobs" / "sha256" / mhex).write_bytes(data)
    index = json.loads(img2.index)
    index["manifests"][0].update(digest="sha256:" + mhex, size=len(data))
    (lay2 / "index.json").write_text(json.dumps(index))
    r = launch.call("--rm", lay2, "true", timeout=30)
    assert r.rc == 125 and "but its descriptor says" in r.err, str(r)
    assert os.listdir(launch.cache / "tmp") == []


def test_sparse_archive_blob_refused(launch, rootfs, tmp_path):
    """F8: a 1 MB oci-archive whose layer blob is a pax sparse member of
    15 TiB was expanded into zeros and hashed for hours under the cache's
    lock. Image archives never hold sparse members: refused at once."""
    img = base_image(rootfs, (tar_of([("marker", b"m\n")]), "tar"))
    lay = img.layout(tmp_path / "sparse")
    blob = lay / "blobs" / "sha256" / img.layer_hex(1)
    os.truncate(blob, 15 << 40)
    tar = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", "--format=posix", "-C", str(lay), "-cf", str(tar),
                    "oci-layout", "index.json", "blobs"], check=True, timeout=60)
    os.truncate(blob, 0)
    assert tar.stat().st_size < 16 << 20
    t = time.monotonic()
    r = launch.call("--rm", tar, "true", timeout=30)
    assert r.rc == 125 and "a sparse entry" in r.err, str(r)
    assert time.monotonic() - t < 20
    assert os.listdir(launch.cache / "tmp") == []


def test_sparse_files_in_a_layer_stay_sparse(launch, rootfs, tmp_path):
    """F8 (minor): a pax sparse file ending in a hole was unpacked short (a
    2 GiB file of nothing came out as 0 bytes). Holes stay holes (nothing
    written for them) and the file gets its size."""
    src = tmp_path / "layer"
    src.mkdir()
    with open(src / "hole2g", "wb") as f:
        f.truncate(2 << 30)
    with open(src / "middle", "wb") as f:
        f.seek(1 << 20)
        f.write(b"data in the middle")
        f.truncate(4 << 20)
    layer = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", "--format=posix", "-C", str(src), "-cf", str(layer),
                    "hole2g", "middle"], check=True, timeout=60)
    img = base_image(rootfs, (layer.read_bytes(), "tar"))
    r = launch.call("--rm", img.layout(tmp_path / "img"), "sh", "-c",
                    "stat -c %s /hole2g /middle; dd if=/middle bs=1048576 skip=1 count=1 "
                    "2>/dev/null | head -c 18")
    assert r.rc == 0, str(r)
    assert r.out.split("\n")[:3] == [str(2 << 30), str(4 << 20), "data in the middle"], str(r)
    cached = launch.cache / "sha256" / img.layer_hex(1)
    assert os.stat(cached / "hole2g").st_blocks == 0
    assert os.stat(cached / "middle").st_blocks * 512 <= 64 << 10


def zeros_layer_gz(size):
    """A gzip'd tar of one file of size zero bytes: a bomb (256 MiB in
    about 250 KiB), made without holding it in memory."""
    ti = tarfile.TarInfo("zeros")
    ti.size, ti.mode = size, 0o644
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(ti.tobuf(format=tarfile.PAX_FORMAT))]
    chunk = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        out.append(z.compress(chunk))
    out.append(z.compress(b"\0" * 1024))
    out.append(z.flush())
    return b"".join(out)


class RawImage(Image):
    """An image whose layer blobs are given as they are (already
    compressed): the diff_id is of the uncompressed tar, which a bomb's
    test never needs to match."""

    def __init__(self, base, blobs, config):
        super().__init__([base], config)
        for blob in blobs:
            h = hashlib.sha256(blob).hexdigest()
            self.blobs[h] = blob
            self.layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": "sha256:" + h, "size": len(blob)})
        cfg = json.loads(self.config)
        cfg["rootfs"]["diff_ids"].append("sha256:" + "0" * 64)
        self.config = json.dumps(cfg).encode()
        self.blobs[hashlib.sha256(self.config).hexdigest()] = self.config
        man = json.loads(self.manifest)
        man["layers"] = self.layers
        man["config"].update(digest="sha256:" + self.id, size=len(self.config))
        self.manifest = json.dumps(man).encode()
        mh = hashlib.sha256(self.manifest).hexdigest()
        self.blobs[mh] = self.manifest
        idx = json.loads(self.index)
        idx["manifests"][0].update(digest="sha256:" + mh, size=len(self.manifest))
        self.index = json.dumps(idx).encode()


@pytest.fixture
def small_cache(launch):
    """--cache-dir on a 64 MiB tmpfs of the test's own."""
    d = launch.hk.dir("small-cache")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "hk-small", str(d)],
                   check=True, timeout=30)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], timeout=30)


def test_layer_bomb_cannot_fill_the_cache(launch, rootfs, tmp_path, small_cache):
    """F8: a layer that unpacks to more than the cache's filesystem holds
    (a gzip bomb: 256 MiB of zeros in 250 KiB) filled it to the last byte
    (ENOSPC, and every other writer of that filesystem with it). A layer
    may take at most what the filesystem has free above 5% of its size:
    refused before that, naming the limit."""
    img = RawImage((tar_of_dir(rootfs), "gzip"), [zeros_layer_gz(256 << 20)],
                   {"Cmd": ["true"]})
    r = launch.call("--rm", "--cache-dir", small_cache, img.layout(tmp_path / "bomb"), "true",
                    timeout=60)
    assert r.rc == 125 and "a layer may take here" in r.err, str(r)
    vfs = os.statvfs(small_cache)
    assert os.listdir(small_cache / "tmp") == []
    assert vfs.f_bavail * vfs.f_frsize > 56 << 20  # only the base layer stays
    # a layer that fits still unpacks there
    ok = base_image(rootfs, (tar_of([("fits", b"yes\n")]), "tar"))
    r = launch.call("--rm", "--cache-dir", small_cache, ok.layout(tmp_path / "ok"), "cat",
                    "/fits", timeout=60)
    assert r.rc == 0 and r.out == "yes\n", str(r)


def test_deep_paths_count_the_directories_they_make(launch, rootfs, tmp_path):
    """Outside attack on pulls, F1: a 1.3 KB layer of 48 entries, each at
    a path of 2,000 components, made 96,000 directories that the budget
    never counted (it counted tar bytes and entries), filling the cache
    filesystem's inodes to 97%. Every directory made counts now, as an
    inode and a block: refused at the reserve, the inodes given back."""
    d = launch.hk.dir("inode-cache")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,nr_inodes=20000,mode=0700",
                    "hk-inodes", str(d)], check=True, timeout=30)
    try:
        deep = "a/" * 1000
        members = [(f"d{i}/{deep}f", b"x") for i in range(40)]  # 40,000 directories
        img = base_image(rootfs, (tar_of(members), "gzip"))
        before = os.statvfs(d).f_ffree
        r = launch.call("--rm", "--cache-dir", d, img.layout(tmp_path / "deep"), "true",
                        timeout=120)
        # whichever of the two it meets first: the inodes or the blocks
        assert r.rc == 125 and ("inodes for above the reserve" in r.err or
                                "a layer may take here" in r.err), str(r)
        vfs = os.statvfs(d)
        assert os.listdir(d / "tmp") == []
        assert vfs.f_ffree > 0.8 * vfs.f_files, (before, vfs.f_ffree)
    finally:
        subprocess.run(["umount", "-l", str(d)], timeout=30)


def layer_lock_holder(cache, pid):
    try:
        names = os.listdir(cache / "tmp")
    except FileNotFoundError:
        return None
    for n in names:
        if n.endswith(f".{pid}"):
            return n.split(".")[0]
    return None


def test_one_unpack_does_not_block_every_launch(launch, rootfs, tmp_path):
    """F8: one launch unpacking an image held CACHE/lock for as long as
    it took (for ever on a fifo, hours on a bomb): every other launch
    with a layer to unpack waited. Here the attacker's launch is stopped
    (SIGSTOP) in the middle of its unpack: another image's launch must
    still go through, and the stopped one finish its layer afterwards.
    Each layer has a lock of its own."""
    hk = launch.hk
    big = Image([(tar_of([("random", os.urandom(96 << 20))]), "tar")], {"Cmd": ["/nothing"]})
    victim = base_image(rootfs, config={"Cmd": ["echo", "victim ran"]})
    attacker_src = big.layout(tmp_path / "big")
    victim_src = victim.layout(tmp_path / "victim")
    name = hk.new_id()
    argv = [HUSK, "--root", STATE_ROOT, "launch", "--rm", "--name", name, "--net", "none",
            "--data-dir", launch.data, "--cache-dir", launch.cache, "-e", MARK_ENV,
            attacker_src]
    p = subprocess.Popen(list(map(str, argv)), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stopped = False
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            if layer_lock_holder(launch.cache, p.pid):
                os.kill(p.pid, signal.SIGSTOP)
                stopped = True
                break
            time.sleep(0.001)
        assert stopped, "the attacker's unpack was not caught"
        t = time.monotonic()
        r = launch.call("--rm", victim_src, timeout=25)
        assert r.rc == 0 and r.out == "victim ran\n", str(r)
        assert time.monotonic() - t < 20
    finally:
        if stopped:
            os.kill(p.pid, signal.SIGCONT)
        p.wait(timeout=60)
    # the stopped unpack's directory was not taken for a dead one's
    assert (launch.cache / "sha256" / big.layer_hex(0)).is_dir()
    assert os.listdir(launch.cache / "tmp") == []


def test_default_pids_limit(launch, rootfs):
    """F8 (minor): launch set no pids limit: a fork bomb in a container
    took the host's. The default is podman's, 2048; -1 is none."""
    cmd = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; true"
    r = launch.call("--rm", rootfs, "sh", "-c", cmd)
    assert r.rc == 0 and r.out.split() == ["2048"], str(r)
    r = launch.call("--rm", "--pids-limit", "-1", rootfs, "sh", "-c", cmd)
    assert r.rc == 0 and r.out.split() == ["max"], str(r)
