"""Container networking (husk net): bridge, veth, leases, NAT, published ports.

Everything happens in network namespaces each test makes and removes: one
acts as the host (husk and its hooks run inside it through `nsenter --net`,
so the bridge, forwarding and nft table live there) and one as a machine
outside, linked to the host by a veth on 198.18.0.0/24 (outside the bridge's
subnet). The real host's network is never touched and no packet leaves these
namespaces.

Containers get networking from the OCI hooks, as any runtime would give it:
createRuntime runs `husk net attach`, poststop `husk net detach`.
"""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import HUSK, IS_RUNC, STATE_ROOT, tmpfs, wait_for

pytestmark = pytest.mark.husk_only

HOST_IP = "198.18.0.1"
OUT_IP = "198.18.0.2"
SUBNET = "10.77.0.0/24"
GATEWAY = "10.77.0.1"

# An HTTP GET with a timeout; prints the body (busybox wget crashes here).
HTTP_GET = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
path = sys.argv[3] if len(sys.argv) > 3 else "/"
s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
d = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    d += c
print(d.split(b"\r\n\r\n", 1)[-1].decode().strip())
"""

# Answers each connection with the peer's address, then closes; ends by
# itself after 30 s so a failed test leaves nothing running.
PEER_SERVER = r"""
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(1)
print("ready", flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        c, peer = s.accept()
    except socket.timeout:
        continue
    c.sendall(peer[0].encode() + b"\n")
    c.close()
"""

# What of husk's nft table holds per-container state: the elements of its
# maps (a table that does not exist has none).
NFT_ELEMENTS = r"""
import json, nftables
n = nftables.Nftables()
n.set_json_output(True)
rc, out, err = n.cmd("list table ip husk")
elems = {}
if rc == 0:
    for o in json.loads(out)["nftables"]:
        m = o.get("map") or o.get("set")
        if m:
            elems[m["name"]] = m.get("elem", [])
print(json.dumps(elems))
"""

PY = "/usr/bin/python3"


def plain_ip(text):
    """httpd's REMOTE_ADDR ("[::ffff:10.77.0.2]") as a plain IPv4 address."""
    last = text.strip().splitlines()[-1]
    return last.strip("[]").removeprefix("::ffff:")


def run(*argv, timeout=20, check=True):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert p.returncode == 0, f"{argv}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


class NetLab:
    """The two namespaces, the bridge's name and the net state dir."""

    def __init__(self, work):
        tok = secrets.token_hex(3)
        self.host = f"hk-h-{tok}"
        self.out = f"hk-o-{tok}"
        self.bridge = f"hkb{tok}"
        self.dir = Path(work) / "netstate"
        self.extra_ns = []

    def setup(self):
        run("ip", "netns", "add", self.host)
        run("ip", "netns", "add", self.out)
        for ns in (self.host, self.out):
            run("ip", "-n", ns, "link", "set", "lo", "up")
        # created inside the namespaces: no device ever exists on the host
        run("ip", "-n", self.host, "link", "add", "ext0", "type", "veth",
            "peer", "name", "ext0", "netns", self.out)
        for ns, ip in ((self.host, HOST_IP), (self.out, OUT_IP)):
            run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "ext0")
            run("ip", "-n", ns, "link", "set", "ext0", "up")

    def teardown(self):
        for ns in [self.host, self.out] + self.extra_ns:
            if not Path(f"/run/netns/{ns}").exists():
                continue
            for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
            run("ip", "netns", "del", ns, check=False)

    def new_ns(self):
        ns = f"hk-c-{secrets.token_hex(4)}"
        run("ip", "netns", "add", ns)
        self.extra_ns.append(ns)
        return ns

    def in_ns(self, ns, *argv, **kw):
        return run("ip", "netns", "exec", ns, *argv, **kw)

    def enter(self):
        """argv prefix running a command in the host namespace. Not `ip
        netns exec`: that remounts /sys in a mount namespace of its own,
        which hides the cgroup hierarchies husk creates containers in."""
        return ["nsenter", f"--net=/run/netns/{self.host}", "--"]

    def husk_net(self, *args, check=True, stdin=None):
        argv = self.enter() + [HUSK, "net", *map(str, args)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20, input=stdin)
        if check:
            assert p.returncode == 0, f"{argv}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def attach(self, *args, check=True):
        return self.husk_net("attach", "--state-dir", self.dir, "--bridge", self.bridge,
                             "--subnet", SUBNET, *args, check=check)

    def leases(self):
        r = self.husk_net("ls", "--state-dir", self.dir, "--format", "json")
        return {l["id"]: l for l in json.loads(r.stdout)}

    def lease_files(self):
        if not self.dir.exists():
            return []
        return sorted(f for f in os.listdir(self.dir) if f.endswith(".lease"))

    def veths(self):
        """Host ends of container veths in the host namespace."""
        out = self.in_ns(self.host, "ip", "-o", "link", "show", "type", "veth").stdout
        names = [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]
        return sorted(n for n in names if n != "ext0")

    def nft_elements(self):
        out = self.in_ns(self.host, PY, "-c", NFT_ELEMENTS).stdout
        e = json.loads(out)
        return {k: v for k, v in e.items() if k in ("pub_any", "pub_ip")}

    def has_link(self, name):
        return self.in_ns(self.host, "ip", "link", "show", name, check=False).returncode == 0

    def get(self, ns, ip, port, path="/"):
        return self.in_ns(ns, PY, "-c", HTTP_GET, ip, port, path, check=False)

    def peer_seen(self, ns, ip, port):
        """The source address the container saw for a connection."""
        r = self.get(ns, ip, port, "/cgi-bin/ip")
        assert r.returncode == 0, r.stderr
        return plain_ip(r.stdout)

    def wait_get(self, ns, ip, port, want, timeout=5.0):
        def ok():
            r = self.get(ns, ip, port)
            return r.returncode == 0 and r.stdout.strip() == want
        wait_for(ok, timeout, interval=0.05, what=f"{want} at {ip}:{port} from {ns}")

    def assert_clean(self):
        assert self.lease_files() == [], "lease records left"
        assert self.veths() == [], "veths left in the host namespace"
        assert all(not v for v in self.nft_elements().values()), "nft elements left"


@pytest.fixture
def netlab(session_env):
    if IS_RUNC:
        pytest.skip("husk net is husk's")
    work = tempfile.mkdtemp(prefix="net-", dir=session_env.tmp)
    lab = NetLab(work)
    try:
        lab.setup()
        yield lab
    finally:
        lab.teardown()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def net(netlab, hk):
    """hk running husk inside the host namespace (torn down before netlab)."""
    hk.prefix = netlab.enter()
    hk.lab = netlab
    yield hk
    netlab_clean = hk.cleanup()
    assert not netlab_clean, netlab_clean
    hk.ids.clear()
    netlab.assert_clean()


# /cgi-bin/ip answers with the address the connection came from
CGI_IP = "#!/bin/sh\\necho Content-type: text/plain\\necho\\necho $REMOTE_ADDR\\n"


def server_cmd(name, port=8080):
    """httpd answering / with the container's name."""
    return ["sh", "-c", f"cd /mnt/tmpfs && echo {name} > index.html && mkdir cgi-bin && "
            f"printf '{CGI_IP}' > cgi-bin/ip && chmod +x cgi-bin/ip && "
            f"exec httpd -f -p {port} -h /mnt/tmpfs"]


def net_bundle(hk, args, ports=(), extra_attach=(), annotations=None):
    lab = hk.lab
    b = hk.bundle(list(args), extra_mounts=[tmpfs("/mnt/tmpfs")], annotations=annotations)
    pub = [a for p in ports for a in ("-p", p)]
    b.config["hooks"] = {
        "createRuntime": [{"path": HUSK, "args": [
            "husk", "net", "attach", "--state-dir", str(lab.dir), "--bridge", lab.bridge,
            "--subnet", SUBNET, *pub, *extra_attach]}],
        "poststop": [{"path": HUSK, "args": [
            "husk", "net", "detach", "--state-dir", str(lab.dir)]}],
    }
    b.write()
    return b


def start_server(hk, name, ports=(), **kw):
    cid = hk.run_detached(net_bundle(hk, server_cmd(name), ports, **kw))
    return cid, hk.lab.leases()[cid]["address"]


def exec_nc(hk, cid, ip, port, request=True, path="/"):
    """nc from inside the container: an HTTP GET, or just read."""
    send = f"printf 'GET {path} HTTP/1.0\\r\\n\\r\\n'" if request else "true"
    return hk.call("exec", cid, "sh", "-c", f"{send} | nc -w 3 {ip} {port}")


# --------------------------------------------------------------------------


def test_two_containers_same_port(net):
    lab = net.lab
    c1, ip1 = start_server(net, "one")
    c2, ip2 = start_server(net, "two")
    assert ip1 != ip2
    for ip in (ip1, ip2):
        assert ip.startswith("10.77.0.") and ip != GATEWAY
    # both listen on 8080 in their own namespace; each reaches the other
    lab.wait_get(lab.host, ip1, 8080, "one")
    lab.wait_get(lab.host, ip2, 8080, "two")
    r = exec_nc(net, c1, ip2, 8080)
    assert r.rc == 0 and r.out.rstrip().endswith("two"), str(r)
    r = exec_nc(net, c2, ip1, 8080)
    assert r.rc == 0 and r.out.rstrip().endswith("one"), str(r)
    # straight over the bridge: the other container sees the real source
    r = exec_nc(net, c1, ip2, 8080, path="/cgi-bin/ip")
    assert r.rc == 0 and plain_ip(r.out) == ip1, str(r)
    # inside: eth0 with the lease, a stable MAC, the default route via the bridge
    r = net.ok("exec", c1, "ip", "-o", "addr", "show", "eth0")
    assert f"inet {ip1}/24" in r.out
    r = net.ok("exec", c1, "ip", "link", "show", "eth0")
    a, b, c, d = (int(x) for x in ip1.split("."))
    assert f"link/ether 02:48:{a:02x}:{b:02x}:{c:02x}:{d:02x}" in r.out
    assert f"default via {GATEWAY} dev eth0" in net.ok("exec", c1, "ip", "route").out
    assert lab.in_ns(lab.host, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    # the host ends are on the bridge
    for cid in (c1, c2):
        veth = lab.leases()[cid]["veth"]
        out = lab.in_ns(lab.host, "ip", "-o", "link", "show", veth).stdout
        assert f"master {lab.bridge}" in out


def test_outbound_nat(net):
    lab = net.lab
    srv = subprocess.Popen(["ip", "netns", "exec", lab.out, PY, "-c", PEER_SERVER, OUT_IP, "9000"],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        cid, ip = start_server(net, "c")
        r = exec_nc(net, cid, OUT_IP, 9000, request=False)
        assert r.rc == 0, str(r)
        # the outside machine sees the host namespace's address, not the container's
        assert r.out.strip() == HOST_IP, str(r)
        # and a client in the host namespace itself is not NATed
        r = lab.in_ns(lab.host, "busybox", "nc", "-w", "3", OUT_IP, "9000")
        assert r.stdout.strip() == HOST_IP
    finally:
        srv.kill()
        srv.wait()


def test_published_ports(net):
    lab = net.lab
    c1, ip1 = start_server(net, "one", ports=("18080:8080", "18083:8080/tcp"))
    c2, ip2 = start_server(net, "two", ports=(f"{HOST_IP}:18081:8080",))
    # from the outside machine, through the host's address
    lab.wait_get(lab.out, HOST_IP, 18080, "one")
    lab.wait_get(lab.out, HOST_IP, 18083, "one")
    lab.wait_get(lab.out, HOST_IP, 18081, "two")
    # from the host namespace itself: 127.0.0.1 and its own address
    lab.wait_get(lab.host, "127.0.0.1", 18080, "one")
    lab.wait_get(lab.host, HOST_IP, 18081, "two")
    # the container sees the outside machine as the source (no SNAT on the
    # way in); a connection to 127.0.0.1 arrives from the bridge's address
    assert lab.peer_seen(lab.out, HOST_IP, 18080) == OUT_IP
    assert lab.peer_seen(lab.host, "127.0.0.1", 18080) == GATEWAY
    # 18081 is published on HOST_IP only
    assert lab.get(lab.host, "127.0.0.1", 18081).returncode != 0
    # the same host port for another container: a clear error, nothing made
    b = net_bundle(net, server_cmd("three"), ports=("18080:80",))
    cid, r = net.create(b, None, check=False)
    assert r.rc != 0
    assert "host port 18080/tcp is already published by container " + c1 in r.err, str(r)
    assert sorted(lab.leases()) == sorted([c1, c2])
    assert len(lab.veths()) == 2
    ls = lab.husk_net("ls", "--state-dir", lab.dir).stdout
    assert "18080:8080/tcp,18083:8080/tcp" in ls and f"{HOST_IP}:18081:8080/tcp" in ls


def test_ports_from_annotations(net):
    lab = net.lab
    cid, ip = start_server(net, "ann", annotations={"husk.net.publish": "18090:8080,18091:8080"},
                           extra_attach=("--annotations",))
    lab.wait_get(lab.out, HOST_IP, 18090, "ann")
    lab.wait_get(lab.out, HOST_IP, 18091, "ann")


def test_annotations_read_only_when_asked(net):
    """Without --annotations an image's husk.net.* annotations (podman
    copies an image's into the config) pick nothing: not the host's ports,
    not another bridge (outside attack, second round: F2); with it, 64
    ports at most."""
    lab = net.lab
    cid, ip = start_server(net, "noann", annotations={
        "husk.net.publish": "18092:8080", "husk.net.bridge": "hk-elsewhere0"})
    assert lab.leases()[cid]["bridge"] == lab.bridge
    assert "18092" not in lab.husk_net("ls", "--state-dir", lab.dir).stdout
    many = ",".join(f"{20000 + i}:8080" for i in range(65))
    b = net_bundle(net, server_cmd("many"), annotations={"husk.net.publish": many},
                   extra_attach=("--annotations",))
    cid2 = net.new_id()
    r = net.call("run", "--detach", "--bundle", b.path, cid2)
    assert r.rc != 0 and "more than 64 ports" in r.err, str(r)


def test_delete_leaves_nothing_and_detach_is_idempotent(net):
    lab = net.lab
    cid, ip = start_server(net, "x", ports=("18080:8080", "127.0.0.1:5353:53/udp"))
    elems = lab.nft_elements()
    assert len(elems["pub_any"]) == 1 and len(elems["pub_ip"]) == 1
    veth = lab.leases()[cid]["veth"]
    net.kill(cid, "KILL")
    net.wait_status(cid, "stopped")
    net.delete(cid)
    net.ids.remove(cid)
    lab.assert_clean()
    assert not lab.has_link(veth)
    # detach again (a second poststop, a manual call): nothing to do, no error
    r = lab.husk_net("detach", "--state-dir", lab.dir, "--id", cid)
    assert r.stdout == "" and r.stderr == ""
    state = json.dumps({"ociVersion": "1.2.0", "id": cid, "status": "stopped", "pid": 0,
                        "bundle": "/"})
    lab.husk_net("detach", "--state-dir", lab.dir, stdin=state)
    # the address is free again
    cid2, ip2 = start_server(net, "y")
    assert ip2 == ip


NFT_TABLES = r"""
import nftables
rc, out, err = nftables.Nftables().cmd("list tables")
print(out)
"""


def nft_tables(lab):
    return lab.in_ns(lab.host, PY, "-c", NFT_TABLES).stdout.split()


def test_gc_removes_the_idle_bridge_husk_made(net):
    """Issue 19 point 7: the first attach makes the bridge, husk's
    nftables table and turns forwarding on, and nothing ever removed them.
    `net gc` now removes a bridge husk made once no container uses it, and
    the table once nothing of husk's is left; a bridge husk did not make,
    or one with a device of someone else's on it, stays."""
    lab = net.lab
    cid, _ = start_server(net, "x")
    assert lab.has_link(lab.bridge) and (lab.dir / f"{lab.bridge}.bridge").exists()
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""  # in use
    assert lab.has_link(lab.bridge)
    net.kill(cid, "KILL")
    net.wait_status(cid, "stopped")
    net.delete(cid)
    net.ids.remove(cid)
    assert lab.has_link(lab.bridge)  # detach leaves it, for the next container
    # a device of someone else's on it: kept
    lab.in_ns(lab.host, "ip", "link", "add", "hkother0", "type", "veth", "peer", "name",
              "hkother1")
    lab.in_ns(lab.host, "ip", "link", "set", "hkother0", "master", lab.bridge)
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""
    assert lab.has_link(lab.bridge)
    lab.in_ns(lab.host, "ip", "link", "del", "hkother0")
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    assert r.stdout.splitlines() == [f"removed bridge {lab.bridge}",
                                     "removed nftables table ip husk"], r
    assert not lab.has_link(lab.bridge) and "husk" not in nft_tables(lab)
    assert not (lab.dir / f"{lab.bridge}.bridge").exists()
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""
    # a bridge that was there before (the user's): used, never removed,
    # and so is husk's table, whose sets still name it
    lab.in_ns(lab.host, "ip", "link", "add", lab.bridge, "type", "bridge")
    lab.in_ns(lab.host, "ip", "addr", "add", f"{GATEWAY}/24", "dev", lab.bridge)
    lab.in_ns(lab.host, "ip", "link", "set", lab.bridge, "up")
    cid, _ = start_server(net, "y")
    net.kill(cid, "KILL")
    net.wait_status(cid, "stopped")
    net.delete(cid)
    net.ids.remove(cid)
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    assert r.stdout == "", r
    assert lab.has_link(lab.bridge) and "husk" in nft_tables(lab)


def test_gc_removes_only_the_very_bridge_husk_made(net, tmp_path):
    """Outside attack, F2: gc trusted a record by name: the bridge husk
    made, deleted by hand and replaced by a user's of the same name, went;
    and a gc of another, empty state directory removed the table every
    state directory shares."""
    lab = net.lab
    cid, _ = start_server(net, "x")
    # another state directory with nothing in it: the table is in use
    other = tmp_path / "other-state"
    r = lab.husk_net("gc", "--state-dir", other)
    assert r.stdout == "" and "husk" in nft_tables(lab), r
    net.kill(cid, "KILL")
    net.wait_status(cid, "stopped")
    net.delete(cid)
    net.ids.remove(cid)
    # husk's bridge goes by hand; a user's of that name takes its place
    lab.in_ns(lab.host, "ip", "link", "del", lab.bridge)
    lab.in_ns(lab.host, "ip", "link", "add", lab.bridge, "type", "bridge")
    lab.in_ns(lab.host, "ip", "addr", "add", "192.168.77.1/24", "dev", lab.bridge)
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    assert f"removed bridge {lab.bridge}" not in r.stdout, r
    assert lab.has_link(lab.bridge)
    assert not (lab.dir / f"{lab.bridge}.bridge").exists()


def test_gc_after_sigkill(net):
    lab = net.lab
    cid, ip = start_server(net, "x", ports=("18080:8080",))
    keep, _ = start_server(net, "keep", ports=("18081:8080",))
    pid = net.state(cid)["pid"]
    os.kill(pid, 9)  # the container dies; nobody runs its poststop hook
    net.wait_status(cid, "stopped")
    wait_for(lambda: not lab.leases()[cid]["alive"], 5, what="lease to show gone")
    r = lab.husk_net("gc", "--state-dir", lab.dir)
    assert r.stdout.strip() == f"removed {cid}"
    assert sorted(lab.leases()) == [keep]
    assert len(lab.veths()) == 1
    assert len(lab.nft_elements()["pub_any"]) == 1
    # gc again: nothing to do; the living container is untouched
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""
    lab.wait_get(lab.out, HOST_IP, 18081, "keep")
    # deleting the dead container runs its poststop: nothing left to remove
    net.delete(cid)
    net.ids.remove(cid)


def test_concurrent_attach(net):
    lab = net.lab
    n = 20
    bundles = [net_bundle(net, ["sleep", "60"]) for _ in range(n)]
    ids = [net.new_id() for _ in range(n)]

    def create(i):
        # output to files: the created container inherits them, and a pipe
        # would be held open as long as it lives
        argv = net.prefix + [HUSK, "--root", str(STATE_ROOT), "create", "--bundle",
                             str(bundles[i].path), ids[i]]
        err = bundles[i].path / "create.err"
        with open(err, "wb") as e:
            p = subprocess.run(argv, stdout=e, stderr=e, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, err.read_text()

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(create, range(n)))
    elapsed = time.monotonic() - t0
    for rc, err in results:
        assert rc == 0, err
    leases = lab.leases()
    assert sorted(leases) == sorted(ids)
    addrs = [l["address"] for l in leases.values()]
    assert len(set(addrs)) == n, addrs
    assert len(lab.lease_files()) == n
    assert len(lab.veths()) == n
    print(f"{n} concurrent creates with attach: {elapsed:.2f}s")

    def delete(cid):
        argv = net.prefix + [HUSK, "--root", str(STATE_ROOT), "delete", "--force", cid]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(delete, ids))
    for r in results:
        assert r.returncode == 0, r.stderr
    net.ids.clear()
    lab.assert_clean()


# --------------------------------------------------------------------------
# bad input: a clear error naming the problem, nothing made


@pytest.mark.parametrize("args, message", [
    (["-p", "70000:80"], "host port 70000 is out of range 1-65535"),
    (["-p", "80:0"], "container port 0 is out of range 1-65535"),
    (["-p", "80"], "expected [HOSTIP:]HOSTPORT:CONTAINERPORT"),
    (["-p", "1:2:3:4"], "expected [HOSTIP:]HOSTPORT:CONTAINERPORT"),
    (["-p", "http:80"], "host port \"http\" is not a number"),
    (["-p", "80:80/sctp"], "protocol \"sctp\" is not tcp or udp"),
    (["-p", "1.2.3:80:80"], "host address \"1.2.3\" is not an IPv4 address"),
    (["-p", "80:1", "-p", "80:2"], "the same host port twice"),
    (["--subnet", "10.77.0.1/24"], "host bits are set (did you mean 10.77.0.0/24?)"),
    (["--subnet", "10.77.0.0/31"], "the prefix length must be 8 to 30"),
    (["--subnet", f"{HOST_IP.rsplit('.', 1)[0]}.0/16"],
     "subnet 198.18.0.0/16 overlaps the route 198.18.0.0/24 dev ext0 already present"),
    (["--bridge", "hkb-much-too-long"],
     "bridge name \"hkb-much-too-long\" is 17 characters long; the kernel allows at most 15"),
])
def test_bad_input(netlab, args, message):
    lab = netlab
    ns = lab.new_ns()
    # the last --bridge/--subnet wins over the ones attach() gives
    r = lab.attach("--id", "bad", "--netns", f"/run/netns/{ns}", *args, check=False)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert not lab.has_link(lab.bridge), "bridge made for a refused attach"
    assert lab.lease_files() == []
    assert lab.in_ns(ns, "ip", "-o", "link").stdout.count("\n") == 1  # lo only


def test_exhausted_subnet(netlab):
    lab = netlab
    small = "10.78.0.0/30"  # network, gateway, one container, broadcast
    ns1, ns2 = lab.new_ns(), lab.new_ns()
    lab.attach("--id", "a", "--netns", f"/run/netns/{ns1}", "--subnet", small)
    r = lab.attach("--id", "b", "--netns", f"/run/netns/{ns2}", "--subnet", small, check=False)
    assert r.returncode != 0
    assert "subnet 10.78.0.0/30 is exhausted: all 1 addresses are leased" in r.stderr
    assert lab.lease_files() == ["a.lease"]
    assert lab.in_ns(ns2, "ip", "-o", "link").stdout.count("\n") == 1
    # the bridge keeps its subnet: another one for it is refused
    r = lab.attach("--id", "c", "--netns", f"/run/netns/{ns2}", check=False)
    assert "has subnet 10.78.0.0/30" in r.stderr
    # attached by namespace path: gc sees it alive while the path is there
    assert lab.husk_net("gc", "--state-dir", lab.dir).stdout == ""
    lab.husk_net("detach", "--state-dir", lab.dir, "--id", "a")
    lab.assert_clean()


def test_attach_twice_is_refused(netlab):
    lab = netlab
    ns = lab.new_ns()
    lab.attach("--id", "a", "--netns", f"/run/netns/{ns}")
    r = lab.attach("--id", "a", "--netns", f"/run/netns/{ns}", check=False)
    assert "container a is attached already" in r.stderr
    assert len(lab.veths()) == 1
    lab.husk_net("detach", "--state-dir", lab.dir, "--id", "a")
    lab.assert_clean()


def test_host_namespace_is_refused(netlab):
    """A container sharing the host's network namespace gets nothing: no
    eth0 or default route added to the host."""
    lab = netlab
    r = lab.attach("--id", "a", "--netns", f"/run/netns/{lab.host}", check=False)
    assert r.returncode != 0
    assert "container a shares husk's network namespace" in r.stderr
    assert not lab.has_link(lab.bridge) and not lab.has_link("eth0")
    assert lab.lease_files() == []
    # as a hook, the state on stdin naming a process of the host namespace
    sleeper = subprocess.Popen(["ip", "netns", "exec", lab.host, "sleep", "30"])
    try:
        wait_for(lambda: os.readlink(f"/proc/{sleeper.pid}/ns/net") != os.readlink(
            "/proc/self/ns/net"), 5, what="sleep in the host namespace")
        state = json.dumps({"ociVersion": "1.2.0", "id": "b", "status": "creating",
                            "pid": sleeper.pid, "bundle": "/"})
        r = lab.husk_net("attach", "--state-dir", lab.dir, "--bridge", lab.bridge,
                         check=False, stdin=state)
        assert "container b shares husk's network namespace" in r.stderr, r.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not lab.has_link(lab.bridge) and not lab.has_link("eth0")
    assert lab.lease_files() == []


def test_netns_path_cannot_forge_lease_lines(netlab):
    """--netns goes into the lease record one field per line: a newline in
    it would add lines (a forged "holder PID START" that detach would act
    on)."""
    lab = netlab
    ns = lab.new_ns()
    evil = f"/run/netns/{ns}\nholder 1 1"
    r = lab.attach("--id", "forge", "--netns", evil, check=False)
    assert r.returncode != 0
    assert "control character" in r.stderr, r.stderr
    assert lab.lease_files() == []
