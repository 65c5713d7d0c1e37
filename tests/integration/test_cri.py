"""Kubernetes' node path (issue 18): pods through containerd's CRI plugin,
the way kubelet drives it, with husk as the runtime handler, and the same
tests with runc as the handler in the same run (so a failure is husk's).

Each handler gets a private containerd (own root, state, socket, config;
the CRI plugin on, sandbox_image a pause image built here from a tiny
static program, so nothing is pulled), the busybox image imported into its
k8s.io namespace, and a CRI client generated from the CRI's API definition
(../shared/cri/api.proto) with protoc at test time. Pods use the host's
network (no CNI configuration: the pod network is not ready, as on a node
before its CNI is installed), a cgroup parent of the session's own name,
and log directories in the module's temp dir. Afterwards nothing may be
left: tasks, husk state, mounts, cgroups, shims.
"""

import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import kstream
from conftest import HUSK, SESSION, wait_for
from crihelpers import EXEC_PROTOCOLS, V4, exec_stream, gen_client, pause_tar, stream
from engines import (CgroupTraces, HostTraces, cgroup_dirs, ensure_packages, host_leftovers,
                     husk_state_ids, processes_mentioning, rootfs_tar, run, start_daemon,
                     stop_daemon, write_oci_archive)

pytestmark = pytest.mark.husk_only  # runc is the other handler here, in the same run

IMAGE = "docker.io/library/hk-busybox:latest"
PAUSE = "registry.k8s.io/hk-pause:1"
CG_PARENT = f"hk-cri-{SESSION}"
RUNC = "/usr/sbin/runc"
TIMEOUT = 30

POD_BRIDGE = "hkcri0"
POD_SUBNET = "10.88.7.0/24"
PRE_NETNS = set(n for n in os.listdir("/run/netns") if n.startswith("cni-")) \
    if os.path.isdir("/run/netns") else set()

class Cri:
    def __init__(self, tmp, binary, pb, grpc_mod):
        import grpc
        self.tmp = tmp
        self.binary = binary
        self.sock = tmp / "containerd.sock"
        self.rt_root = tmp / "rt-state"
        self.pb = pb
        self.channel = None
        self._grpc = grpc
        self._grpc_mod = grpc_mod

    def config(self):
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return f"""version = 2
root = "{self.tmp}/root"
state = "{self.tmp}/state"

[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[{cri}]
  sandbox_image = "{PAUSE}"
  # the pause container's -998 needs CAP_SYS_RESOURCE, which root lacks
  # on this machine (under any runtime): no lower than containerd's own
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [{cri}.containerd]
    default_runtime_name = "hk"
    [{cri}.containerd.runtimes.hk]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.hk.options]
        BinaryName = "{self.binary}"
        Root = "{self.rt_root}"
  [{cri}.cni]
    bin_dir = "{self.tmp}/cni/bin"
    conf_dir = "{self.tmp}/cni/conf"
"""

    def connect(self):
        self.channel = self._grpc.insecure_channel(f"unix://{self.sock}")
        self.rt = self._grpc_mod.RuntimeServiceStub(self.channel)
        self.img = self._grpc_mod.ImageServiceStub(self.channel)

    def ctr(self, *args):
        return run(["ctr", "--address", self.sock, "--namespace", "k8s.io", *args])

    def husk_ids(self):
        if self.binary != HUSK or not (self.rt_root / "k8s.io").exists():
            return []
        return husk_state_ids(self.rt_root / "k8s.io")

    # -- kubelet's calls
    def run_pod(self, name, pid="POD", sysctls=None, network="NODE", ports=()):
        pb = self.pb
        uid = f"{name}-uid"
        logs = self.tmp / "logs" / uid
        logs.mkdir(parents=True, exist_ok=True)
        cfg = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
            log_directory=str(logs),
            port_mappings=[pb.PortMapping(protocol=pb.TCP, container_port=cp, host_port=hp)
                           for hp, cp in ports],
            hostname=name if network == "POD" else "",
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=f"/{CG_PARENT}", sysctls=sysctls or {},
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=getattr(pb, network), pid=getattr(pb, pid), ipc=pb.POD))))
        r = self.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=TIMEOUT)
        return r.pod_sandbox_id, cfg

    def create(self, pod, pod_cfg, name, args, security=None, resources=None, stdin=False,
               tty=False, stdin_once=False):
        pb = self.pb
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
            command=args[:1], args=args[1:], log_path=f"{name}.log", stdin=stdin, tty=tty,
            stdin_once=stdin_once,
            linux=pb.LinuxContainerConfig(security_context=security, resources=resources))
        r = self.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg), timeout=TIMEOUT)
        return r.container_id

    def start(self, cid):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=TIMEOUT)

    def run_container(self, pod, pod_cfg, name, args, **kw):
        cid = self.create(pod, pod_cfg, name, args, **kw)
        self.start(cid)
        return cid

    def status(self, cid):
        return self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid),
                                       timeout=TIMEOUT).status

    def exec_sync(self, cid, cmd, timeout=0):
        return self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd,
                                                        timeout=timeout), timeout=TIMEOUT)

    def wait_exited(self, cid, timeout=TIMEOUT):
        wait_for(lambda: self.status(cid).state == self.pb.CONTAINER_EXITED, timeout=timeout,
                 what=f"container {cid[:12]} to exit")
        return self.status(cid)

    def remove_pod(self, pod):
        pb = self.pb
        self.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=TIMEOUT)
        self.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=TIMEOUT)


@pytest.fixture(scope="module")
def client():
    ensure_packages("containerd")
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-crigen-{SESSION}-", dir="/tmp"))
    try:
        yield gen_client(tmp)
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


REF_CNI = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def _husk_cni(tmp):
    """husk-net is the pod network's plugin and, as `loopback`, the one
    containerd runs for every pod's lo."""
    for name in ("husk-net", "loopback"):
        (tmp / "cni/bin" / name).symlink_to(Path(HUSK).parent / "husk-net")
    return {"cniVersion": "1.0.0", "name": "hk-pods", "plugins": [{
        "type": "husk-net", "bridge": POD_BRIDGE, "subnet": POD_SUBNET,
        "stateDir": str(tmp / "net"), "capabilities": {"portMappings": True}}]}


def _reference_cni(tmp):
    """The reference plugins doing what husk-net does: bridge, host-local,
    portmap (and their loopback), for comparison."""
    ensure_packages("containernetworking-plugins")
    for name in ("bridge", "host-local", "portmap", "loopback"):
        (tmp / "cni/bin" / name).symlink_to(REF_CNI / name)
    return {"cniVersion": "1.0.0", "name": "hk-pods", "plugins": [
        {"type": "bridge", "bridge": POD_BRIDGE, "isGateway": True, "ipMasq": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]],
                  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(tmp / "ipam")}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}


@pytest.fixture(scope="module", params=[(HUSK, "husk-net"), (RUNC, "husk-net"),
                                        (HUSK, "reference")],
                ids=["husk", "runc", "husk-refcni"])
def cri(request, client):
    pb, grpc_mod = client
    binary, cni = request.param
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-cri-{SESSION}-", dir="/tmp"))
    c = Cri(tmp, binary, pb, grpc_mod)
    c.cni = cni
    (tmp / "config.toml").write_text(c.config())
    for d in ("cni/bin", "cni/conf"):
        (tmp / d).mkdir(parents=True)
    conflist = _husk_cni(tmp) if cni == "husk-net" else _reference_cni(tmp)
    (tmp / "cni/conf/10-pods.conflist").write_text(json.dumps(conflist))
    traces = HostTraces("/run/containerd", "/run/netns")
    cgroups = CgroupTraces(CG_PARENT)
    problems = []
    # the node: a network namespace of the module's own, where containerd
    # runs and the CNI plugin makes its bridge, NAT and ports
    c.node = f"hk-cri-{SESSION}-{request.param_index}"
    r = run(["ip", "netns", "add", c.node])
    assert r.rc == 0, str(r)
    # its loopback up, as a node's is (the streaming server listens there)
    r = run(["ip", "-n", c.node, "link", "set", "lo", "up"])
    assert r.rc == 0, str(r)
    daemon = start_daemon(["nsenter", f"--net=/run/netns/{c.node}", "containerd", "--config",
                           tmp / "config.toml"], tmp / "containerd.log",
                          ready=lambda: c.sock.exists() and c.ctr("version").rc == 0)
    try:
        for tar, ref, cmd in ((rootfs_tar(tmp), IMAGE, ("/bin/sh",)),
                              (pause_tar(tmp), PAUSE, ("/pause",))):
            archive = write_oci_archive(tar, tmp / (ref.rsplit("/", 1)[1] + ".tar"), ref, cmd)
            r = c.ctr("image", "import", archive)
            assert r.rc == 0, str(r)
        c.connect()
        yield c
    finally:
        pb = c.pb
        if c.channel is not None:
            try:
                for p in c.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=TIMEOUT).items:
                    c.remove_pod(p.id)
                    problems.append(f"pod left by a test: {p.metadata.name}")
            except Exception as e:  # noqa: BLE001 - teardown reports, never raises
                problems.append(f"listing pods: {e}")
            c.channel.close()
        stop_daemon(daemon)
        try:
            wait_for(lambda: not processes_mentioning(tmp), timeout=10, what="shims to exit")
        except AssertionError:
            problems.append(f"processes left: {processes_mentioning(tmp)}")
        if c.husk_ids():
            problems.append(f"husk state left: {c.husk_ids()}")
        leases = list((tmp / "net").glob("*.lease")) if (tmp / "net").exists() else []
        if leases:
            problems.append(f"CNI leases left: {leases}")
        left = [n for n in os.listdir("/run/netns") if n.startswith("cni-")] \
            if os.path.isdir("/run/netns") else []
        if set(left) - PRE_NETNS:
            problems.append(f"pod network namespaces left: {set(left) - PRE_NETNS}")
            for n in set(left) - PRE_NETNS:
                run(["umount", f"/run/netns/{n}"])
                run(["rm", "-f", f"/run/netns/{n}"])
        # what a teardown that failed leaves running, found by where it is
        # rather than by its command line: the pods' processes (in the
        # module's cgroup parent) and husk-net's port holders (their
        # namespaces are gone now: gc detaches them)
        killed = _kill_cgroup_tree(CG_PARENT)
        if killed:
            problems.append(f"pod processes left: {killed}")
        if (tmp / "net").exists():
            run(["nsenter", f"--net=/run/netns/{c.node}", Path(HUSK).parent / "husk-net", "net",
                 "gc", "--state-dir", tmp / "net"])
        run(["ip", "netns", "del", c.node])
        problems += host_leftovers(tmp, traces, cgroups)
    assert not problems, "CRI module left things behind:\n  " + "\n  ".join(problems)


def _kill_cgroup_tree(name):
    """SIGKILL every process in the cgroups called name (and below)."""
    killed = []
    for d in cgroup_dirs(name):
        for sub, _dirs, files in os.walk(d):
            if "cgroup.procs" not in files:
                continue
            for pid in Path(sub, "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), 9)
                    killed.append(int(pid))
                except OSError:
                    pass
    return sorted(set(killed))


def _cgroup_file(cid, controller, name):
    for d in cgroup_dirs(CG_PARENT):
        if d.parent.name == controller or (controller == "unified" and d.parent.name == "unified"):
            for f in d.rglob(name):
                if cid in str(f.parent):
                    return f
    return None


def _pod_clean(cri, pod):
    cri.remove_pod(pod)
    assert cri.husk_ids() == []
    ids = [c.id for c in cri.rt.ListContainers(cri.pb.ListContainersRequest(),
                                               timeout=TIMEOUT).containers]
    assert ids == []


# --------------------------------------------------------------------------
# a pod's life

def test_pod_life(cri):
    pb = cri.pb
    pod, cfg = cri.run_pod("life")
    try:
        a = cri.run_container(pod, cfg, "a", ["sh", "-c", "trap '' TERM; echo started; "
                                                          "while :; do sleep 7; done"])
        b = cri.run_container(pod, cfg, "b", ["sh", "-c",
                                              "trap 'echo term; exit 0' TERM; "
                                              "while :; do sleep 0.1; done"])
        for cid in (a, b):
            st = cri.status(cid)
            assert st.state == pb.CONTAINER_RUNNING, st
        # ExecSync: output, exit codes, the pod's namespaces
        r = cri.exec_sync(a, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (r.exit_code, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
        # host network: the host's uts namespace, as kubelet leaves it
        r = cri.exec_sync(a, ["sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/net"])
        node_net = f"net:[{os.stat(f'/run/netns/{cri.node}').st_ino}]"
        assert r.stdout.decode().split() == [os.readlink("/proc/self/ns/uts"), node_net]
        # pid namespace POD: b sees a's sleep and the pause process
        r = cri.exec_sync(b, ["ps", "-o", "args"])
        assert b"sleep 7" in r.stdout and b"/pause" in r.stdout, r.stdout
        # a liveness-style probe stays well under a second
        t0 = time.monotonic()
        r = cri.exec_sync(a, ["true"])
        assert r.exit_code == 0 and time.monotonic() - t0 < 1.0
        # a timeout ends the probe
        t0 = time.monotonic()
        try:
            r = cri.exec_sync(a, ["sleep", "10"], timeout=1)
            timed_out = r.exit_code != 0
        except cri._grpc.RpcError as e:
            timed_out = "timeout" in str(e).lower() or "deadline" in str(e).lower()
        assert timed_out and time.monotonic() - t0 < 8
        # stats
        s = cri.rt.ContainerStats(pb.ContainerStatsRequest(container_id=a), timeout=TIMEOUT)
        assert s.stats.attributes.id == a and s.stats.memory.working_set_bytes.value > 0
        ls = cri.rt.ListContainerStats(pb.ListContainerStatsRequest(), timeout=TIMEOUT)
        assert {x.attributes.id for x in ls.stats} >= {a, b}
        # UpdateContainerResources, up and down, the devices block included
        # by the shim as it always is
        for limit in (64 << 20, 32 << 20):
            cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
                container_id=a, linux=pb.LinuxContainerResources(
                    memory_limit_in_bytes=limit, cpu_shares=512)), timeout=TIMEOUT)
            f = _cgroup_file(a, "memory", "memory.limit_in_bytes")
            assert f is not None and int(f.read_text()) == limit
        f = _cgroup_file(a, "cpu", "cpu.shares")
        assert f is not None and int(f.read_text()) == 512
        # the log, and reopening it
        log = Path(cfg.log_directory) / "a.log"
        assert b"started" in log.read_bytes()
        cri.rt.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=a), timeout=TIMEOUT)
        # stop with grace: b's TERM trap runs, exit 0; a ignores TERM and is
        # killed after the grace period
        cri.rt.StopContainer(pb.StopContainerRequest(container_id=b, timeout=10), timeout=TIMEOUT)
        st = cri.status(b)
        assert st.state == pb.CONTAINER_EXITED and st.exit_code == 0, st
        assert b"term" in (Path(cfg.log_directory) / "b.log").read_bytes()
        t0 = time.monotonic()
        cri.rt.StopContainer(pb.StopContainerRequest(container_id=a, timeout=1), timeout=TIMEOUT)
        st = cri.status(a)
        assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137, st
        assert time.monotonic() - t0 < 10
        for cid in (a, b):
            cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)
    finally:
        _pod_clean(cri, pod)


def test_crash_and_oom_reported(cri):
    pb = cri.pb
    pod, cfg = cri.run_pod("crash")
    try:
        c = cri.run_container(pod, cfg, "crash", ["sh", "-c", "exit 42"])
        st = cri.wait_exited(c)
        assert st.exit_code == 42 and st.reason == "Error", st
        o = cri.run_container(pod, cfg, "oom", ["sh", "-c", "tail /dev/zero"],
                              resources=pb.LinuxContainerResources(
                                  memory_limit_in_bytes=16 << 20))
        st = cri.wait_exited(o)
        assert st.reason == "OOMKilled" and st.exit_code == 137, st
        for cid in (c, o):
            cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)
    finally:
        _pod_clean(cri, pod)


def test_restricted_security_context(cri):
    """What a restricted pod security standard asks: non-root, read-only
    root, no capabilities, RuntimeDefault seccomp, no privilege escalation."""
    pb = cri.pb
    pod, cfg = cri.run_pod("restricted")
    try:
        sec = pb.LinuxContainerSecurityContext(
            run_as_user=pb.Int64Value(value=1000), run_as_group=pb.Int64Value(value=1000),
            readonly_rootfs=True, no_new_privs=True,
            capabilities=pb.Capability(drop_capabilities=["ALL"]),
            seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault))
        c = cri.run_container(pod, cfg, "r", ["sleep", "1000"], security=sec)
        r = cri.exec_sync(c, ["sh", "-c", "id -u; id -g; touch /x 2>/dev/null || echo ro; "
                              "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status"])
        lines = r.stdout.decode().split("\n")
        assert lines[:3] == ["1000", "1000", "ro"], r
        fields = dict(l.split(":\t") for l in lines[3:] if l)
        assert fields == {"CapEff": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"}, r
        cri.rt.StopContainer(pb.StopContainerRequest(container_id=c, timeout=1), timeout=TIMEOUT)
        cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c), timeout=TIMEOUT)
    finally:
        _pod_clean(cri, pod)


def test_shared_ipc_sysctls_and_a_localhost_seccomp_profile(cri, tmp_path):
    """Two containers of a pod share its ipc namespace (not the host's); a
    pod's sysctls reach its containers; a Localhost seccomp profile (a file
    on the node) is applied as written."""
    pb = cri.pb
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    pod, cfg = cri.run_pod("opts", sysctls={"kernel.shm_rmid_forced": "1"})
    try:
        sec = pb.LinuxContainerSecurityContext(seccomp=pb.SecurityProfile(
            profile_type=pb.SecurityProfile.Localhost, localhost_ref=str(profile)))
        a = cri.run_container(pod, cfg, "a", ["sleep", "1000"], security=sec)
        b = cri.run_container(pod, cfg, "b", ["sleep", "1000"])
        ns = [cri.exec_sync(c, ["readlink", "/proc/self/ns/ipc"]).stdout for c in (a, b)]
        assert ns[0] == ns[1] and ns[0].decode().strip() != os.readlink("/proc/self/ns/ipc")
        r = cri.exec_sync(b, ["cat", "/proc/sys/kernel/shm_rmid_forced"])
        assert r.stdout == b"1\n", r
        r = cri.exec_sync(a, ["sh", "-c", "mkdir /tmp/x 2>&1; echo $?"])
        assert b"Operation not permitted" in r.stdout and r.stdout.endswith(b"1\n"), r
        r = cri.exec_sync(b, ["sh", "-c", "mkdir /tmp/x && echo made"])
        assert r.stdout == b"made\n", r
        for c in (a, b):
            cri.rt.StopContainer(pb.StopContainerRequest(container_id=c, timeout=1),
                                 timeout=TIMEOUT)
            cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c), timeout=TIMEOUT)
    finally:
        _pod_clean(cri, pod)


# --------------------------------------------------------------------------
# the pod network: husk-net as the CNI plugin

def _pod_ip(cri, pod):
    st = cri.rt.PodSandboxStatus(cri.pb.PodSandboxStatusRequest(pod_sandbox_id=pod),
                                 timeout=TIMEOUT).status
    return st.network.ip


HTTP_GET = ("import sys, urllib.request; "
            "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")


def _node(cri, *argv):
    return run(["nsenter", f"--net=/run/netns/{cri.node}", *argv])


def test_pods_on_the_pod_network(cri):
    """Two pods on husk-net's bridge reach each other; a hostPort reaches a
    pod from the node; RemovePodSandbox (CNI DEL) leaves nothing."""
    pb = cri.pb
    web, wcfg = cri.run_pod("web", network="POD", ports=[(18080, 80)])
    cli, ccfg = cri.run_pod("cli", network="POD")
    try:
        ip = _pod_ip(cri, web)
        assert ip.startswith("10.88.7."), ip
        assert _pod_ip(cri, cli).startswith("10.88.7.")
        w = cri.run_container(web, wcfg, "httpd", [
            "sh", "-c", "mkdir -p /tmp/www && echo hello from web > /tmp/www/index.html && "
            "exec httpd -f -p 80 -h /tmp/www"])
        c = cri.run_container(cli, ccfg, "client", ["sleep", "1000"])
        # the pod's own namespace: eth0 with its address, the hostname
        r = cri.exec_sync(w, ["sh", "-c", "ip -o -4 addr show eth0; hostname"])
        assert f"inet {ip}/24" in r.stdout.decode() and r.stdout.endswith(b"web\n"), r
        # (nc: the static busybox's wget crashes on its resolver)
        get = ["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80"]
        wait_for(lambda: cri.exec_sync(c, get).stdout.endswith(b"\r\n\r\nhello from web\n"),
                 timeout=10, what="the client pod to reach the web pod")
        # the hostPort, from the node
        r = _node(cri, "/usr/bin/python3", "-c", HTTP_GET, "http://10.88.7.1:18080/")
        assert r.rc == 0 and r.out == "hello from web\n", str(r)
        for cid in (w, c):
            cri.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1),
                                 timeout=TIMEOUT)
            cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)
    finally:
        for pod in (web, cli):
            cri.remove_pod(pod)
    # CNI DEL: no lease, no veth on the node, the host port free again
    assert not list((cri.tmp / "net").glob("*.lease"))
    assert not [f for f in (cri.tmp / "ipam").rglob("10.*")] if (cri.tmp / "ipam").exists() \
        else True
    r = _node(cri, "ip", "-o", "link", "show", "master", POD_BRIDGE)
    assert r.rc == 0 and r.out.strip() == "", str(r)
    r = _node(cri, "/usr/bin/python3", "-c", HTTP_GET, "http://10.88.7.1:18080/")
    assert r.rc != 0


def test_cni_plugin_version_check_and_errors(cri, tmp_path):
    """The CNI commands as any CNI runtime calls them, in the node's
    namespace: VERSION, ADD, CHECK, DEL (twice), and the spec's errors."""
    if cri.cni != "husk-net":
        pytest.skip("husk-net's own commands")
    conf = json.dumps({"cniVersion": "1.0.0", "name": "hk", "type": "husk-net",
                       "bridge": "hkcni1", "subnet": "10.88.8.0/24",
                       "stateDir": str(tmp_path / "net")})
    plugin = str(Path(HUSK).parent / "husk-net")
    pod_ns = f"hk-cni-{SESSION}"
    assert run(["ip", "netns", "add", pod_ns]).rc == 0

    def cni(command, config=conf, cid="hkcnitest", ifname="eth0"):
        env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
               "CNI_NETNS": f"/run/netns/{pod_ns}", "CNI_IFNAME": ifname, "CNI_PATH": "/x"}
        p = subprocess.run(["nsenter", f"--net=/run/netns/{cri.node}", plugin],
                           input=config.encode(), capture_output=True, env=env, timeout=TIMEOUT)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None

    try:
        rc, out = cni("VERSION")
        assert rc == 0 and "1.0.0" in out["supportedVersions"], out
        rc, out = cni("ADD", ifname="net1")
        assert rc == 0 and out["ips"][0]["address"].startswith("10.88.8."), out
        assert out["interfaces"][2] == {"name": "net1", "sandbox": f"/run/netns/{pod_ns}"}
        r = run(["nsenter", f"--net=/run/netns/{pod_ns}", "ip", "-o", "-4", "addr", "show",
                 "net1"])
        assert out["ips"][0]["address"] in r.out, str(r)
        assert cni("CHECK", ifname="net1") == (0, None)
        rc, out = cni("CHECK", cid="other")
        assert rc == 1 and out["code"] >= 100, out
        assert cni("DEL", ifname="net1") == (0, None)
        assert cni("DEL", ifname="net1") == (0, None)  # again: nothing there, no error
        rc, out = cni("ADD", config=conf.replace('"1.0.0"', '"9.9.9"'))
        assert rc == 1 and out["code"] == 1, out
        rc, out = cni("ADD", config=conf.replace('"bridge"', '"bridgeName"'))
        assert rc == 1 and out["code"] == 2 and "bridgeName" in out["details"], out
        rc, out = cni("ADD", config="{not json")
        assert rc == 1 and out["code"] == 6, out
        # what husk-net does not do is refused, never ignored
        for extra in ('"ipam": {"type": "host-local"}', '"dns": {"nameservers": ["1.1.1.1"]}',
                      '"ipMasq": false'):
            rc, out = cni("ADD", config=conf[:-1] + ", " + extra + "}")
            assert rc == 1 and out["code"] == 2 or "ipMasq" in out.get("details", ""), out
        rc, out = cni("ADD", cid="../x")
        assert rc == 1 and out["code"] == 4, out
    finally:
        cni("DEL")
        run(["ip", "netns", "del", pod_ns])


def test_cni_plugin_attacks(cri, tmp_path):
    """What the outside attack on the CNI plugin found, each refused now:
    a pod with thousands of hostPorts wrote a lease too big to be read
    back (every other pod's ADD and DEL failed); an id with a leading dot
    made an invisible lease; a second network's ADD for the same pod
    failed and its rollback deleted the first network's interface; a
    stateDir another user made was trusted."""
    if cri.cni != "husk-net":
        pytest.skip("husk-net's own commands")
    plugin = str(Path(HUSK).parent / "husk-net")
    pod_ns = f"hk-cnia-{SESSION}"
    assert run(["ip", "netns", "add", pod_ns]).rc == 0

    def conf(state, bridge="hkcni2", subnet="10.88.9.0/24", ports=()):
        return json.dumps({"cniVersion": "1.0.0", "name": "hk", "type": "husk-net",
                           "bridge": bridge, "subnet": subnet, "stateDir": str(state),
                           "runtimeConfig": {"portMappings": [
                               {"HostPort": hp, "ContainerPort": 80, "Protocol": "udp"}
                               for hp in ports]}})

    def cni(command, config, cid="hkcniatk", ifname="eth0"):
        env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
               "CNI_NETNS": f"/run/netns/{pod_ns}", "CNI_IFNAME": ifname, "CNI_PATH": "/x"}
        p = subprocess.run(["nsenter", f"--net=/run/netns/{cri.node}", plugin],
                           input=config.encode(), capture_output=True, env=env, timeout=TIMEOUT)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None

    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    try:
        rc, out = cni("ADD", conf(s1, ports=range(30000, 30300)))
        assert rc == 1 and "256 at most" in out["details"], out
        rc, out = cni("ADD", conf(s1), cid=".hidden")
        assert rc == 1 and "not usable" in out["details"], out
        assert cni("DEL", conf(s1), cid=".hidden") == (0, None)
        # one pod, two networks: the second is refused, the first untouched
        rc, out = cni("ADD", conf(s1))
        assert rc == 0, out
        rc, out = cni("ADD", conf(s2, "hkcni3", "10.88.10.0/24"), ifname="net1")
        assert rc == 1 and "exists already" in out["details"], out
        r = run(["nsenter", f"--net=/run/netns/{pod_ns}", "ip", "-o", "link", "show", "eth0"])
        assert r.rc == 0, "the first network's interface went with the second's rollback"
        assert cni("CHECK", conf(s1)) == (0, None)
        assert cni("DEL", conf(s1)) == (0, None)
        # a stateDir another user made (and could plant links and forged
        # leases in) is refused
        planted = tmp_path / "planted"
        planted.mkdir()
        os.chown(planted, 65534, 65534)
        rc, out = cni("ADD", conf(planted))
        assert rc == 1 and "stateDir" in out["details"], out
        rc, out = cni("ADD", conf(""))
        assert rc == 1 and "absolute" in out["details"], out
    finally:
        cni("DEL", conf(s1))
        cni("DEL", conf(s2, "hkcni3", "10.88.10.0/24"), ifname="net1")
        run(["ip", "netns", "del", pod_ns])


# --------------------------------------------------------------------------
# streaming (crihelpers.py, kstream.py): Exec, Attach and PortForward

def _runtime_only(cri):
    if cri.cni != "husk-net":
        pytest.skip("the runtime's part: under husk and runc (the CNI plugin plays no part)")


def _stop_remove(cri, *cids):
    pb = cri.pb
    for cid in cids:
        cri.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1),
                             timeout=TIMEOUT)
        cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)


def test_exec_streaming(cri):
    """Exec over each of the channel protocols: stdout and stderr apart,
    the exit code in the error channel (a signal's too); output larger
    than any pipe; stdin, and its end when the client goes; a terminal
    the client resizes, ^C on it; a command that cannot start."""
    _runtime_only(cri)
    pod, cfg = cri.run_pod("exec")
    try:
        c = cri.run_container(pod, cfg, "c", ["sleep", "1000"])
        for proto in EXEC_PROTOCOLS:
            ch = exec_stream(cri, c, ["sh", "-c", "echo out; echo err >&2; exit 3"],
                             protocol=proto)
            out = ch.drain()
            assert (out.get(1), out.get(2)) == (b"out\n", b"err\n"), (proto, out)
            code = ch.exit_code()
            assert code == 3 if proto.startswith("v4.") else "exit code 3" in code, (proto, out)
            ch = exec_stream(cri, c, ["sh", "-c", "kill -9 $$"], protocol=proto)
            ch.drain()
            code = ch.exit_code()
            assert code == 137 if proto.startswith("v4.") else "exit code 137" in code, code
            ch = exec_stream(cri, c, ["true"], protocol=proto)
            ch.drain()
            assert ch.exit_code() == 0, (proto, ch.out)
        ch = exec_stream(cri, c, ["seq", "200000"])
        assert ch.drain().get(1) == "".join(f"{i}\n" for i in range(1, 200001)).encode()
        # several at once, as a kubectl exec beside a node's probes
        chs = [exec_stream(cri, c, ["sh", "-c", f"seq {n} 30000; exit {n}"]) for n in range(5)]
        for n, ch in enumerate(chs):
            assert ch.drain().get(1) == "".join(f"{i}\n" for i in range(n, 30001)).encode()
            assert ch.exit_code() == n
        # stdin (v4 cannot half-close it: the command reads what it needs)
        data = os.urandom(300000)
        ch = exec_stream(cri, c, ["sh", "-c", f"head -c {len(data)} | sha256sum; exit 4"],
                         stdin=True)
        ch.send(kstream.STDIN, data)
        assert ch.drain().get(1) == hashlib.sha256(data).hexdigest().encode() + b"  -\n"
        assert ch.exit_code() == 4
        # a terminal: stdin and stdout on it, its size the client's
        ch = exec_stream(cri, c, ["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; "
                                  'while read l; do [ "$l" = q ] && exit 5; stty size; done'],
                         stdin=True, tty=True)
        assert ch.read_until(1, b"on-a-tty\r\n"), ch.out
        ch.resize(101, 33)
        wait_for(lambda: ch.send(kstream.STDIN, b"s\n") or ch.read_until(1, b"33 101\r\n", 0.5),
                 timeout=10, what="the terminal's size to be the client's")
        ch.send(kstream.STDIN, b"q\n")
        ch.drain()
        assert ch.exit_code() == 5 and 2 not in ch.out, ch.out
        # ^C on the terminal interrupts the command: SIGINT's exit code
        ch = exec_stream(cri, c, ["sh", "-c", "echo ready; exec sleep 100"], stdin=True,
                         tty=True)
        assert ch.read_until(1, b"ready\r\n"), ch.out
        ch.send(kstream.STDIN, b"\x03")
        ch.drain()
        assert ch.exit_code() == 130, ch.out
        # a command that cannot start: the error channel says why, in words
        # engines match on (the rest of the text is each runtime's own)
        ch = exec_stream(cri, c, ["nonexistent"])
        ch.drain()
        assert b"executable file not found in $PATH" in ch.out[3], ch.out
        # the client going away closes stdin: the command reads its end
        ch = exec_stream(cri, c, ["sh", "-c", "cat >/dev/null; echo eof > /tmp/eof"],
                         stdin=True)
        ch.send(kstream.STDIN, b"abc\n")
        ch.ws.close()
        wait_for(lambda: cri.exec_sync(c, ["cat", "/tmp/eof"]).stdout == b"eof\n",
                 timeout=10, what="the exec's stdin to end with its client")
        _stop_remove(cri, c)
    finally:
        _pod_clean(cri, pod)


def test_attach_streaming(cri):
    """Attach to a container started with stdin: without a terminal (its
    stdout and stderr apart; detach and attach again), with stdin_once
    (the first detach ends its stdin), and on a terminal (resized by the
    client; a shell driven to its exit, whose code the container
    reports)."""
    _runtime_only(cri)
    pb = cri.pb
    pod, cfg = cri.run_pod("attach")
    try:
        c = cri.create(pod, cfg, "pipe", ["sh", "-c", 'while read l; do echo "out:$l"; '
                                          'echo "err:$l" >&2; done'], stdin=True)
        cri.start(c)
        for word in (b"one", b"two"):  # the second after a detach
            r = cri.rt.Attach(pb.AttachRequest(container_id=c, stdin=True, stdout=True,
                                               stderr=True), timeout=TIMEOUT)
            ch = stream(cri, r.url)
            ch.send(kstream.STDIN, word + b"\n")
            assert ch.read_until(1, b"out:" + word + b"\n"), ch.out
            assert ch.read_until(2, b"err:" + word + b"\n"), ch.out
            ch.ws.close()
        assert cri.status(c).state == pb.CONTAINER_RUNNING
        # stdin_once: the first attach's end is the end of the container's stdin
        o = cri.create(pod, cfg, "once", ["sh", "-c", "cat; exit 3"], stdin=True,
                       stdin_once=True)
        cri.start(o)
        r = cri.rt.Attach(pb.AttachRequest(container_id=o, stdin=True, stdout=True),
                          timeout=TIMEOUT)
        ch = stream(cri, r.url)
        ch.send(kstream.STDIN, b"once\n")
        assert ch.read_until(1, b"once\n"), ch.out
        ch.ws.close()
        assert cri.wait_exited(o, timeout=10).exit_code == 3
        # (not root: the terminal is its user's, /dev/tty opens)
        t = cri.create(pod, cfg, "tty", ["sh"], stdin=True, tty=True,
                       security=pb.LinuxContainerSecurityContext(
                           run_as_user=pb.Int64Value(value=1000),
                           run_as_group=pb.Int64Value(value=1000)))
        cri.start(t)
        r = cri.rt.Attach(pb.AttachRequest(container_id=t, stdin=True, stdout=True, tty=True),
                          timeout=TIMEOUT)
        ch = stream(cri, r.url)
        ch.send(kstream.STDIN, b"test -t 0 && echo tty-$((6*7))\n")
        assert ch.read_until(1, b"tty-42\r\n"), ch.out
        ch.send(kstream.STDIN, b"stat -c 'owner=%u' $(tty); echo >/dev/tty tty-opens\n")
        assert ch.read_until(1, b"owner=1000\r\n") and ch.read_until(1, b"\ntty-opens"), ch.out
        ch.resize(77, 22)
        wait_for(lambda: ch.send(kstream.STDIN, b"stty size\n") or
                 ch.read_until(1, b"\n22 77\r\n", 0.5),
                 timeout=10, what="the attached terminal's size to be the client's")
        ch.send(kstream.STDIN, b"exit 7\n")
        ch.drain()
        st = cri.wait_exited(t)
        assert st.exit_code == 7, st
        _stop_remove(cri, c, o, t)
    finally:
        _pod_clean(cri, pod)


PF_SERVER = ("printf '#!/bin/sh\\nhead -c %d > /tmp/in; sha256sum < /tmp/in; cat /tmp/in\\n' "
             "> /tmp/srv && chmod +x /tmp/srv && exec nc -ll -p %d -e /tmp/srv")


@pytest.mark.parametrize("network,port", [("POD", 8080), ("NODE", 18090)])
def test_port_forward(cri, network, port):
    """PortForward to a TCP server in a pod on the pod network and in one
    on the node's: bytes both ways over each of the protocols, and a port
    where nothing listens reported on the error channel."""
    pb = cri.pb
    pod, cfg = cri.run_pod(f"pf-{network.lower()}", network=network)
    try:
        data = os.urandom(200000)
        c = cri.run_container(pod, cfg, "srv", ["sh", "-c", PF_SERVER % (len(data), port)])
        wait_for(lambda: f":{port} ".encode() in cri.exec_sync(c, ["netstat", "-ltn"]).stdout,
                 timeout=10, what=f"the server on port {port}")
        want = hashlib.sha256(data).hexdigest().encode() + b"  -\n" + data
        for proto in (V4, "v4.base64.channel.k8s.io"):
            r = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[port]),
                                   timeout=TIMEOUT)
            ws = kstream.WebSocket(r.url, [proto], netns=f"/run/netns/{cri.node}",
                                   timeout=TIMEOUT)
            back, err = kstream.forward(ws, data, port)
            assert (back == want, err) == (True, b""), (proto, len(back), err)
            ws.close()
        r = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[port + 1]),
                               timeout=TIMEOUT)
        ws = kstream.WebSocket(r.url, [V4], netns=f"/run/netns/{cri.node}", timeout=TIMEOUT)
        back, err = kstream.forward(ws, b"", port + 1)
        assert back == b"" and b"connection refused" in err, err
        ws.close()
        _stop_remove(cri, c)
    finally:
        _pod_clean(cri, pod)


# --------------------------------------------------------------------------
# procMount: kubelet sends Default as its lists of masked and read-only
# paths, Unmasked as empty lists

KUBELET_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
KUBELET_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
PROC_PROBE = ("head -c 1 /proc/timer_list | wc -c; "
              "(echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null && echo sys-rw || "
              "echo sys-ro; awk '$2 ~ \"^/(proc|sys)/\" {print $2, $3, $4}' /proc/mounts")


def test_proc_mount(cri):
    """procMount Default: the listed paths masked (timer_list reads empty)
    and read-only (/proc/sys not writable); Unmasked: /proc as the kernel
    shows it, /proc/sys writable (a namespaced sysctl of the pod's ipc
    namespace is the probe)."""
    _runtime_only(cri)
    pb = cri.pb
    present = {p for p in KUBELET_MASKED + KUBELET_READONLY if os.path.exists(p)}
    pod, cfg = cri.run_pod("procmount")
    try:
        cids = []
        for name, masked, ro in (("default", KUBELET_MASKED, KUBELET_READONLY),
                                 ("unmasked", [], [])):
            sec = pb.LinuxContainerSecurityContext(masked_paths=masked, readonly_paths=ro)
            cids.append(cri.run_container(pod, cfg, name, ["sleep", "1000"], security=sec))
            r = cri.exec_sync(cids[-1], ["sh", "-c", PROC_PROBE])
            size, sys_rw, *mounts = r.stdout.decode().splitlines()
            mounts = {m.split()[0]: m.split()[2].split(",") for m in mounts
                      if not m.startswith("/sys/fs/cgroup")}
            if name == "default":
                assert (size, sys_rw, set(mounts)) == ("0", "sys-ro", present), r
                # (masked files are /dev/null, bound rw by runc 1.1.5, ro by husk)
                assert all("ro" in mounts[p] for p in present & set(KUBELET_READONLY)), mounts
            else:
                assert (size, sys_rw, mounts) == ("1", "sys-rw", {}), r
        _stop_remove(cri, *cids)
    finally:
        _pod_clean(cri, pod)
