"""Published ports against the host's own services (issue 15, item 3).

The attack: a program of the host listens on a port (sshd on 22, here a
python listener on 2222); an image exposes that port and `husk launch -P`
publishes it. Before the fix husk accepted, and its DNAT sent every
connection to that port, from outside and from the host itself, to the
container: the host's service was silently taken over. Docker and podman
refuse (they bind the port), and hold it bound while the container lives.

Everything runs in the network namespaces of test_net.py's lab: one acts
as the host (husk and its hooks run in it through `nsenter --net`), one as
a machine outside. Host services, bind probes and the holder all live in
the lab's host namespace, never in the real host's.
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import pid_alive, wait_for
from ocimage import Image, tar_of_dir
from test_net import (HOST_IP, PY, SUBNET, net, net_bundle, netlab,  # noqa: F401
                      start_server)

pytestmark = pytest.mark.husk_only

HOLDER = "husk-ports"

# A host service: binds as servers do (SO_REUSEADDR), answers "host service",
# prints its pid when ready; ends by itself after 30 s.
SERVICE = r"""
import os, socket, sys, time
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(sys.argv[4]))
s.bind((addr, port))
if proto == "tcp":
    s.listen(8)
s.settimeout(0.2)
print(os.getpid(), flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        if proto == "tcp":
            c, _ = s.accept()
            c.sendall(b"host service\n")
            c.close()
        else:
            _, peer = s.recvfrom(100)
            s.sendto(b"host service\n", peer)
    except socket.timeout:
        pass
"""

# Another program of the host trying to take a port: "ok" or the errno name.
BIND_PROBE = r"""
import errno, socket, sys
proto, addr, port, opts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
if "reuseaddr" in opts:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if "reuseport" in opts:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
try:
    s.bind((addr, port))
    if proto == "tcp":
        s.listen(1)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
"""

# A client: what answers on addr:port (TCP connect, or a UDP datagram).
CLIENT = r"""
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    s = socket.create_connection((addr, port), timeout=3)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"hi", (addr, port))
print(s.recv(100).decode().strip())
"""


class Service:
    """A host service in the lab's host namespace, as a context manager."""

    def __init__(self, lab, proto, addr, port, v6only=1):
        self.p = subprocess.Popen(
            lab.enter() + [PY, "-c", SERVICE, proto, addr, str(port), str(v6only)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def __enter__(self):
        line = self.p.stdout.readline().strip()
        assert line.isdigit(), f"host service did not start: {line!r}"
        self.pid = int(line)
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def ns_run(lab, *argv):
    p = subprocess.run(lab.enter() + [str(a) for a in argv], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    return p.stdout.strip()


def probe(lab, proto, addr, port, *opts):
    return ns_run(lab, PY, "-c", BIND_PROBE, proto, addr, port, *opts)


def client(ns, proto, ip, port):
    """What answers ip:port, asked from the namespace ns."""
    p = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "--", PY, "-c", CLIENT, proto, ip,
                        str(port)], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    return p.stdout.strip()


def holders(lab):
    """Live husk-ports processes in the lab's host namespace."""
    want = os.stat(f"/run/netns/{lab.host}").st_ino
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() != HOLDER:
                continue
            if os.stat(f"/proc/{p}/ns/net").st_ino != want:
                continue
        except OSError:
            continue
        if pid_alive(p):
            found.append(int(p))
    return found


def lease_holder(lab, cid):
    """(pid, start time) of the holder the container's record names."""
    for line in (lab.dir / f"{cid}.lease").read_text().splitlines():
        if line.startswith("holder "):
            pid, start = line.split()[1:]
            return int(pid), int(start)
    raise AssertionError(f"the record of {cid} names no port holder")


def refused_cleanly(lab, r, ns=None):
    """A refused publish leaves nothing: no record, bridge, map element,
    holder, nor anything in the container's namespace."""
    assert r.returncode != 0
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert lab.lease_files() == []
    assert not lab.has_link(lab.bridge), "bridge made for a refused attach"
    assert all(not v for v in lab.nft_elements().values())
    assert holders(lab) == []
    if ns:
        assert lab.in_ns(ns, "ip", "-o", "link").stdout.count("\n") == 1  # lo only


def attach_ns(lab, cid, *ports, check=False):
    ns = lab.new_ns()
    pub = [a for p in ports for a in ("-p", p)]
    return ns, lab.attach("--id", cid, "--netns", f"/run/netns/{ns}", *pub, check=check)


# --------------------------------------------------------------------------


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_host_service_port_is_refused(netlab, proto):
    lab = netlab
    with Service(lab, proto, "0.0.0.0", 2222) as svc:
        ns, r = attach_ns(lab, "a", f"2222:22/{proto}")
        assert (f"publish 2222:22/{proto}: host port 2222/{proto} is in use by python3 "
                f"(pid {svc.pid}) on 0.0.0.0:2222") in r.stderr, r.stderr
        refused_cleanly(lab, r, ns)
        # the service still has its port, from outside and from the host
        for ns_, ip in ((lab.out, HOST_IP), (lab.host, "127.0.0.1")):
            assert client(ns_, proto, ip, 2222) == "host service"
        # another protocol on the same number is free
        other = "udp" if proto == "tcp" else "tcp"
        ns, r = attach_ns(lab, "b", f"2222:22/{other}", check=True)
        lab.husk_net("detach", "--state-dir", lab.dir, "--id", "b")
    assert holders(lab) == []


def test_container_hook_and_owner_message(net):
    """Through the createRuntime hook, as runtimes run it: the create fails
    with the owner named, nothing of the container is left."""
    lab = net.lab
    with Service(lab, "tcp", "127.0.0.1", 2222) as svc:
        b = net_bundle(net, ["sleep", "60"], ports=("2222:22",))
        cid, r = net.create(b, None, check=False)
        assert r.rc != 0
        assert (f"host port 2222/tcp is in use by python3 (pid {svc.pid}) on "
                f"127.0.0.1:2222") in r.err, str(r)
        assert net.status(cid) is None
        assert lab.lease_files() == [] and holders(lab) == []


@pytest.mark.parametrize("service, refused, free", [
    # a publish on all addresses is refused by a service on one, and a
    # publish on another address than the service's is free
    ("127.0.0.1", ["2223:22"], [f"{HOST_IP}:2223:22"]),
    (HOST_IP, ["2223:22"], ["127.0.0.1:2223:22"]),
    # a service on all addresses refuses a publish on any one
    ("0.0.0.0", [f"{HOST_IP}:2223:22", "127.0.0.1:2223:22", "2223:22"], []),
    # so does a dual-stack [::] socket, as most servers open it
    ("::", ["2223:22", "127.0.0.1:2223:22"], []),
])
def test_address_against_any(netlab, service, refused, free):
    lab = netlab
    where = f"[{service}]:2223" if ":" in service else f"{service}:2223"
    with Service(lab, "tcp", service, 2223, v6only=0) as svc:
        for spec in refused:
            ns, r = attach_ns(lab, "a", spec)
            assert f"publish {spec}/tcp: host port 2223/tcp is in use by python3 " \
                f"(pid {svc.pid}) on {where}" in r.stderr, r.stderr
            refused_cleanly(lab, r, ns)
        for spec in free:
            ns, r = attach_ns(lab, "a", spec)
            assert r.returncode == 0, r.stderr
            lab.husk_net("detach", "--state-dir", lab.dir, "--id", "a")
            lab.assert_clean()
    assert holders(lab) == []


def test_published_port_is_held_for_the_containers_life(net):
    lab = net.lab
    cid, ip = start_server(net, "web", ports=("18080:8080", "127.0.0.1:5353:53/udp"))
    lab.wait_get(lab.out, HOST_IP, 18080, "web")
    taken = [("tcp", "0.0.0.0", 18080), ("tcp", "127.0.0.1", 18080), ("tcp", "::", 18080),
             ("udp", "0.0.0.0", 5353), ("udp", "127.0.0.1", 5353)]
    for proto, addr, port in taken:
        for opts in ((), ("reuseaddr",), ("reuseaddr", "reuseport")):
            assert probe(lab, proto, addr, port, *opts) == "EADDRINUSE", (proto, addr, opts)
    # only what is published is held: udp on another address is free
    assert probe(lab, "udp", HOST_IP, 5353) == "ok"
    # and the container still answers through it
    lab.wait_get(lab.out, HOST_IP, 18080, "web")
    net.kill(cid, "KILL")
    net.wait_status(cid, "stopped")
    net.delete(cid)
    net.ids.remove(cid)
    lab.assert_clean()
    assert holders(lab) == []
    for proto, addr, port in taken:
        assert probe(lab, proto, addr, port, "reuseaddr") == "ok", (proto, addr)


def test_kill9_holder_goes_by_itself_and_gc(net):
    lab = net.lab
    cid, ip = start_server(net, "x", ports=("18080:8080",))
    pid, _ = lease_holder(lab, cid)
    assert holders(lab) == [pid]
    assert probe(lab, "tcp", "0.0.0.0", 18080, "reuseaddr") == "EADDRINUSE"
    os.kill(net.state(cid)["pid"], 9)  # nobody runs the poststop hook
    wait_for(lambda: not pid_alive(pid), 5, what="the holder to exit with the container")
    assert probe(lab, "tcp", "0.0.0.0", 18080, "reuseaddr") == "ok"
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    # the container, then the bridge it was the last user of (and the table)
    assert r.stdout.splitlines() == [f"removed {cid}", f"removed bridge {lab.bridge}",
                                     "removed nftables table ip husk"], r.stdout
    net.delete(cid)
    net.ids.remove(cid)


def test_gc_stops_the_holder_of_a_vanished_namespace(netlab):
    """Attached by namespace path there is no process to watch: the holder
    stays until detach, or until gc finds the namespace gone."""
    lab = netlab
    ns, r = attach_ns(lab, "a", "18080:80", check=True)
    pid, _ = lease_holder(lab, "a")
    assert holders(lab) == [pid]
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""
    assert pid_alive(pid)
    subprocess.run(["ip", "netns", "del", ns], check=True, timeout=20)
    lab.extra_ns.remove(ns)
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    assert r.stdout.splitlines() == ["removed a", f"removed bridge {lab.bridge}",
                                     "removed nftables table ip husk"], r.stdout
    assert not pid_alive(pid) and holders(lab) == []
    assert probe(lab, "tcp", "0.0.0.0", 18080) == "ok"
    lab.assert_clean()


def test_detach_twice_and_a_reused_pid_is_not_killed(netlab):
    lab = netlab
    ns, r = attach_ns(lab, "a", "18080:80", check=True)
    pid, start = lease_holder(lab, "a")
    lab.husk_net("detach", "--state-dir", lab.dir, "--id", "a")
    assert not pid_alive(pid) and holders(lab) == []
    assert probe(lab, "tcp", "0.0.0.0", 18080) == "ok"
    r = lab.husk_net("detach", "--state-dir", lab.dir, "--id", "a")
    assert r.stdout == "" and r.stderr == ""
    # the holder died and its pid went to another process: detach must not
    # kill that one (the record's start time no longer matches)
    ns, r = attach_ns(lab, "b", "18080:80", check=True)
    pid, start = lease_holder(lab, "b")
    victim = subprocess.Popen(["sleep", "30"])
    try:
        rec = lab.dir / "b.lease"
        rec.write_text(rec.read_text().replace(f"holder {pid} {start}",
                                               f"holder {victim.pid} {start}"))
        os.kill(pid, 9)
        wait_for(lambda: not pid_alive(pid), 5, what="the holder to die")
        lab.husk_net("detach", "--state-dir", lab.dir, "--id", "b")
        time.sleep(0.1)
        assert victim.poll() is None, "detach killed a process that is not its holder"
    finally:
        victim.kill()
        victim.wait()
    lab.assert_clean()


def test_attach_failing_half_way_leaves_no_holder(netlab):
    """The ports are bound and their holder started before the veth is
    made: an attach that fails there (the container has an eth0 already)
    stops the holder before it returns, and the port is free at once."""
    lab = netlab
    ns = lab.new_ns()
    lab.in_ns(ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
    r = lab.attach("--id", "a", "--netns", f"/run/netns/{ns}", "-p", "18080:80", check=False)
    assert r.returncode != 0 and "eth0" in r.stderr, r.stderr
    assert holders(lab) == [] and lab.lease_files() == []
    assert probe(lab, "tcp", "0.0.0.0", 18080) == "ok"
    # and a good attach of the same port holds it
    ns, r = attach_ns(lab, "b", "18080:80", check=True)
    assert probe(lab, "tcp", "0.0.0.0", 18080, "reuseaddr") == "EADDRINUSE"
    lab.husk_net("detach", "--state-dir", lab.dir, "--id", "b")
    lab.assert_clean()


def test_holder_is_outside_the_container(net):
    lab = net.lab
    cid, ip = start_server(net, "x", ports=("18080:8080", "127.0.0.1:5353:53/udp"))
    pid, _ = lease_holder(lab, cid)
    cpid = net.state(cid)["pid"]
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == \
        f"{HOLDER} {cid}".encode()
    # the host's namespaces (the lab's host network), none of the container's
    host_net = os.stat(f"/run/netns/{lab.host}").st_ino
    assert os.stat(f"/proc/{pid}/ns/net").st_ino == host_net
    for ns in ("mnt", "pid", "ipc", "uts", "user", "cgroup"):
        mine = os.readlink(f"/proc/self/ns/{ns}")
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == mine, ns
    for ns in ("mnt", "pid", "ipc", "uts", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/{cpid}/ns/{ns}"), ns
    assert Path(f"/proc/{pid}/cgroup").read_text() != Path(f"/proc/{cpid}/cgroup").read_text()
    assert os.readlink(f"/proc/{pid}/cwd") == "/" and os.readlink(f"/proc/{pid}/root") == "/"
    assert os.getsid(pid) != os.getsid(cpid)
    # its fds: stdio on /dev/null, the two sockets, one pidfd; nothing else
    # (no net state lock, no fd of the container's namespace or rootfs)
    fds = {int(f): os.readlink(f"/proc/{pid}/fd/{f}") for f in os.listdir(f"/proc/{pid}/fd")}
    assert [fds[i] for i in (0, 1, 2)] == ["/dev/null"] * 3, fds
    rest = sorted(fds[f] for f in fds if f > 2)
    kinds = sorted("pidfd" if "pidfd" in k else k.split(":")[0] for k in rest)
    assert kinds == ["pidfd", "socket", "socket"], fds
    # it goes with the container's process
    os.kill(cpid, 9)
    wait_for(lambda: not pid_alive(pid), 5, what="the holder to exit with the container")


# --------------------------------------------------------------------------
# husk launch -P of an image exposing a port the host uses (the case)

from test_launch import Launcher, INIT  # noqa: E402


@pytest.fixture
def launch(hk):
    if not os.access(INIT, os.X_OK):
        pytest.skip(f"{INIT} not built")
    return Launcher(hk)


def test_launch_publish_refuses_host_port(launch, netlab, session_env):
    hk = launch.hk
    hk.prefix = netlab.enter()
    env = dict(os.environ, HUSK_NET_DIR=str(netlab.dir))
    img = Image([(tar_of_dir(session_env.rootfs), "gzip")],
                {"Cmd": ["sleep", "30"], "Env": ["PATH=/bin:/usr/bin:/sbin"],
                 "ExposedPorts": {"2222/tcp": {}}})
    src = img.layout(hk.work / "img")
    try:
        with Service(netlab, "tcp", "0.0.0.0", 2222) as svc:
            r = launch.call("-d", "--bridge", netlab.bridge, "--subnet", SUBNET, "-p",
                            "2222:2222", "-u", "0", src, net="bridge", env=env)
            assert r.rc != 0, str(r)
            assert (f"host port 2222/tcp is in use by python3 (pid {svc.pid})"
                    in r.err), str(r)
            assert hk.status(launch.last) is None
            assert launch.entries() == []
            assert netlab.lease_files() == [] and holders(netlab) == []
            # -P never takes the image's port on the host: a free one
            r = launch.call("-d", "--bridge", netlab.bridge, "--subnet", SUBNET, "-P", "-u",
                            "0", src, net="bridge", env=env)
            assert r.rc == 0, str(r)
            [port] = netlab.leases()[launch.last]["ports"]
            assert port.endswith(":2222/tcp") and not port.startswith("2222:"), port
            hk.delete(launch.last, force=True)
            # the host's service is untouched
            assert client(netlab.out, "tcp", HOST_IP, 2222) == "host service"
    finally:
        hk.cleanup()
        hk.ids.clear()
        hk.prefix = []


def test_launch_holder_keeps_no_launch_mounts(launch, netlab, session_env):
    """husk launch mounts the container's layers in a mount namespace of its
    own, where its createRuntime hook runs: the port holder the hook leaves
    behind must not keep those mounts (a copy of that namespace) alive."""
    hk = launch.hk
    hk.prefix = netlab.enter()
    env = dict(os.environ, HUSK_NET_DIR=str(netlab.dir))
    img = Image([(tar_of_dir(session_env.rootfs), "gzip")],
                {"Cmd": ["sleep", "30"], "Env": ["PATH=/bin:/usr/bin:/sbin"]})
    src = img.layout(hk.work / "img")
    try:
        r = launch.call("-d", "--bridge", netlab.bridge, "--subnet", SUBNET,
                        "-p", "2223:2223", "-u", "0", src, net="bridge", env=env)
        assert r.rc == 0, str(r)
        [pid] = holders(netlab)
        # the namespace launch was started in, not launch's own
        assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
        mounts = Path(f"/proc/{pid}/mountinfo").read_text()
        assert str(hk.work) not in mounts and "overlay" not in [
            l.split(" - ")[1].split()[0] for l in mounts.splitlines()
            if str(launch.data) in l], mounts
    finally:
        hk.cleanup()
        hk.ids.clear()
        hk.prefix = []
