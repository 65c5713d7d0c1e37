"""Docker drives husk as one of its runtimes (`--runtime husk`), with
husk-init as dockerd's init binary.

The module starts its own dockerd: private --data-root, --exec-root,
--pidfile, config file and unix socket in a temp dir, no iptables and no
bridge (nothing of the host's network is touched). dockerd starts and stops
its own containerd under --exec-root. The image is a docker-archive made
here and loaded with `docker load`. dockerd is stopped by pid at the end.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HUSK, SESSION, wait_for
from engines import (host_leftovers, HUSK_INIT, CgroupTraces, HostTraces, ensure_packages, husk_state_ids,
                     processes_mentioning, rootfs_tar, run, start_daemon,
                     stop_daemon, write_docker_archive)

IMAGE = "hk-busybox:latest"


class Docker:
    def __init__(self, tmp):
        self.tmp = tmp
        self.sock = tmp / "docker.sock"
        self.argv = ["docker", "--host", f"unix://{self.sock}"]
        # where dockerd's containerd shim keeps husk's state
        self.husk_root = tmp / "exec" / "runtime-runc" / "moby"

    def daemon_argv(self):
        return ["dockerd", "--config-file", self.tmp / "daemon.json",
                "--data-root", self.tmp / "data", "--exec-root", self.tmp / "exec",
                "--pidfile", self.tmp / "docker.pid", "--host", f"unix://{self.sock}",
                "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-masq=false",
                "--ip-forward=false"]

    def write_config(self):
        (self.tmp / "daemon.json").write_text(json.dumps({
            "runtimes": {"husk": {"path": HUSK}},
            "init-path": HUSK_INIT,
            # dockerd would otherwise write /etc/docker/key.json
            "deprecated-key-path": str(self.tmp / "key.json"),
        }, indent=1))

    def __call__(self, *args, timeout=60):
        return run([*self.argv, *args], timeout=timeout)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    def inspect(self, name, fmt):
        return self.ok("inspect", "--format", fmt, name).out.strip()


@pytest.fixture(scope="module")
def docker():
    ensure_packages("docker.io")
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-dk-{SESSION}-", dir="/tmp"))
    d = Docker(tmp)
    d.write_config()
    traces = HostTraces("/etc/docker/key.json", "/run/containerd", "/var/lib/docker",
                        "/run/docker")
    cgroups = CgroupTraces("docker")
    problems = []
    daemon = start_daemon(d.daemon_argv(), tmp / "dockerd.log",
                          ready=lambda: d.sock.exists() and d("version").rc == 0, timeout=60)
    try:
        d.ok("load", "--input", write_docker_archive(rootfs_tar(tmp), tmp / "image.tar", IMAGE))
        yield d
    finally:
        ids = d("ps", "-aq").out.split()
        if ids:
            d("rm", "--force", *ids)
        d("rmi", "--force", IMAGE)
        stop_daemon(daemon, timeout=30)
        try:
            wait_for(lambda: not processes_mentioning(tmp), timeout=15,
                     what="dockerd's containerd and shims to exit")
        except AssertionError:
            problems.append(f"processes left: {processes_mentioning(tmp)}")
        if d.husk_root.exists() and husk_state_ids(d.husk_root):
            problems.append(f"husk state left: {husk_state_ids(d.husk_root)}")
        problems += host_leftovers(tmp, traces, cgroups)  # dockerd's own bind of --data-root, if left
    assert not problems, "docker module left things behind:\n  " + "\n  ".join(problems)


def test_husk_is_a_runtime(docker):
    info = json.loads(docker.ok("info", "--format", "{{json .}}").out)
    assert info["Runtimes"]["husk"]["path"] == HUSK
    assert info["InitBinary"] == HUSK_INIT


def test_run_rm_passes_output_and_exit_status(docker):
    r = docker("run", "--rm", "--runtime", "husk", IMAGE, "sh", "-c", "echo hello; exit 3")
    assert r.rc == 3, str(r)
    assert r.out == "hello\n", str(r)


def test_detached_exec_stop_rm(docker):
    name = "hk-detached"
    cid = docker.ok("run", "-d", "--runtime", "husk", "--name", name, IMAGE, "sh", "-c",
                    'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done').out.strip()
    assert docker.inspect(name, "{{.HostConfig.Runtime}}") == "husk"
    assert cid in husk_state_ids(docker.husk_root)
    r = docker("exec", name, "sh", "-c", "echo exec-out; exit 2")
    assert r.rc == 2 and r.out == "exec-out\n", str(r)
    t0 = time.monotonic()
    docker.ok("stop", "--time", "10", name)
    assert time.monotonic() - t0 < 8, "SIGTERM should have stopped it at once"
    assert docker.inspect(name, "{{.State.ExitCode}}") == "0"
    assert "got-term" in docker.ok("logs", name).out
    docker.ok("rm", name)
    assert cid not in husk_state_ids(docker.husk_root)


# Docker turns runc's words into exit codes: "executable file not found" and
# "no such file or directory" 127, "permission denied" 126 (issue 16 A5:
# husk's gave 125).
EXEC_FAILURES = [("nosuch", 127), ("/nonexistent", 127), ("/etc/passwd", 126), ("/tmp", 126)]


@pytest.mark.parametrize("arg0,code", EXEC_FAILURES)
def test_exec_failure_exit_codes(docker, arg0, code):
    r = docker("run", "--rm", "--runtime", "husk", IMAGE, arg0)
    assert r.rc == code, str(r)


def test_exec_failure_of_exec(docker):
    """docker exec maps nothing: 126 for any failed exec, with runc's words."""
    name = "hk-exec-codes"
    docker.ok("run", "-d", "--runtime", "husk", "--name", name, IMAGE, "sleep", "1000")
    try:
        for arg0, _ in EXEC_FAILURES:
            r = docker("exec", name, arg0)
            assert r.rc == 126 and f'exec: "{arg0}": ' in r.out + r.err, str(r)
    finally:
        docker.ok("rm", "--force", name)


def test_init_is_husk_init(docker):
    r = docker.ok("run", "--rm", "--runtime", "husk", "--init", IMAGE, "sh", "-c",
                  "cat /proc/1/cmdline | tr '\\0' ' '; echo; /sbin/docker-init --version")
    first, version = r.out.splitlines()
    assert first.startswith("/sbin/docker-init -- sh"), r.out
    assert version.startswith("husk-init version"), r.out


def test_init_forwards_stop(docker):
    """Under husk-init, sleep (not PID 1 any more) dies of docker stop's
    SIGTERM: no wait for the timeout."""
    name = "hk-init-stop"
    docker.ok("run", "-d", "--runtime", "husk", "--init", "--name", name, IMAGE, "sleep", "1000")
    t0 = time.monotonic()
    docker.ok("stop", "--time", "10", name)
    assert time.monotonic() - t0 < 8
    assert docker.inspect(name, "{{.State.ExitCode}}") == "143"
    docker.ok("rm", name)


def test_host_pid_namespace_leftovers_are_killed(docker):
    """--pid host: the shell's background child outlives it; the shim ends
    it with `husk kill --all` on the stopped container."""
    marker = f"sleep {os.getpid() % 1000 + 7000}"
    r = docker("run", "--rm", "--runtime", "husk", "--pid", "host", IMAGE, "sh", "-c",
               f"{marker} & echo started")
    assert r.rc == 0 and r.out == "started\n", str(r)
    wait_for(lambda: not [p for p, cmd in processes_mentioning(marker) if cmd.strip() == marker],
             what="the left-over sleep to be killed")
