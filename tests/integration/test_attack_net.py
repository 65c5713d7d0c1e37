"""Attacks on husk net from its containers, the machines next to its host
and other containers with the same id (the outside attack of 2026-12-02:
F4, F9, F10, F12, F13, F16).

Everything runs in the network namespaces of test_net.py's lab: one acts as
the host (husk and its hooks run in it through `nsenter --net`), one as a
machine on the host's link ("out"), and each "container" is a namespace of
the test's attached with `husk net attach --netns` (or a real container
where the hooks' state matters). Packets an attacker would forge are built
here and sent through a packet socket from inside the attacker's namespace,
as a container with CAP_NET_RAW (in Docker's default set) sends them.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import HUSK, STATE_BASE, wait_for
from ocimage import Image, tar_of_dir
from test_attack_ports import holders
from test_launch import INIT, Launcher
from test_net import (GATEWAY, HOST_IP, OUT_IP, PEER_SERVER, PY, SUBNET, net,  # noqa: F401
                      net_bundle, netlab, run, server_cmd, start_server)

pytestmark = pytest.mark.husk_only

# Frames as an attacker with CAP_NET_RAW builds them: argv DEV DSTMAC KIND
# ARGS..., sent on DEV (a packet socket bypasses the sender's own routing).
#   udp4 SRC DST SPORT DPORT TEXT   an IPv4 UDP datagram
#   ra6                             an IPv6 router advertisement to ff02::1:
#                                   default route, prefix 2001:db8:6666::/64
SEND_FRAME = r"""
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def udp4(src, dst, sport, dport, text):
    data = text.encode()
    a, b = socket.inet_aton(src), socket.inet_aton(dst)
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(a + b + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xffff
    u = u[:6] + struct.pack("!H", c) + u[8:]
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, a, b)
    return 0x0800, h[:10] + struct.pack("!H", csum(h)) + h[12:] + u

def ra6(mac):
    src = b"\xfe\x80" + b"\0" * 6 + bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:]
    dst = socket.inet_pton(socket.AF_INET6, "ff02::1")
    prefix = socket.inet_pton(socket.AF_INET6, "2001:db8:6666::")
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 86400, 14400, 0) + prefix
    body += struct.pack("!BB", 1, 1) + mac
    c = csum(src + dst + struct.pack("!I3xB", len(body), 58) + body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    return 0x86dd, struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + dst + body

dev, dst = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
mac = bytes.fromhex(open(f"/sys/class/net/{dev}/address").read().strip().replace(":", ""))
kind, args = sys.argv[3], sys.argv[4:]
if kind == "udp4":
    proto, payload = udp4(args[0], args[1], int(args[2]), int(args[3]), args[4])
else:
    proto, payload = ra6(mac)
    dst = bytes.fromhex("333300000001")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
for _ in range(3):
    s.send(dst + mac + struct.pack("!H", proto) + payload)
"""

# Prints "ready", then "SOURCE TEXT" for each datagram to ADDR:PORT, for
# SECONDS.
UDP_RECV = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.05)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(2000)
        print(a[0], d.decode(errors="replace"), flush=True)
    except socket.timeout:
        pass
"""

# A datagram to ADDR:PORT, the socket bound to DEVICE ("" for none): no
# capability needed for SO_BINDTODEVICE since Linux 5.7.
UDP_SEND = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
if sys.argv[3]:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[3].encode())
for _ in range(3):
    s.sendto(sys.argv[4].encode(), (sys.argv[1], int(sys.argv[2])))
"""

# "got TEXT" (the server's first line) or "failed ERROR" for a TCP
# connection to ADDR:PORT within TIMEOUT seconds.
CONNECT = r"""
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    s.settimeout(3)
    print("got", s.recv(100).decode().strip())
except OSError as e:
    print("failed", type(e).__name__)
"""

# How long an attack that should not get through is given to get through.
QUIET = 1.0


def in_ns(ns, *argv):
    return subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "--", *map(str, argv)],
                          capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)


def sh_ns(lab, ns, *argv):
    """A command through `ip netns exec`, which shows the namespace's own
    /sys (the packet sender reads its MAC there)."""
    return lab.in_ns(ns, *argv, check=False)


def mac_of(lab, ns, dev):
    out = lab.in_ns(ns, "ip", "-o", "link", "show", dev).stdout
    return out.split("link/ether ")[1].split()[0]


def attach(lab, cid, *args, bridge=None, subnet=SUBNET):
    """A namespace of the test attached as container cid; its address."""
    ns = lab.new_ns()
    lab.husk_net("attach", "--state-dir", lab.dir, "--bridge", bridge or lab.bridge,
                 "--subnet", subnet, "--id", cid, "--netns", f"/run/netns/{ns}", *args)
    return ns, lab.leases()[cid]["address"]


def detach(lab, *ids):
    for cid in ids:
        lab.husk_net("detach", "--state-dir", lab.dir, "--id", cid)


class Recv:
    """A UDP receiver in namespace ns, as a context manager: .got after."""

    def __init__(self, ns, addr, port, seconds=QUIET + 0.5):
        self.p = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", PY, "-c",
                                   UDP_RECV, addr, str(port), str(seconds)],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def __enter__(self):
        assert self.p.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc):
        try:
            out, _ = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, _ = self.p.communicate()
        self.got = out.splitlines()


class Server:
    """PEER_SERVER (answers each connection with the peer's address) in ns."""

    def __init__(self, ns, addr, port):
        self.p = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", PY, "-c",
                                   PEER_SERVER, addr, str(port)],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def __enter__(self):
        assert self.p.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def connect(ns, ip, port, timeout=QUIET):
    return in_ns(ns, PY, "-c", CONNECT, ip, port, timeout).stdout.strip()


# --------------------------------------------------------------------------
# F4: the host's 127.0.0.1 (route_localnet is on for the bridge)


def test_container_cannot_reach_host_loopback(netlab):
    """A container sends to 127.0.0.1 through eth0 (SO_BINDTODEVICE, no
    capability), or routes 127.0.0.1 to the bridge (CAP_NET_ADMIN in its
    own namespace), or forges 127.0.0.1 as its source (CAP_NET_RAW): the
    host's services bound to 127.0.0.1, or trusting it, hear nothing."""
    lab = netlab
    c, ip = attach(lab, "attacker")
    # (a) UDP to the host's 127.0.0.1:9998, out of eth0
    with Recv(lab.host, "127.0.0.1", 9998) as r:
        in_ns(c, PY, "-c", UDP_SEND, "127.0.0.1", 9998, "eth0", "from-a-container")
    assert r.got == [], r.got
    # (b) TCP to a service on the host's 127.0.0.1:9999, with 127.0.0.1
    # routed through the bridge from inside
    for cmd in (["ip", "addr", "del", "127.0.0.1/8", "dev", "lo"],
                ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet"],
                ["ip", "route", "add", "127.0.0.1/32", "via", GATEWAY, "dev", "eth0"]):
        assert sh_ns(lab, c, *cmd).returncode == 0, cmd
    with Server(lab.host, "127.0.0.1", 9999):
        assert connect(c, "127.0.0.1", 9999).startswith("failed"), "reached 127.0.0.1:9999"
    # (c) raw frames: to 127.0.0.1 (a host service on every address hears
    # it), and from a forged 127.0.0.1 (a blind channel into services that
    # trust it: the kernel drops that one itself, 127.0.0.1 being local)
    bridge_mac = mac_of(lab, lab.host, lab.bridge)
    with Recv(lab.host, "0.0.0.0", 9997) as r:
        sh_ns(lab, c, PY, "-c", SEND_FRAME, "eth0", bridge_mac, "udp4", "127.0.0.1", GATEWAY,
              4000, 9997, "forged")
        sh_ns(lab, c, PY, "-c", SEND_FRAME, "eth0", bridge_mac, "udp4", ip, "127.0.0.1",
              4000, 9997, "raw-to-loopback")
        # and what the container may send, still arrives
        sh_ns(lab, c, PY, "-c", SEND_FRAME, "eth0", bridge_mac, "udp4", ip, GATEWAY,
              4000, 9997, "honest")
    assert r.got == [f"{ip} honest"] * 3, r.got
    detach(lab, "attacker")


def test_loopback_publish_is_the_hosts_alone(netlab):
    """A port published on 127.0.0.1 answers the host, and neither a
    machine on the host's link that sends to 127.0.0.1 nor a container on
    the bridge: docker's DROP of `-d 127.0.0.1 ! -i lo` (28.0)."""
    lab = netlab
    s, ip = attach(lab, "srv", "-p", "127.0.0.1:18053:53/udp", "-p", "127.0.0.1:18080:8080")
    c, cip = attach(lab, "other")
    with Server(s, "0.0.0.0", 8080):
        # the host itself: TCP, from the bridge's address (masqueraded)
        assert connect(lab.host, "127.0.0.1", 18080) == f"got {GATEWAY}"
        # a container on the bridge, to 127.0.0.1:18080 out of eth0
        assert connect(c, "127.0.0.1", 18080).startswith("failed")
    with Recv(s, "0.0.0.0", 53) as r:
        in_ns(lab.host, PY, "-c", UDP_SEND, "127.0.0.1", 18053, "", "host")
        # the machine next door: 127.0.0.1 in a frame to the host's MAC
        sh_ns(lab, lab.out, PY, "-c", SEND_FRAME, "ext0", mac_of(lab, lab.host, "ext0"),
              "udp4", OUT_IP, "127.0.0.1", 4000, 18053, "neighbour")
        in_ns(c, PY, "-c", UDP_SEND, "127.0.0.1", 18053, "eth0", "container")
    assert [line.split()[1] for line in r.got] == ["host"] * 3, r.got
    detach(lab, "srv", "other")


# --------------------------------------------------------------------------
# F9: IPv6 router advertisements from a container


def ipv6_state(lab, ns, dev):
    routes = lab.in_ns(ns, "ip", "-6", "route", "show", "default").stdout.strip()
    addrs = lab.in_ns(ns, "ip", "-6", "addr", "show", "dev", dev).stdout
    return routes, "2001:db8:6666" in addrs


def test_router_advertisement_is_ignored(netlab):
    """A container with CAP_NET_RAW advertises itself as an IPv6 router
    (CVE-2020-13401): neither the host nor another container takes a route
    or an address from it. husk's networks are IPv4 only: no IPv6 on the
    bridge nor on a container's eth0 (as Docker 27 for IPv4-only
    networks)."""
    lab = netlab
    a, _ = attach(lab, "ra-sender")
    b, _ = attach(lab, "bystander")
    r = sh_ns(lab, a, PY, "-c", SEND_FRAME, "eth0", "33:33:00:00:00:01", "ra6")
    assert r.returncode == 0, r.stderr
    time.sleep(QUIET)
    assert ipv6_state(lab, lab.host, lab.bridge) == ("", False)
    assert ipv6_state(lab, b, "eth0") == ("", False)
    for ns, dev in ((lab.host, lab.bridge), (b, "eth0")):
        path = f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"
        assert lab.in_ns(ns, "cat", path).stdout.strip() == "1", (ns, dev)
    detach(lab, "ra-sender", "bystander")


# --------------------------------------------------------------------------
# F16: forwarding


def route_through_host(lab):
    """A second machine ("r") behind the host on its own link: the host
    routes between it and "out", as it did before husk came."""
    r = lab.new_ns()
    run("ip", "-n", r, "link", "set", "lo", "up")
    run("ip", "-n", lab.host, "link", "add", "ext1", "type", "veth", "peer", "name", "ext1",
        "netns", r)
    run("ip", "-n", lab.host, "addr", "add", "192.0.2.1/24", "dev", "ext1")
    run("ip", "-n", r, "addr", "add", "192.0.2.2/24", "dev", "ext1")
    for ns in (lab.host, r):
        run("ip", "-n", ns, "link", "set", "ext1", "up")
    run("ip", "-n", r, "route", "add", "default", "via", "192.0.2.1")
    run("ip", "-n", lab.out, "route", "add", "192.0.2.0/24", "via", HOST_IP)
    return r


def test_forwarding_only_to_published_ports(netlab):
    """A machine on the host's link that routes the containers' subnet
    through the host reaches only what is published; a container on
    another husk bridge reaches nothing of this one; the host's own
    routing between its other links is left as it was."""
    lab = netlab
    a, ip_a = attach(lab, "a", "-p", "18080:8080")
    a2, ip_a2 = attach(lab, "a2")
    b, ip_b = attach(lab, "b", "-p", "18081:8080", bridge=lab.bridge + "x",
                     subnet="10.78.0.0/24")
    r = route_through_host(lab)
    run("ip", "-n", lab.out, "route", "add", SUBNET, "via", HOST_IP)
    run("ip", "-n", lab.out, "route", "add", "10.78.0.0/24", "via", HOST_IP)
    with Server(a, "0.0.0.0", 8080), Server(a, "0.0.0.0", 9000), \
            Server(b, "0.0.0.0", 8080), Server(r, "0.0.0.0", 7000):
        # the machine next door: the published port, not the others
        assert connect(lab.out, HOST_IP, 18080) == f"got {OUT_IP}"
        assert connect(lab.out, ip_a, 9000).startswith("failed"), "unpublished port reached"
        assert connect(lab.out, ip_a, 8080).startswith("failed"), "reached past the DNAT"
        # the host itself reaches its containers
        assert connect(lab.host, ip_a, 9000) == f"got {GATEWAY}"
        # the same bridge: directly, and through the host's published port
        assert connect(a2, ip_a, 9000) == f"got {ip_a2}"
        assert connect(a2, HOST_IP, 18080).startswith("got ")
        # and its broadcasts (br_netfilter shows bridged frames to forward)
        with Recv(a, "0.0.0.0", 5000, seconds=0.5) as got:
            in_ns(a2, PY, "-c", UDP_SEND, "255.255.255.255", 5000, "eth0", "bcast")
        assert got.got == [f"{ip_a2} bcast"] * 3, got.got
        # another husk bridge: nothing, directly or through a published port
        assert connect(b, ip_a, 9000).startswith("failed"), "reached across bridges"
        assert connect(b, HOST_IP, 18080).startswith("failed"), "reached across bridges"
        assert connect(a, ip_b, 8080).startswith("failed"), "reached across bridges"
        # containers still go out (masqueraded), and answers come back
        assert connect(a, "192.0.2.2", 7000) == "got 192.0.2.1"
        # the host's forwarding between its other links is untouched
        assert connect(lab.out, "192.0.2.2", 7000) == f"got {OUT_IP}"
    detach(lab, "a", "a2", "b")


# --------------------------------------------------------------------------
# F10: the same id under another --root


def state_json(cid, pid, status="stopped"):
    return json.dumps({"ociVersion": "1.2.0", "id": cid, "status": status, "pid": pid,
                       "bundle": "/"})


def assert_attached(lab, cid, want):
    lease = lab.leases()[cid]
    assert lease["alive"]
    assert lab.has_link(lease["veth"])
    lab.wait_get(lab.out, HOST_IP, 18080, want)
    assert len(holders(lab)) == 1


def test_same_id_under_another_root(net):
    """A container with the id of a running one under another --root is
    refused at attach, and its failed create's poststop detach leaves the
    running one's network alone; so does a runtime's poststop that passes
    no pid (runc's), while the running one lives."""
    lab = net.lab
    cid, ip = start_server(net, "first", ports=("18080:8080",))
    assert_attached(lab, cid, "first")
    root2 = STATE_BASE / f"root2-{cid}"
    b = net_bundle(net, server_cmd("second"))
    try:
        r = net.call("--root", root2, "create", "--bundle", b.path, cid, root=False)
        assert r.rc != 0
        assert f"container {cid} is attached already" in r.err, str(r)
        assert_attached(lab, cid, "first")
        # a poststop with no pid in the state, while the container lives
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json(cid, 0))
        assert_attached(lab, cid, "first")
        # once it is gone, the same poststop is its own
        net.kill(cid, "KILL")
        net.wait_status(cid, "stopped")
        wait_for(lambda: not lab.leases()[cid]["alive"], 5, what="the record to show gone")
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json(cid, 0))
        assert lab.leases() == {}
    finally:
        net.call("--root", root2, "delete", "--force", cid, root=False)
        if root2.exists():
            root2.rmdir()


def test_hook_detach_takes_its_own_record(netlab):
    """detach from a hook removes the record whose pid its state names and
    leaves another one of the same id; --id (the operator) by id."""
    lab = netlab
    ns = lab.new_ns()
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "30"])
    try:
        wait_for(lambda: os.readlink(f"/proc/{sleeper.pid}/ns/net") != os.readlink(
            "/proc/self/ns/net"), 5, what="the sleeper in its namespace")
        lab.husk_net("attach", "--state-dir", lab.dir, "--bridge", lab.bridge, "--subnet",
                     SUBNET, stdin=state_json("x", sleeper.pid, "creating"))
        # another container's hook: another pid
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json("x", 1))
        assert list(lab.leases()) == ["x"]
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json("x", sleeper.pid))
        assert lab.leases() == {}
        # attached by --netns from a hook: the state's pid tells it too
        lab.husk_net("attach", "--state-dir", lab.dir, "--bridge", lab.bridge, "--subnet",
                     SUBNET, "--netns", f"/run/netns/{ns}",
                     stdin=state_json("y", sleeper.pid, "creating"))
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json("y", 1))
        assert list(lab.leases()) == ["y"]
        lab.husk_net("detach", "--state-dir", lab.dir, stdin=state_json("y", sleeper.pid))
        assert lab.leases() == {}
    finally:
        sleeper.kill()
        sleeper.wait()
    lab.assert_clean()


# --------------------------------------------------------------------------
# F12: the default net state directory is not inside the default root

# In a mount namespace of its own with a tmpfs on /run (the lab's
# namespaces bound back in): husk's defaults, /run/husk and husk net's
# directory, are the test's, never the machine's.
PRIVATE_RUN = r"""
set -e
keep=$1; shift
mount --rbind /run/netns "$keep"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/netns
mount --rbind "$keep" /run/netns
unset HUSK_NET_DIR
eval "$@"
"""


def private_run(lab, work, script, *args):
    keep = work / "netns-keep"
    keep.mkdir(exist_ok=True)
    argv = lab.enter() + ["unshare", "-m", "--propagation", "private", "sh", "-c",
                          PRIVATE_RUN, "sh", str(keep), script]
    env = dict(os.environ, H=HUSK, **{k: str(v) for k, v in args})
    env.pop("HUSK_NET_DIR", None)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    keep.rmdir()
    return p


def test_delete_net_keeps_the_leases(netlab, tmp_path):
    """`husk delete --force net` with husk's defaults: the state directory
    of husk net is not a container's, and its records stay."""
    lab = netlab
    ns = lab.new_ns()
    p = private_run(lab, tmp_path, r"""
        $H net attach --id n1 --netns /run/netns/$NS --bridge $BR --subnet $SUB
        $H delete --force net >/dev/null 2>&1 || true
        echo "after: $($H net ls -q | tr '\n' ' ')"
        $H net detach --id n1
        """, ("NS", ns), ("BR", lab.bridge), ("SUB", SUBNET))
    assert p.returncode == 0, p.stderr
    assert "after: n1 " in p.stdout, p.stdout + p.stderr


def test_records_in_the_old_directory_move_over(netlab, tmp_path):
    """A husk net from before kept its records in /run/husk/net: the first
    command with the default directory takes them over, and detach finds
    them there."""
    lab = netlab
    ns = lab.new_ns()
    p = private_run(lab, tmp_path, r"""
        $H net attach --state-dir /run/husk/net --id old1 --netns /run/netns/$NS \
            --bridge $BR --subnet $SUB
        echo "ls: $($H net ls -q | tr '\n' ' ')"
        test ! -e /run/husk/net && echo "old dir gone"
        test -e /run/husk-net/old1.lease && echo "moved"
        $H net detach --id old1
        echo "after: $(ls /run/husk-net | tr '\n' ' ')"
        """, ("NS", ns), ("BR", lab.bridge), ("SUB", SUBNET))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "ls: old1 " in out and "old dir gone" in out and "moved" in out, out + p.stderr
    # the bridge's record stays with the bridge, for net gc (bridge-gc.c)
    assert f"after: {lab.bridge}.bridge lock " in out, out
    assert lab.veths() == []


# --------------------------------------------------------------------------
# F13: -P and the image's ExposedPorts


@pytest.fixture
def launch(hk, netlab):
    if not os.access(INIT, os.X_OK):
        pytest.skip(f"{INIT} not built")
    hk.prefix = netlab.enter()
    hk.lab = netlab
    yield Launcher(hk)
    hk.cleanup()
    hk.ids.clear()
    hk.prefix = []
    netlab.assert_clean()


def launch_image(launch, session_env, exposed, *args, cmd=("sleep", "30")):
    hk, lab = launch.hk, launch.hk.lab
    img = Image([(tar_of_dir(session_env.rootfs), "gzip")],
                {"Cmd": list(cmd), "Env": ["PATH=/bin:/usr/bin:/sbin"],
                 "ExposedPorts": {k: {} for k in exposed}})
    src = img.layout(hk.work / f"img{len(os.listdir(hk.work))}")
    env = dict(os.environ, HUSK_NET_DIR=str(lab.dir))
    return launch.call("-d", "--bridge", lab.bridge, "--subnet", SUBNET, *args, "-u", "0", src,
                       net="bridge", env=env)


def ephemeral_range(lab):
    lo, hi = lab.in_ns(lab.host, "cat", "/proc/sys/net/ipv4/ip_local_port_range").stdout.split()
    return int(lo), int(hi)


def test_publish_all_picks_host_ports(launch, session_env):
    """`launch -P` maps each exposed port to a free ephemeral host port, as
    `docker run -P`: the image never chooses the host's ports (22, 53)."""
    lab = launch.hk.lab
    server = ("mkdir -p /www && echo exposed > /www/index.html && "
              "exec httpd -f -p 8080 -h /www")
    r = launch_image(launch, session_env, ["22/tcp", "53/udp", "8080", "8080/tcp"], "-P",
                     cmd=("sh", "-c", server))
    assert r.rc == 0, str(r)
    ports = {p.split(":")[1]: int(p.split(":")[0]) for p in lab.leases()[launch.last]["ports"]}
    assert sorted(ports) == ["22/tcp", "53/udp", "8080/tcp"], ports
    lo, hi = ephemeral_range(lab)
    assert all(lo <= hp <= hi for hp in ports.values()), ports
    lab.wait_get(lab.out, HOST_IP, ports["8080/tcp"], "exposed")


def test_publish_all_keeps_explicit_ports(launch, session_env):
    """-p for an exposed port wins over -P (docker's rule)."""
    lab = launch.hk.lab
    r = launch_image(launch, session_env, ["8080/tcp"], "-P", "-p", "18080:8080")
    assert r.rc == 0, str(r)
    assert lab.leases()[launch.last]["ports"] == ["18080:8080/tcp"]


def refused_launch(launch, r, want):
    lab = launch.hk.lab
    assert r.rc != 0, str(r)
    assert want in r.err, str(r)
    assert launch.hk.status(launch.last) is None
    assert launch.entries() == []
    assert lab.lease_files() == [] and holders(lab) == []


def test_publish_all_caps_the_count(launch, session_env):
    """An image exposing thousands of ports does not take thousands of
    host ports: past 64, -P is refused (publish them with -p)."""
    exposed = [f"{20000 + i}/tcp" for i in range(65)]
    r = launch_image(launch, session_env, exposed, "-P")
    refused_launch(launch, r, "more than 64 exposed ports to publish at random host ports")


@pytest.mark.parametrize("key", ["8080:22/tcp", "80-90"])
def test_publish_all_refuses_host_ports_in_keys(launch, session_env, key):
    """ExposedPorts keys are PORT[/tcp|udp]: a key that names a host port
    or a range is refused, not read as PORT:PORT."""
    r = launch_image(launch, session_env, [key], "-P")
    refused_launch(launch, r, f"exposed port \"{key}\": expected PORT, PORT/tcp or PORT/udp")


@pytest.mark.parametrize("key, message", [
    ("80/sctp", "protocol \"sctp\" is not tcp or udp"),
    ("+80", "expected PORT"),
    (" 80", "expected PORT"),
    ("0", "out of range 1-65535"),
    ("65536", "out of range 1-65535"),
    ("123456", "expected PORT"),
    ("", "expected PORT"),
])
def test_exposed_keys_are_strict(netlab, key, message):
    ns = netlab.new_ns()
    r = netlab.attach("--id", "k", "--netns", f"/run/netns/{ns}", "--publish-exposed", key,
                      check=False)
    assert r.returncode != 0
    assert f"exposed port \"{key}\": {message}" in r.stderr, r.stderr
    assert netlab.lease_files() == []


def test_publish_exposed_limit_and_duplicates(netlab):
    """64 exposed ports publish; the same port twice publishes once."""
    lab = netlab
    ns = lab.new_ns()
    args = [a for i in range(64) for a in ("--publish-exposed", f"{30000 + i}")]
    lab.attach("--id", "many", "--netns", f"/run/netns/{ns}", *args, "--publish-exposed",
               "30000/tcp")
    ports = lab.leases()["many"]["ports"]
    assert len(ports) == 64 and len({p.split(":")[0] for p in ports}) == 64
    detach(lab, "many")
    lab.assert_clean()
