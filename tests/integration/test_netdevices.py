"""linux.netDevices (config-linux.md): a network interface of the runtime's
network namespace moved into the container's, with an optional new name,
its permanent addresses and up (issue 16, B).

The "host" here is a network namespace the test makes: husk runs in it
(nsenter --net), never in the host's own, and the interface is one end of
a veth pair made inside it (this kernel has no dummy driver). runc 1.3
has netDevices (tests/integration/netdev.bats there); Debian's runc 1.1.5
ignores the field, so these tests are husk_only."""

import contextlib
import re
import secrets
import subprocess

import pytest

from conftest import wait_for

pytestmark = pytest.mark.husk_only


def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check:
        assert p.returncode == 0, f"ip {args}: {p.stderr}"
    return p


@contextlib.contextmanager
def host_netns(hk):
    """A network namespace acting as the host, with a veth pair hkv0/hkv1
    in it (hkv0 with an IPv4 and an IPv6 address, up); husk runs in it."""
    ns = f"hk-nd-{secrets.token_hex(4)}"
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "add", "hkv0", "type", "veth", "peer", "name", "hkv1")
        ip("-n", ns, "addr", "add", "192.0.2.7/24", "dev", "hkv0")
        ip("-n", ns, "addr", "add", "2001:db8::7/64", "dev", "hkv0", "nodad")
        ip("-n", ns, "link", "set", "hkv0", "up")
        hk.prefix = ["nsenter", f"--net=/run/netns/{ns}", "--"]
        yield ns
    finally:
        hk.cleanup()
        hk.prefix = []
        ip("netns", "del", ns, check=False)


def links(ns):
    return re.findall(r"^\d+: ([^:@]+)", ip("-n", ns, "-o", "link", "show").stdout, re.M)


@pytest.mark.parametrize("rename", [False, True], ids=["same-name", "renamed"])
def test_netdevice_moved_in(hk, rename):
    with host_netns(hk) as ns:
        name = "ctr0" if rename else "hkv0"
        b = hk.bundle(["sh", "-c", f"ip -o addr show {name}; ip -o link show {name};"
                                   "exec sleep 1000"])
        b.config["linux"]["netDevices"] = {"hkv0": {"name": "ctr0"} if rename else {}}
        b.write()
        cid = hk.run_detached(b)
        out = b.path / f"{cid}.stdout"
        wait_for(lambda: "link/ether" in out.read_text(), what="the container's report")
        text = out.read_text()
        assert f"inet 192.0.2.7/24 brd 192.0.2.255 scope global {name}" in text, text
        assert "inet6 2001:db8::7/64 scope global" in text, text
        assert re.search(rf"^\d+: {name}@\S+ <[^>]*\bUP\b", text, re.M), text
        # gone from the "host", its peer still there
        assert "hkv0" not in links(ns) and "hkv1" in links(ns), links(ns)
        hk.kill(cid, "KILL")
        hk.wait_status(cid, "stopped")
        hk.delete(cid)
        # a virtual interface goes with the container's network namespace
        wait_for(lambda: "hkv1" not in links(ns), what="the veth pair to go")


def test_netdevice_missing_is_an_error(hk):
    with host_netns(hk):
        b = hk.bundle(["true"])
        b.config["linux"]["netDevices"] = {"nonesuch0": {}}
        b.write()
        r = hk.run_fg(b)
        assert r.rc == 1, str(r)
        assert "linux.netDevices.nonesuch0: no such interface in husk's network namespace" \
            in r.err, r.err


def test_netdevice_name_clash_leaves_it_on_the_host(hk):
    """A name taken in the container (lo): an error, and the interface
    stays where it was (the kernel moves an interface before it renames
    it, so husk checks the names first)."""
    with host_netns(hk) as ns:
        b = hk.bundle(["true"])
        b.config["linux"]["netDevices"] = {"hkv0": {"name": "lo"}}
        b.write()
        r = hk.run_fg(b)
        assert r.rc == 1, str(r)
        assert "linux.netDevices.hkv0: the container has an interface named lo" in r.err, r.err
        assert "hkv0" in links(ns)


@pytest.mark.parametrize("case", ["no-netns", "bad-name", "same-new-name", "own-netns"])
def test_netdevices_refused(hk, case):
    """runc 1.3: "unable to move network devices without a NET namespace";
    interface names as the kernel takes them; two interfaces may not get
    one name; the runtime's own namespace joined by path is no place to
    move them to."""
    with host_netns(hk) as ns:
        b = hk.bundle(["true"])
        c = b.config
        c["linux"]["netDevices"] = {"hkv0": {}}
        if case == "no-netns":
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                        if n["type"] != "network"]
            want = "linux.netDevices: needs a network namespace"
        elif case == "bad-name":
            c["linux"]["netDevices"] = {"hkv0": {"name": "a/b"}}
            want = "linux.netDevices.hkv0.name: \"a/b\" is not a network interface name"
        elif case == "same-new-name":
            c["linux"]["netDevices"] = {"hkv0": {"name": "x0"}, "hkv1": {"name": "x0"}}
            want = "is hkv0's too"
        else:
            for n in c["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = f"/run/netns/{ns}"
            want = "is husk's own"
        b.write()
        r = hk.run_fg(b)
        assert r.rc == 1 and want in r.err, str(r)
        assert "hkv0" in links(ns)
