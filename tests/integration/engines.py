"""Helpers for the engine tests (test_engine_*.py): podman, containerd and
Docker drive husk for real, each from private directories under one temp dir.

Images are made here, from the busybox rootfs of tests/mkrootfs.sh: a plain
tar (for `podman import`), an OCI image layout archive (for `ctr image
import`) and a docker-archive (for `docker load`).

An engine leaves traces outside its own directories (a default directory it
creates, a cgroup parent); `HostTraces` notes which of those paths exist
before the engine runs and removes, afterwards, only the ones it created.
"""

import hashlib
import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HUSK, REPO, Result, wait_for

HUSK_INIT = os.environ.get("HUSK_INIT") or str(REPO / "build" / "husk-init")
ENGINE_TIMEOUT = 60  # seconds for one engine command


def run(argv, timeout=ENGINE_TIMEOUT, env=None, check=False, input=None):
    """Run an engine command; stdout/stderr go to temp files, not pipes, so
    a daemon or container that inherits them cannot hold us up."""
    argv = [str(a) for a in argv]
    with open(os.devnull, "rb") as devnull, \
            tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        try:
            p = subprocess.run(argv, stdin=devnull if input is None else subprocess.PIPE,
                               input=input, stdout=o, stderr=e, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{argv} did not finish in {timeout}s")
        o.seek(0)
        e.seek(0)
        r = Result(argv, p.returncode, o.read().decode(errors="replace"),
                e.read().decode(errors="replace"))
    if check:
        assert r.rc == 0, str(r)
    return r


def ensure_packages(*pkgs):
    """The engine's Debian packages: scripts/setup.sh installs them with
    `make`; if they are missing here, try once, and skip (saying why) only
    when they cannot be installed."""
    missing = [p for p in pkgs if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
        text=True).stdout.strip() != "install ok installed"]
    if not missing:
        return
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if r.returncode != 0:
        pytest.skip(f"engine packages {missing} cannot be installed: "
                    f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")


# --------------------------------------------------------------------------
# images

def rootfs_tar(tmp):
    """The busybox rootfs as a tar (the one layer of every image)."""
    rootfs = Path(tmp) / "image-rootfs"
    subprocess.run([str(REPO / "tests" / "mkrootfs.sh"), str(rootfs)], check=True,
                   timeout=60, capture_output=True)
    tar = Path(tmp) / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True, timeout=60)
    shutil.rmtree(rootfs)
    return tar


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = int(time.time())
    t.addfile(ti, io.BytesIO(data))


def _image_parts(layer_tar, cmd=("/bin/sh",)):
    layer = Path(layer_tar).read_bytes()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        "history": [{"created_by": "husk tests: tests/mkrootfs.sh"}],
    }).encode()
    return layer, config


def write_oci_archive(layer_tar, path, ref, cmd=("/bin/sh",)):
    """An OCI image layout as a tar, its one manifest named ref."""
    layer, config = _image_parts(layer_tar, cmd)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _digest(layer), "size": len(layer)}],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _digest(manifest), "size": len(manifest),
        "annotations": {"io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]},
    }]}).encode()
    with tarfile.open(path, "w") as t:
        _add(t, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(t, "index.json", index)
        for blob in (layer, config, manifest):
            _add(t, "blobs/sha256/" + _digest(blob)[7:], blob)
    return path


def write_docker_archive(layer_tar, path, ref):
    """What `docker save` writes: manifest.json, the config, one layer."""
    layer, config = _image_parts(layer_tar)
    cfg_name = _digest(config)[7:] + ".json"
    layer_name = _digest(layer)[7:] + "/layer.tar"
    with tarfile.open(path, "w") as t:
        _add(t, cfg_name, config)
        _add(t, layer_name, layer)
        _add(t, "manifest.json", json.dumps(
            [{"Config": cfg_name, "RepoTags": [ref], "Layers": [layer_name]}]).encode())
    return path


# --------------------------------------------------------------------------
# daemons and what they leave

def start_daemon(argv, log, ready, timeout=30):
    """Start a daemon (its own session, output to log) and wait until
    ready() is true. Returns the Popen."""
    with open(log, "ab") as f:
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=f,
                             stderr=f, start_new_session=True)
    try:
        wait_for(lambda: ready() or p.poll() is not None, timeout=timeout,
                 interval=0.1, what=f"{argv[0]} to be ready")
    except AssertionError:
        stop_daemon(p)
        raise
    if p.poll() is not None:
        raise AssertionError(f"{argv[0]} exited with {p.returncode}:\n"
                             + Path(log).read_text(errors="replace")[-3000:])
    return p


def stop_daemon(p, timeout=20):
    """SIGTERM by pid (a graceful shutdown stops its containers and shims),
    SIGKILL after timeout."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def processes_mentioning(needle):
    """(pid, cmdline) of live processes with needle on their command line."""
    me = os.getpid()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes()
            st = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        if st.rsplit(")", 1)[1].split()[0] == "Z":
            continue
        if str(needle).encode() in cmd:
            found.append((int(d), cmd.replace(b"\0", b" ").decode(errors="replace")))
    return found


def mounts_mentioning(needle):
    with open("/proc/self/mountinfo", errors="replace") as f:
        return [line.split()[4] for line in f if str(needle) in line]


def kill_and_unmount(needle):
    """Last resort after a failure: kill what runs from our dirs, unmount
    what is mounted there (deepest first)."""
    for pid, _cmd in processes_mentioning(needle):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for mp in sorted(mounts_mentioning(needle), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=10)


def host_leftovers(tmp, traces, cgroups):
    """The last of an engine module's teardown: end what still runs in tmp
    and unmount it, remove the host paths and cgroups the engine made, and
    remove tmp when nothing is mounted there. The problems found, as text."""
    kill_and_unmount(tmp)
    problems = [f"left on the host: {x}" for x in traces.remove()]
    problems += [f"cgroup left: {x}" for x in cgroups.remove()]
    if mounts_mentioning(tmp):
        problems.append(f"mounts left: {mounts_mentioning(tmp)}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return problems


class HostTraces:
    """Paths outside the engine's temp dir that it may create (listed by the
    test, e.g. /run/containerd): the ones missing now are removed at the end,
    and only if they hold nothing but directories and the files the engine
    made."""

    def __init__(self, *paths, empty_only=()):
        """empty_only: directories shared with others (husk's default
        root): removed only when empty."""
        self.created = [Path(p) for p in (*paths, *empty_only) if not os.path.lexists(p)]
        self.empty_only = {Path(p) for p in empty_only}

    def remove(self):
        left = []
        for p in self.created:
            if not os.path.lexists(p):
                continue
            if p in self.empty_only:
                try:
                    p.rmdir()
                except OSError:
                    pass
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
            if os.path.lexists(p):
                left.append(str(p))
        return left


def cgroup_dirs(name):
    """Directories called name right below each cgroup hierarchy's root."""
    base = Path("/sys/fs/cgroup")
    out = [base / name] if (base / name).is_dir() else []
    for h in base.iterdir() if base.is_dir() else []:
        if (h / name).is_dir():
            out.append(h / name)
    return out


def remove_cgroup_tree(d):
    """rmdir a cgroup directory and everything below it (deepest first);
    the cgroups must be empty of processes by now."""
    for sub, _dirs, _files in sorted(os.walk(d), key=lambda t: -len(t[0])):
        try:
            os.rmdir(sub)
        except OSError:
            pass
    return not os.path.exists(d)


class CgroupTraces:
    """Cgroup parents an engine makes right below the hierarchies' roots
    (podman's libpod_parent, dockerd's docker, one per containerd
    namespace): the ones missing now are removed at the end."""

    def __init__(self, *names):
        self.names = [n for n in names if not cgroup_dirs(n)]

    def remove(self):
        return [str(d) for n in self.names for d in cgroup_dirs(n)
                if not remove_cgroup_tree(d)]


def husk_state_ids(root):
    """The container ids husk keeps state for under root."""
    r = run([HUSK, "--root", root, "list", "-q"])
    assert r.rc == 0, str(r)
    return r.out.split()


def on_a_terminal(argv, env, timeout=30):
    """Run argv on a pty, as a person at a terminal would (the engine then
    asks husk for a terminal through a console socket); returns (exit
    status, everything it printed). Killed after timeout."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], [str(a) for a in argv], env)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        os.close(fd)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
