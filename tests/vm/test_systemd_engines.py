"""The engines in their systemd mode with husk as the runtime, and runc side
by side in the same VM (tests/vm/run --systemd: systemd 252 as PID 1, D-Bus,
cgroup v2): podman (its default cgroup manager, systemd), Docker
(native.cgroupdriver=systemd, the Docker CLI at /usr/bin/docker) and
containerd's runc v2 shim through ctr (--runc-systemd-cgroup, what
SystemdCgroup = true sets). Each: the container lands in the engine's scope
in the engine's slice, with its limits as unit properties and in the files,
exec'd processes join it, and removing the container removes the unit.

No network in the VM: images come from the busybox rootfs of
tests/mkrootfs.sh (podman and docker import its tar, ctr runs it with
--rootfs), containers run with --network none. Runs only there.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from sdhelpers import run, show, unit_gone

REPO = Path(__file__).resolve().parents[2]
HUSK = os.environ.get("HUSK") or str(REPO / "build" / "husk")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
BINARY = {"husk": HUSK, "runc": RUNC}
CGROOT = Path("/sys/fs/cgroup")
TIMEOUT = 120  # s: daemons under TCG
MEM = 64 << 20

pytestmark = pytest.mark.skipif(
    os.environ.get("HUSK_VM") != "1" or not Path("/run/systemd/system").is_dir(),
    reason="runs inside the VM of tests/vm/run --systemd")


def cgroup_of(pid):
    return Path(f"/proc/{pid}/cgroup").read_text().strip().removeprefix("0::")


def check_scope(pid, slice_, unit):
    """The container's process in unit, in slice_, limits there."""
    path = cgroup_of(pid)
    assert path.rsplit("/", 1)[1] == unit, path
    p = show(unit, "Slice", "Delegate", "MemoryMax", "ActiveState")
    assert p == {"Slice": slice_, "Delegate": "yes", "MemoryMax": str(MEM),
                 "ActiveState": "active"}, p
    assert (CGROOT / path.lstrip("/") / "memory.max").read_text() == f"{MEM}\n"
    return path


@pytest.fixture(scope="module")
def tmp():
    d = Path(tempfile.mkdtemp(prefix="hk-sd-eng-"))
    run(REPO / "tests" / "mkrootfs.sh", d / "rootfs")
    run("tar", "-C", d / "rootfs", "-cf", d / "rootfs.tar", ".")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start_daemon(argv, log, ready):
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                         stdout=open(log, "w"), stderr=subprocess.STDOUT,
                         start_new_session=True)
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        assert p.poll() is None, Path(log).read_text()[-3000:]
        assert time.monotonic() < deadline, Path(log).read_text()[-3000:]
        time.sleep(0.2)
    return p


def stop_daemon(p):
    os.killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


@pytest.fixture(scope="module")
def containerd(tmp):
    sock = tmp / "containerd.sock"
    (tmp / "config.toml").write_text(f"""version = 2
root = "{tmp}/croot"
state = "{tmp}/cstate"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
""")
    p = start_daemon(["containerd", "--config", tmp / "config.toml"], tmp / "containerd.log",
                     sock.exists)
    yield sock
    stop_daemon(p)


# --------------------------------------------------------------------------
# podman


@pytest.mark.parametrize("rt", ["husk", "runc"])
def test_podman_default_cgroup_manager(tmp, rt):
    conf = tmp / f"containers-{rt}.conf"
    conf.write_text(f"""[containers]
default_ulimits = ["nofile=20000:20000"]
[engine]
events_logger = "file"
events_logfile_path = "{tmp}/podman-events.log"
[engine.runtimes]
husk = ["{HUSK}"]
""")
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    podman = ["podman", "--root", tmp / "podman", "--runroot", tmp / "podman-run",
              "--runtime", rt]
    if not (tmp / "podman-imported").exists():
        run(*podman, "import", tmp / "rootfs.tar", "localhost/hkb", env=env)
        (tmp / "podman-imported").touch()
    assert run(*podman, "info", "--format", "{{.Host.CgroupManager}}",
               env=env).stdout.strip() == "systemd"
    cid = run(*podman, "run", "-d", "--network", "none", "--memory", str(MEM),
              "localhost/hkb", "sleep", "1000", env=env).stdout.strip()
    try:
        pid = int(run(*podman, "inspect", "--format", "{{.State.Pid}}", cid,
                      env=env).stdout)
        unit = f"libpod-{cid}.scope"
        path = check_scope(pid, "machine.slice", unit)
        run(*podman, "exec", "-d", cid, "sleep", "999", env=env)
        assert len((CGROOT / path.lstrip("/") / "cgroup.procs").read_text().split()) == 2
        run(*podman, "pause", cid, env=env)
        run(*podman, "unpause", cid, env=env)
    finally:
        run(*podman, "rm", "-f", "-t", "0", cid, env=env)
    assert unit_gone(unit)


# --------------------------------------------------------------------------
# Docker, on the module's containerd


@pytest.fixture(scope="module")
def docker(tmp, containerd):
    sock = tmp / "docker.sock"
    (tmp / "daemon.json").write_text(json.dumps({
        "runtimes": {"husk": {"path": HUSK}},
        "exec-opts": ["native.cgroupdriver=systemd"],
        "deprecated-key-path": str(tmp / "key.json")}))
    cli = ["/usr/bin/docker", "--host", f"unix://{sock}"]

    def ready():
        return sock.exists() and subprocess.run(
            [*cli, "info"], capture_output=True, timeout=TIMEOUT).returncode == 0

    p = start_daemon(["dockerd", "--config-file", tmp / "daemon.json", "--containerd", containerd,
                      "--data-root", tmp / "docker", "--exec-root", tmp / "docker-exec",
                      "--pidfile", tmp / "docker.pid", "--host", f"unix://{sock}",
                      "--iptables=false", "--ip6tables=false", "--bridge=none",
                      "--ip-masq=false", "--ip-forward=false"], tmp / "dockerd.log", ready)
    run(*cli, "import", tmp / "rootfs.tar", "hkb")
    yield cli
    stop_daemon(p)


@pytest.mark.parametrize("rt", ["husk", "runc"])
def test_docker_systemd_cgroup_driver(docker, rt):
    assert run(*docker, "info", "--format", "{{.CgroupDriver}}").stdout.strip() == "systemd"
    cid = run(*docker, "run", "-d", "--runtime", rt, "--network", "none", "--memory", str(MEM),
              "hkb", "sleep", "1000").stdout.strip()
    try:
        pid = int(run(*docker, "inspect", "--format", "{{.State.Pid}}", cid).stdout)
        unit = f"docker-{cid}.scope"
        check_scope(pid, "system.slice", unit)
        # docker update goes through the runtime's update
        run(*docker, "update", "--memory", str(MEM // 2), "--memory-swap", "-1", cid)
        assert show(unit, "MemoryMax")["MemoryMax"] == str(MEM // 2)
        assert run(*docker, "exec", cid, "cat", "/proc/self/cgroup").stdout == "0::/\n"
    finally:
        run(*docker, "rm", "-f", cid)
    assert unit_gone(unit)


# --------------------------------------------------------------------------
# containerd's runc v2 shim through ctr


@pytest.mark.parametrize("rt", ["husk", "runc"])
def test_containerd_shim_systemd_cgroup(tmp, containerd, rt):
    ctr = ["ctr", "--address", containerd, "--namespace", "hksd"]
    tid = f"t-{rt}"
    unit = f"ctr-{tid}.scope"
    run(*ctr, "run", "-d", "--rootfs", "--runc-binary", BINARY[rt], "--runc-systemd-cgroup",
        "--cgroup", f"system.slice:ctr:{tid}", "--memory-limit", MEM, tmp / "rootfs", tid,
        "/bin/sleep", "1000")
    try:
        tasks = run(*ctr, "task", "ls").stdout.split()
        pid = int(tasks[tasks.index(tid) + 1])
        path = check_scope(pid, "system.slice", unit)
        r = run(*ctr, "task", "exec", "--exec-id", "e1", tid, "/bin/cat", "/proc/self/cgroup")
        # the shim's spec has no cgroup namespace: the scope itself
        assert r.stdout == f"0::{path}\n"
        run(*ctr, "task", "pause", tid)
        run(*ctr, "task", "resume", tid)
    finally:
        run(*ctr, "task", "kill", "-s", "KILL", tid, check=False)
        deadline = time.monotonic() + TIMEOUT
        while run(*ctr, "task", "rm", tid, check=False).returncode != 0 and \
                tid in run(*ctr, "task", "ls").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        run(*ctr, "container", "rm", tid, check=False)
    assert unit_gone(unit)
