"""Build OCI images in Python for the launch tests: an image layout
directory, an oci-archive or a docker-archive, from layers given as lists of
tar members. No registry, no podman: tarfile, hashlib and json."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_TYPES = {"tar": "application/vnd.oci.image.layer.v1.tar",
               "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def sha(data):
    return hashlib.sha256(data).hexdigest()


def tar_of_dir(root, extra=()):
    """A layer with everything under root (numeric owners), then extra
    (name, bytes-or-None for a directory) members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for n in sorted(dirnames) + sorted(filenames):
                p = os.path.join(dirpath, n)
                t.add(p, arcname=os.path.relpath(p, root), recursive=False)
        add_members(t, extra)
    return buf.getvalue()


def add_members(t, members):
    for name, data in members:
        ti = tarfile.TarInfo(name)
        ti.mtime = 1700000000
        if data is None:
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            t.addfile(ti)
        elif isinstance(data, tuple) and data[0] == "link":
            ti.type = tarfile.LNKTYPE
            ti.linkname = data[1]
            t.addfile(ti)
        elif isinstance(data, tuple) and data[0] == "symlink":
            ti.type = tarfile.SYMTYPE
            ti.linkname = data[1]
            t.addfile(ti)
        else:
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))


def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        add_members(t, members)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


class Image:
    """layers: [(uncompressed tar bytes, "tar"|"gzip"|"zstd")]; config: the
    image config's "config" object."""

    def __init__(self, layers, config):
        self.blobs = {}
        self.layers = []
        diff_ids = []
        for data, how in layers:
            blob = compress(data, how)
            self.blobs[sha(blob)] = blob
            self.layers.append({"mediaType": LAYER_TYPES[how], "digest": "sha256:" + sha(blob),
                                "size": len(blob)})
            diff_ids.append("sha256:" + sha(data))
        self.raw_layers = [d for d, _ in layers]
        self.config = json.dumps({
            "architecture": "amd64", "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        self.blobs[sha(self.config)] = self.config
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + sha(self.config),
                       "size": len(self.config)},
            "layers": self.layers}).encode()
        self.blobs[sha(self.manifest)] = self.manifest
        self.index = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": "sha256:" + sha(self.manifest),
                           "size": len(self.manifest),
                           "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()

    @property
    def id(self):
        return sha(self.config)

    def layer_hex(self, i):
        return self.layers[i]["digest"].split(":")[1]

    def files(self):
        """{path in the layout: bytes}"""
        f = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": self.index}
        for h, b in self.blobs.items():
            f[f"blobs/sha256/{h}"] = b
        return f

    def layout(self, path):
        path = Path(path)
        for name, data in self.files().items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
        return path

    def oci_archive(self, path):
        with tarfile.open(path, "w") as t:
            add_members(t, sorted(self.files().items()))
        return Path(path)

    def docker_archive(self, path):
        members, layer_names = [], []
        for i, data in enumerate(self.raw_layers):
            name = f"{sha(data)}/layer.tar"
            members.append((name, data))
            layer_names.append(name)
        members.append((f"{self.id}.json", self.config))
        members.append(("manifest.json", json.dumps([{
            "Config": f"{self.id}.json", "RepoTags": ["hktest:latest"],
            "Layers": layer_names}]).encode()))
        with tarfile.open(path, "w") as t:
            add_members(t, members)
        return Path(path)
