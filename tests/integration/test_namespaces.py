"""Namespaces, seen from inside the container and from the host."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import ALL_NAMESPACES, bind, ns_id, wait_for

# OCI namespace type -> name under /proc/<pid>/ns
NS_FILE = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts",
           "mount": "mnt", "cgroup": "cgroup"}
NSENTER = shutil.which("nsenter")


def _ready_script(body):
    """Run body, then signal readiness and wait to be killed."""
    return f"{body}; touch /mnt/rw/ready; exec sleep 1000"


def _start_waiting(hk, body="true", **kw):
    out = hk.dir(f"out{len(hk.ids)}")
    mounts = list(kw.pop("extra_mounts", ())) + [bind(out, "/mnt/rw")]
    b = hk.bundle(["sh", "-c", _ready_script(body)], extra_mounts=mounts, **kw)
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    return cid, hk.state(cid)["pid"], out


def test_pid_1_is_the_container_process(hk):
    b = hk.bundle(["sh", "-c", "echo $$; ps -o pid,comm; true"])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[0] == "1"
    procs = [l.split() for l in lines[2:]]
    assert lines[1].split() == ["PID", "COMMAND"]
    # only the shell (pid 1) and ps itself
    assert sorted(c for _, c in procs) == ["ps", "sh"], r.out
    assert ["1", "sh"] in procs


def test_host_pid_of_container_process(hk):
    cid, pid, out = _start_waiting(hk, "echo $$ > /mnt/rw/inner")
    assert (out / "inner").read_text() == "1\n"
    assert os.readlink(f"/proc/{pid}/exe").endswith("busybox")
    # the host sees the container's pid 1 under its host pid ...
    with open(f"/proc/{pid}/status") as f:
        nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
    assert nspid == [str(pid), "1"]


def test_hostname_inside_not_outside(hk):
    before = open("/proc/sys/kernel/hostname").read()
    name = f"hk-{os.urandom(3).hex()}"
    b = hk.bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname; uname -n"],
                  hostname=name)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == [name] * 3
    assert open("/proc/sys/kernel/hostname").read() == before


@pytest.mark.skipif(not NSENTER, reason="needs nsenter on the host")
def test_hostname_seen_from_outside(hk):
    name = f"hk-{os.urandom(3).hex()}"
    cid, pid, _ = _start_waiting(hk, hostname=name)
    r = subprocess.run([NSENTER, "-t", str(pid), "-u", "cat",
                        "/proc/sys/kernel/hostname"], capture_output=True,
                       text=True, timeout=10)
    assert r.stdout.strip() == name


def test_network_only_loopback(hk):
    b = hk.bundle(["sh", "-c", "ip link"])
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    links = re.findall(r"^\d+: ([^:@]+)[:@]", r.out, re.M)
    assert links == ["lo"], r.out


def test_network_only_loopback_from_outside(hk):
    cid, pid, _ = _start_waiting(hk)
    with open(f"/proc/{pid}/net/dev") as f:
        ifaces = [l.split(":")[0].strip() for l in f.readlines()[2:]]
    assert ifaces == ["lo"]


def _ns_report():
    return "; ".join(f"readlink /proc/self/ns/{f}" for f in NS_FILE.values())


@pytest.mark.parametrize("missing", [None, "pid", "network", "ipc", "uts", "cgroup"],
                         ids=lambda m: f"without-{m}" if m else "all")
def test_namespaces_created_or_shared(hk, missing):
    configured = [n for n in ALL_NAMESPACES if n != missing]
    body = f"({_ns_report()}) > /mnt/rw/inner; cat /proc/self/cgroup > /mnt/rw/cgroup"
    kw = {"hostname": None} if missing == "uts" else {}
    cid, pid, out = _start_waiting(hk, body, namespaces=configured, **kw)
    inner = (out / "inner").read_text().split()
    for i, (typ, f) in enumerate(NS_FILE.items()):
        host = ns_id("self", f)
        outside = ns_id(pid, f)
        # what the container sees of itself is what the host sees of it
        assert inner[i] == outside, (typ, inner[i], outside)
        if typ in configured:
            assert outside != host, f"{typ} namespace not created"
        else:
            assert outside == host, f"{typ} namespace created but not configured"
    cg = (out / "cgroup").read_text().splitlines()
    if "cgroup" in configured:
        assert all(l.split(":", 2)[2] == "/" for l in cg), cg
    else:
        assert any(cid in l for l in cg), cg


def test_join_namespaces_by_path(hk):
    name = f"hk-{os.urandom(3).hex()}"
    a, apid, _ = _start_waiting(hk, hostname=name)
    joined = [{"type": "network", "path": f"/proc/{apid}/ns/net"},
              {"type": "uts", "path": f"/proc/{apid}/ns/uts"},
              {"type": "pid", "path": f"/proc/{apid}/ns/pid"},
              {"type": "ipc"}, {"type": "mount"}]
    body = "echo $$ > /mnt/rw/mypid; hostname > /mnt/rw/host; ps -o pid,args > /mnt/rw/ps"
    b, bpid, bout = _start_waiting(hk, body, namespaces=joined, hostname=None)
    for f in ("net", "uts", "pid"):
        assert ns_id(bpid, f) == ns_id(apid, f), f
    for f in ("ipc", "mnt"):
        assert ns_id(bpid, f) != ns_id(apid, f), f
        assert ns_id(bpid, f) != ns_id("self", f), f
    # inside: the uts namespace carries the first container's hostname, and
    # the second container's process is not pid 1 and sees the first's
    assert (bout / "host").read_text().strip() == name
    assert (bout / "mypid").read_text().strip() != "1"
    ps = (bout / "ps").read_text()
    # the first container's pid 1 (which exec'd sleep) is visible as pid 1
    assert re.search(r"^\s*1\s+sleep 1000$", ps, re.M), ps


def test_net_sysctl_in_a_joined_network_namespace(hk):
    """podman makes the network namespace and gives its path, with net.*
    sysctls: they go into that namespace. Into the host's own: refused."""
    a, apid, _ = _start_waiting(hk)
    cfg = hk.config(["cat", "/proc/sys/net/ipv4/ip_forward"],
                    namespaces=[{"type": "network", "path": f"/proc/{apid}/ns/net"},
                                "pid", "ipc", "uts", "mount"])
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b = hk.bundle(name="joined")
    b.write(cfg)
    r = hk.run_fg(b)
    assert r.rc == 0 and r.out.strip() == "1", str(r)

    cfg["linux"]["namespaces"][0]["path"] = "/proc/self/ns/net"
    b.write(cfg)
    r = hk.run_fg(b)
    assert r.rc == 1 and "the host's" in r.err, str(r)
