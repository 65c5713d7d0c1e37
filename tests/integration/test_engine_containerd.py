"""containerd drives husk through its runc v2 shim (containerd-shim-runc-v2
with husk as the "runc" binary), as Kubernetes' CRI plugin would.

The module starts its own containerd, with its config, root, state and
sockets in a temp dir, imports an OCI archive made here with `ctr image
import`, and stops containerd by pid at the end. The shim keeps husk's state
under a private --runc-root; only the shim's sockets go where the shim
always puts them (/run/containerd/s), which is removed afterwards if this
module made it.
"""

import json
import os
import tempfile
from pathlib import Path

import pytest

from conftest import HUSK, SESSION, wait_for
from engines import (host_leftovers, CgroupTraces, HostTraces, ensure_packages, husk_state_ids,
                     on_a_terminal, processes_mentioning, rootfs_tar, run, start_daemon,
                     stop_daemon, write_oci_archive)

IMAGE = "docker.io/library/hk-busybox:latest"
# containerd namespace; also the cgroup parent of its containers
NS = f"hk-ctd-{SESSION}"


class Ctr:
    def __init__(self, tmp):
        self.tmp = tmp
        self.sock = tmp / "containerd.sock"
        self.runc_root = tmp / "husk-state"
        self.fifo = tmp / "fifo"
        self.argv = ["ctr", "--address", self.sock, "--namespace", NS]
        self.runtime = ["--runc-binary", HUSK, "--runc-root", self.runc_root,
                        "--fifo-dir", self.fifo]

    def config(self):
        return f"""version = 2
root = "{self.tmp}/root"
state = "{self.tmp}/state"
# no CRI here: it would set up CNI networking and listen for kubelet
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{self.sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""
"""

    def __call__(self, *args, timeout=60):
        return run([*self.argv, *args], timeout=timeout)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    def tasks(self):
        """{task id: status} from `ctr task ls`."""
        lines = self.ok("task", "ls").out.splitlines()[1:]
        return {f[0]: f[2] for f in (line.split() for line in lines) if len(f) >= 3}

    def husk_ids(self):
        return husk_state_ids(self.runc_root / NS)


@pytest.fixture(scope="module")
def ctr():
    ensure_packages("containerd")
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-ctd-{SESSION}-", dir="/tmp"))
    c = Ctr(tmp)
    (tmp / "config.toml").write_text(c.config())
    traces = HostTraces("/run/containerd")
    cgroups = CgroupTraces(NS)
    problems = []
    daemon = start_daemon(["containerd", "--config", tmp / "config.toml"], tmp / "containerd.log",
                          ready=lambda: c.sock.exists() and c("version").rc == 0)
    try:
        archive = write_oci_archive(rootfs_tar(tmp), tmp / "image-oci.tar", IMAGE)
        c.ok("image", "import", archive)
        yield c
    finally:
        for task in list(c.tasks()):
            c("task", "kill", "--signal", "KILL", task)
            c("task", "delete", "--force", task)
        for cont in c.ok("container", "ls", "-q").out.split():
            c("container", "delete", cont)
        c("image", "remove", IMAGE)
        stop_daemon(daemon)
        try:
            wait_for(lambda: not processes_mentioning(tmp), timeout=10, what="shims to exit")
        except AssertionError:
            problems.append(f"processes left: {processes_mentioning(tmp)}")
        if c.runc_root.exists() and c.husk_ids():
            problems.append(f"husk state left: {c.husk_ids()}")
        problems += host_leftovers(tmp, traces, cgroups)  # the snapshotter's mounts, if any
    assert not problems, "containerd module left things behind:\n  " + "\n  ".join(problems)


def test_run_rm_passes_output_and_exit_status(ctr):
    r = ctr("run", "--rm", *ctr.runtime, IMAGE, "hk-once", "sh", "-c", "echo hello; exit 3")
    assert r.rc == 3, str(r)
    assert r.out == "hello\n", str(r)
    assert "hk-once" not in ctr.tasks()
    assert "hk-once" not in ctr.husk_ids()


def test_detached_task_exec_ps_pause_metrics_kill(ctr):
    tid = "hk-task"
    ctr.ok("run", "-d", *ctr.runtime, IMAGE, tid, "sleep", "1000")
    try:
        assert ctr.tasks()[tid] == "RUNNING"
        assert tid in ctr.husk_ids()                     # husk runs it
        pid = int(ctr.ok("task", "ls").out.split(tid)[1].split()[0])

        r = ctr("task", "exec", "--exec-id", "e1", "--fifo-dir", ctr.fifo, tid,
                "sh", "-c", "echo exec-out; exit 4")
        assert r.rc == 4 and r.out == "exec-out\n", str(r)

        ps = ctr.ok("task", "ps", tid).out.split()
        assert str(pid) in ps, ps

        ctr.ok("task", "pause", tid)
        assert ctr.tasks()[tid] == "PAUSED"
        ctr.ok("task", "resume", tid)
        assert ctr.tasks()[tid] == "RUNNING"

        m = json.loads(ctr.ok("task", "metrics", "--format", "json", tid).out)
        assert m["pids"]["current"] >= 1, m
        assert m["memory"], m

        ctr.ok("task", "kill", "--signal", "KILL", tid)
        wait_for(lambda: ctr.tasks().get(tid) == "STOPPED", what="the task to stop")
        ctr.ok("task", "delete", tid)
        assert tid not in ctr.husk_ids()
    finally:
        if tid in ctr.tasks():
            ctr("task", "delete", "--force", tid)
        ctr.ok("container", "delete", tid)


def test_run_with_terminal(ctr):
    """The shim hands husk a console socket; /dev/console is the pty. (The
    short sleep: once, on a loaded machine, ctr exited with the task's
    status but none of its output, the task having exited at once.)"""
    rc, out = on_a_terminal([*ctr.argv, "run", "--rm", "-t", *ctr.runtime, IMAGE, "hk-tty",
                             "sh", "-c", "tty; ls -l /dev/console; sleep 0.2; exit 5"],
                            dict(os.environ))
    assert rc == 5, out
    assert "/dev/pts/0" in out and "136," in out, out

