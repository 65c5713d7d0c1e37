"""Kubernetes' node path on a systemd host: containerd's CRI plugin with
`SystemdCgroup = true` (what a node whose kubelet runs the systemd cgroup
driver has), pods given a cgroup parent as kubelet gives it there
(`kubepods-besteffort-pod<uid>.slice`), with husk and runc as handlers of
the same containerd, side by side, in the VM of `tests/vm/run --systemd`.

Each handler: the sandbox and the container each in their scope,
`cri-containerd-<id>.scope` in the pod's slice (which systemd makes, with
its parents), the container's memory limit as a unit property and in the
file, UpdateContainerResources through systemd, and after Stop/Remove no
unit left. The CRI client is generated from the CRI's api.proto, as
tests/integration/test_cri.py does (skipped where that file is missing:
../shared/cri/api.proto, or $CRI_PROTO). Host-network pods only (no CNI).
"""

import hashlib
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from sdhelpers import run, show, unit_gone

REPO = Path(__file__).resolve().parents[2]
HUSK = os.environ.get("HUSK") or str(REPO / "build" / "husk")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
CGROOT = Path("/sys/fs/cgroup")
TIMEOUT = 120
MEM = 64 << 20
IMAGE = "docker.io/library/hk-busybox:latest"
PAUSE = "registry.k8s.io/hk-pause:1"

pytestmark = pytest.mark.skipif(
    os.environ.get("HUSK_VM") != "1" or not Path("/run/systemd/system").is_dir(),
    reason="runs inside the VM of tests/vm/run --systemd")


def proto():
    for p in (os.environ.get("CRI_PROTO"), REPO.parent / "shared" / "cri" / "api.proto"):
        if p and Path(p).exists():
            return Path(p)
    pytest.skip("the CRI's api.proto not found (../shared/cri/api.proto or $CRI_PROTO)")


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_archive(layer_tar, path, ref, cmd):
    """An OCI image layout as a tar: one layer, one manifest named ref."""
    layer = Path(layer_tar).read_bytes()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _digest(layer), "size": len(layer)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _digest(manifest), "size": len(manifest),
        "annotations": {"io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}}]}).encode()
    with tarfile.open(path, "w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
                           ("index.json", index)] + \
                [("blobs/sha256/" + _digest(b)[7:], b) for b in (layer, config, manifest)]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def cri():
    tmp = Path(tempfile.mkdtemp(prefix="hk-sd-cri-"))
    p = proto()
    out = tmp / "client"
    out.mkdir()
    run("protoc", "-I", p.parent, f"--python_out={out}", f"--grpc_out={out}",
        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", p.name)
    sys.path.insert(0, str(out))
    pb, pb_grpc = importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    import grpc
    sock = tmp / "containerd.sock"
    cri_ = 'plugins."io.containerd.grpc.v1.cri"'
    runtimes = "".join(f"""
    [{cri_}.containerd.runtimes.hk-{name}]
      runtime_type = "io.containerd.runc.v2"
      [{cri_}.containerd.runtimes.hk-{name}.options]
        BinaryName = "{binary}"
        SystemdCgroup = true
""" for name, binary in (("husk", HUSK), ("runc", RUNC)))
    (tmp / "config.toml").write_text(f"""version = 2
root = "{tmp}/root"
state = "{tmp}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[{cri_}]
  sandbox_image = "{PAUSE}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [{cri_}.containerd]
    default_runtime_name = "hk-husk"{runtimes}
  [{cri_}.cni]
    bin_dir = "{tmp}/cni/bin"
    conf_dir = "{tmp}/cni/conf"
""")
    daemon = subprocess.Popen(["containerd", "--config", str(tmp / "config.toml")],
                              stdin=subprocess.DEVNULL, stdout=open(tmp / "containerd.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ctr = ["ctr", "--address", sock, "--namespace", "k8s.io"]
        deadline = time.monotonic() + TIMEOUT
        while not sock.exists() or run(*ctr, "version", check=False).returncode:
            assert daemon.poll() is None and time.monotonic() < deadline, \
                (tmp / "containerd.log").read_text()[-3000:]
            time.sleep(0.2)
        rootfs = tmp / "rootfs"
        run(REPO / "tests" / "mkrootfs.sh", rootfs)
        run("tar", "-C", rootfs, "-cf", tmp / "layer.tar", ".")
        for ref, cmd in ((IMAGE, ["/bin/sh"]), (PAUSE, ["/bin/sleep", "100000"])):
            run(*ctr, "image", "import", oci_archive(tmp / "layer.tar", tmp / "img.tar", ref, cmd))
        channel = grpc.insecure_channel(f"unix://{sock}")
        yield pb, pb_grpc.RuntimeServiceStub(channel), ctr
        channel.close()
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)
        sys.path.remove(str(out))
        shutil.rmtree(tmp, ignore_errors=True)


def pid_of(ctr, cid):
    tasks = run(*ctr, "task", "ls").stdout.split()
    return int(tasks[tasks.index(cid) + 1])


@pytest.mark.parametrize("rt", ["husk", "runc"])
def test_pod_on_the_systemd_cgroup_driver(cri, rt):
    pb, svc, ctr = cri
    uid = f"{rt}{os.getpid()}"
    slice_ = f"kubepods-besteffort-pod{uid}.slice"
    spath = f"/kubepods.slice/kubepods-besteffort.slice/{slice_}"
    pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=f"p-{rt}", uid=uid, namespace="default"),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=slice_,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.POD,
                                                     ipc=pb.POD))))
    pod = svc.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg, runtime_handler=f"hk-{rt}"),
                            timeout=TIMEOUT).pod_sandbox_id
    units = [f"cri-containerd-{pod}.scope"]
    try:
        path = Path(f"/proc/{pid_of(ctr, pod)}/cgroup").read_text().strip()
        assert path == f"0::{spath}/{units[0]}", path
        assert show(units[0], "Slice", "Delegate") == {"Slice": slice_, "Delegate": "yes"}
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name="c"), image=pb.ImageSpec(image=IMAGE),
            command=["sleep"], args=["1000"],
            linux=pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(
                memory_limit_in_bytes=MEM)))
        cid = svc.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg), timeout=TIMEOUT).container_id
        svc.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=TIMEOUT)
        units.append(f"cri-containerd-{cid}.scope")
        path = Path(f"/proc/{pid_of(ctr, cid)}/cgroup").read_text().strip()
        assert path == f"0::{spath}/{units[1]}", path
        assert show(units[1], "Slice", "MemoryMax") == {"Slice": slice_, "MemoryMax": str(MEM)}
        mem = CGROOT / spath.lstrip("/") / units[1] / "memory.max"
        assert mem.read_text() == f"{MEM}\n"
        svc.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=MEM // 2)),
            timeout=TIMEOUT)
        assert show(units[1], "MemoryMax")["MemoryMax"] == str(MEM // 2)
        assert mem.read_text() == f"{MEM // 2}\n"
        svc.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0), timeout=TIMEOUT)
        svc.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)
    finally:
        svc.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=TIMEOUT)
        svc.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=TIMEOUT)
    for u in units:
        assert unit_gone(u), f"{u} left"
    # the slices are the node's (kubelet's) to remove
    run("systemctl", "stop", slice_)
