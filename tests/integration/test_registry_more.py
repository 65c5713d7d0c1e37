"""What issue 19 left for last, against the same local registry as
test_registry.py (its fixtures): a bound on how much a layer may unpack
to against its size (a decompression bomb), TLS client certificates from
a certs.d directory, short-name aliases from registries.conf, and
`husk login`'s prompt on a terminal."""
import hashlib
import json
import os
import zlib
import tarfile

import pytest

from ocimage import Image
from test_registry import (TIMEOUT, Registry, one_line_error, puller,  # noqa: F401
                           world)

pytestmark = pytest.mark.husk_only


# --------------------------------------------------------------------------
# a decompression bomb: a layer that unpacks to far more than its size

def zeros_layer_gz(size):
    """A gzip'd tar of one file of size zero bytes (128 MiB in 130 KB),
    made without holding it in memory."""
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


class BlobImage(Image):
    """An image of layers given as blobs (already compressed)."""

    def __init__(self, blobs, config):
        super().__init__([], config)
        cfg = json.loads(self.config)
        for blob in blobs:
            h = hashlib.sha256(blob).hexdigest()
            self.blobs[h] = blob
            self.layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": "sha256:" + h, "size": len(blob)})
            cfg["rootfs"]["diff_ids"].append("sha256:" + "0" * 64)
        for doc in (self.config, self.manifest):
            del self.blobs[hashlib.sha256(doc).hexdigest()]
        self.config = json.dumps(cfg).encode()
        self.blobs[self.id] = self.config
        man = json.loads(self.manifest)
        man["layers"] = self.layers
        man["config"].update(digest="sha256:" + self.id, size=len(self.config))
        self.manifest = json.dumps(man).encode()
        mh = hashlib.sha256(self.manifest).hexdigest()
        self.blobs[mh] = self.manifest
        idx = json.loads(self.index)
        idx["manifests"][0].update(digest="sha256:" + mh, size=len(self.manifest))
        self.index = json.dumps(idx).encode()


@pytest.fixture(scope="module")
def bomb(world):
    """hk/bomb:1, one layer: 128 MiB of zeros in 130 KB of gzip (a ratio
    of 1000; the default bound is 100 times, 64 MiB at least)."""
    img = BlobImage([zeros_layer_gz(128 << 20)], {"Cmd": ["true"]})
    lay = img.layout(world.tmp / "bomb-layout")
    img.ref = world.reg.push(f"oci:{lay}", "hk/bomb:1")
    img.lay = lay
    return img


def test_decompression_bomb_refused(puller, bomb):
    ref = bomb.ref
    for r in (puller.pull(ref), puller.launch(ref, "true")):
        one_line_error(r, ref, "decompression bomb", "--max-layer-ratio")
        assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()
    # launch's own unpacking (a layout) has the same bound
    r = puller.launch(str(bomb.lay), "true")
    assert r.rc == 125 and "decompression bomb" in r.err, str(r)
    assert len(r.err.strip().splitlines()) == 1, str(r)
    assert puller.layers() == [] and puller.tmp_empty()


def test_decompression_bound_is_an_option(puller, bomb, world):
    r = puller.pull(bomb.ref, "--max-layer-ratio", "abc")
    one_line_error(r, "--max-layer-ratio abc", "expected a number")
    r = puller.launch(bomb.ref, "true", opts=("--max-layer-ratio", "-1"))
    one_line_error(r, "--max-layer-ratio -1", "expected a number")
    # 2000 times: this one passes (and through launch, husk-pull is told);
    # the image has no program to run: husk-init's 127
    r = puller.launch(bomb.ref, "true", opts=("--max-layer-ratio", "2000"))
    assert r.rc == 127 and "exec true" in r.err and "bomb" not in r.err, str(r)
    assert puller.layers() == [bomb.layer_hex(0)] and len(puller.refs()) == 1
    # 0: no bound at all
    r = puller.pull(bomb.ref, "--max-layer-ratio", "0")
    assert r.rc == 0 and r.out == bomb.id + "\n", str(r)
    # a real image's layers are far from the default
    r = puller.pull(world.oci)
    assert r.rc == 0, str(r)
