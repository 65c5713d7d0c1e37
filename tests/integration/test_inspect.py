"""husk inspect: every line of the report, and every field of --format json,
checked against what the test reads itself from the host side: /proc/<pid>/
ns, uid_map, gid_map, status, mountinfo, cgroup, the cgroup's files, and the
addresses seen from inside the container's network namespace (nsenter + ip).

The main container shares the network, uts and time namespaces with the
host and has its own pid, mount, ipc, user (0-65535 inside = 100000-165535
outside) and cgroup namespaces, memory, pids and cpu limits, four
capabilities, a seccomp profile and no_new_privs.

"The host" is PID 1's namespaces when /proc/1/ns can be read, else husk's
own (which are this test's: husk is its child)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import HUSK, _cgroup_mounts, wait_for
from test_userns import ALL_CAPS, HOST_ID, MAP_SIZE  # noqa: F401

pytestmark = pytest.mark.husk_only

NS_PROC = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
           "cgroup": "cgroup", "user": "user", "time": "time"}
SHARED = {"network", "uts", "time"}
CAPS = ["CAP_CHOWN", "CAP_SETUID", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
MEM_LIMIT = 64 << 20
SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": 1},
                        {"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


def host_proc():
    try:
        os.stat("/proc/1/ns/mnt")
        return "/proc/1"
    except OSError:
        return "/proc/self"


def ino(proc, ns):
    return os.stat(f"{proc}/ns/{NS_PROC[ns]}").st_ino


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def cap_names(mask_hex):
    mask = int(mask_hex, 16)
    return [ALL_CAPS[i] if i < len(ALL_CAPS) else f"CAP_{i}"
            for i in range(64) if mask >> i & 1]


def cap_last():
    return int(Path("/proc/sys/kernel/cap_last_cap").read_text())


def mountinfo(pid):
    out = []
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        pre, post = line.split(" - ", 1)
        f = pre.split()
        fstype, source, sopts = post.split()[:3]
        unesc = lambda s: s.replace("\\040", " ").replace("\\011", "\t")  # noqa: E731
        out.append({"destination": unesc(f[4]), "root": unesc(f[3]), "options": f[5],
                    "type": fstype, "source": source, "superOptions": sopts})
    return out


def split_mounts(pid):
    """(the container's "/" mount, every other mount) as the kernel lists them."""
    mi = mountinfo(pid)
    root = max(i for i, m in enumerate(mi) if m["destination"] == "/")
    return mi[root], mi[:root] + mi[root + 1:]


def proc_cgroup_dirs(pid):
    """The host directories of pid's cgroup in every hierarchy."""
    dirs = set()
    mounts = _cgroup_mounts()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        want = set(filter(None, ctrls.split(",")))
        for mp, fstype, sopts in mounts:
            if (hid == "0" and fstype == "cgroup2") or (
                    fstype == "cgroup" and want and want <= sopts):
                dirs.add(os.path.join(mp, path.lstrip("/")).rstrip("/"))
    return dirs


def read_int(path):
    return int(Path(path).read_text().split()[0])


def cgroup_facts(paths):
    """(memory usage, memory limit, pids current, pids max, cpu quota, cpu
    period) from the container's cgroup files."""
    if "memory" in paths:  # v1
        m, p, c = paths["memory"], paths["pids"], paths["cpu"]
        return (read_int(f"{m}/memory.usage_in_bytes"), read_int(f"{m}/memory.limit_in_bytes"),
                read_int(f"{p}/pids.current"), read_int(f"{p}/pids.max"),
                read_int(f"{c}/cpu.cfs_quota_us"), read_int(f"{c}/cpu.cfs_period_us"))
    d = paths[""]
    quota, period = Path(f"{d}/cpu.max").read_text().split()
    return (read_int(f"{d}/memory.current"), read_int(f"{d}/memory.max"),
            read_int(f"{d}/pids.current"), read_int(f"{d}/pids.max"), int(quota), int(period))


def size_text(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def inspect(hk, cid, *args, env=None):
    return hk.call("inspect", *args, cid, env=env)


@pytest.fixture
def shared_some(hk, traversable):
    """The main container, running sleep: (id, pid, bundle)."""
    b = hk.bundle(["sleep", "1000"], hostname=None,
                  namespaces=("pid", "mount", "ipc", "user", "cgroup"))
    c = b.config
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}]
    c["linux"]["resources"].update({"memory": {"limit": MEM_LIMIT}, "pids": {"limit": 50},
                                    "cpu": {"quota": 50000, "period": 100000}})
    c["linux"]["seccomp"] = SECCOMP
    c["process"]["capabilities"] = {k: list(CAPS) for k in ("bounding", "effective",
                                                             "permitted")}
    # sysfs and cgroupfs cannot be mounted from a user namespace that does not
    # own the network namespace
    c["mounts"] = [m for m in c["mounts"] if m["type"] not in ("sysfs", "cgroup")]
    b.write()
    traversable(hk.sess.rootfs, b.path)
    cid = hk.run_detached(b)
    return cid, hk.state(cid)["pid"], b


class Lines:
    """The report, consumed a line at a time: every line must be checked."""

    def __init__(self, text):
        self.lines = text.splitlines()
        self.i = 0

    def take(self, label=None):
        assert self.i < len(self.lines), f"report ended early, wanted {label!r}"
        line = self.lines[self.i]
        self.i += 1
        if label is not None:
            assert line[:22].strip() == label, f"line {self.i}: {line!r}, wanted {label!r}"
        return line[22:] if label is not None else line

    def done(self):
        assert self.i == len(self.lines), f"unchecked lines: {self.lines[self.i:]}"


def check_namespaces(rep, pid, host):
    head = rep.take("namespaces").split()
    assert head[0] == "container" and head[1] == "host"
    for ns in NS_PROC:
        cont, hst, *verdict = rep.take(f"{ns}").split()
        assert int(cont) == ino(f"/proc/{pid}", ns), ns
        assert int(hst) == ino(host, ns), ns
        shared = ino(f"/proc/{pid}", ns) == ino(host, ns)
        assert shared == (ns in SHARED), ns
        assert " ".join(verdict) == ("shared with the host" if shared else "isolated"), ns


def check_map(rep, label, text):
    for i, line in enumerate(text.splitlines()):
        inside, outside, count = map(int, line.split())
        want = (f"{inside}-{inside + count - 1} inside = "
                f"{outside}-{outside + count - 1} outside")
        assert rep.take(label if i == 0 else "") == want


def check_cgroup(rep, pid):
    dirs = proc_cgroup_dirs(pid)
    path, version = rep.take("cgroup").rsplit(" ", 1)
    assert path in dirs and ("/memory/" in path or version == "(v2)"), (path, dirs)
    paths = {"memory": path} if version == "(v1)" else {"": path}
    for d in dirs:  # v1: the pids and cpu hierarchies of the same process
        for ctrl in ("pids", "cpu"):
            if version == "(v1)" and d.startswith(f"/sys/fs/cgroup/{ctrl}/"):
                paths[ctrl] = d
    usage, limit, pcur, pmax, quota, period = cgroup_facts(paths)
    mem = rep.take("memory")
    assert mem.endswith(f" used of {size_text(limit)} limit") and limit == MEM_LIMIT, mem
    assert rep.take("pids") == f"{pcur} of {pmax}" and pmax == 50
    assert rep.take("cpu") == f"{quota} us every {period} us ({quota / period:.2f} CPUs)"
    return usage


def check_caps(rep, st):
    for i, (key, name) in enumerate([("CapEff", "effective"), ("CapPrm", "permitted"),
                                     ("CapInh", "inheritable"), ("CapBnd", "bounding"),
                                     ("CapAmb", "ambient")]):
        names, total = cap_names(st[key]), cap_last() + 1
        want = (f"{name}: none" if not names else
                f"{name}: all ({total} of {total})" if len(names) == total else
                f"{name}: {', '.join(names)}  ({len(names)} of {total})")
        assert rep.take("capabilities" if i == 0 else "") == want


def check_mounts(rep, pid, bundle):
    root, others = split_mounts(pid)
    want = f"{bundle.config['root']['path']} ({root['type']} {root['source']}, " \
           f"directory {root['root']})"
    assert rep.take("root filesystem") == want
    for i, m in enumerate(others):
        got = rep.take("mounts" if i == 0 else "").split()
        assert got == [m["destination"], m["type"], m["options"]], (got, m)
    return others


def test_report_matches_proc(hk, shared_some):
    cid, pid, bundle = shared_some
    r = inspect(hk, cid)
    assert r.rc == 0, str(r)
    host = host_proc()
    st = status_fields(pid)
    rep = Lines(r.out)
    assert rep.take() == f"container {cid} (pid {pid}, running)"
    assert rep.take("bundle") == str(bundle.path)
    check_namespaces(rep, pid, host)
    check_map(rep, "user ids", Path(f"/proc/{pid}/uid_map").read_text())
    check_map(rep, "group ids", Path(f"/proc/{pid}/gid_map").read_text())
    check_cgroup(rep, pid)
    check_caps(rep, st)
    assert cap_names(st["CapEff"]) == sorted(CAPS, key=ALL_CAPS.index)
    filters = int(st["Seccomp_filters"])
    assert st["Seccomp"] == "2" and filters >= 1
    assert rep.take("seccomp") == (
        f"filter mode, {filters} filter{'s' if filters > 1 else ''} "
        "(config.json: 2 syscall rules naming 3 syscalls)")
    assert rep.take("no_new_privs") == ("yes" if st["NoNewPrivs"] == "1" else "no")
    assert st["NoNewPrivs"] == "1"
    check_mounts(rep, pid, bundle)
    assert rep.take("network") == "the host's (no network namespace of its own)"
    rep.done()


def test_json_matches_proc(hk, shared_some):
    cid, pid, bundle = shared_some
    r = inspect(hk, cid, "--format", "json")
    assert r.rc == 0, str(r)
    j = json.loads(r.out)
    host = host_proc()
    st = status_fields(pid)
    assert (j["id"], j["pid"], j["status"], j["started"]) == (cid, pid, "running", True)
    assert j["bundle"] == str(bundle.path) and j["host"] == host
    assert [n["type"] for n in j["namespaces"]] == list(NS_PROC)
    for n in j["namespaces"]:
        assert n["container"] == ino(f"/proc/{pid}", n["type"])
        assert n["host"] == ino(host, n["type"])
        assert n["isolated"] == (n["container"] != n["host"]) == (n["type"] not in SHARED)
        # what create recorded, and nobody left it
        assert n["recorded"] is True and "moved" not in n
    for key, f in (("uidMappings", "uid_map"), ("gidMappings", "gid_map")):
        want = [dict(zip(("containerID", "hostID", "size"), map(int, l.split())))
                for l in Path(f"/proc/{pid}/{f}").read_text().splitlines()]
        assert j[key] == want == [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}]
    for key, name in (("CapEff", "effective"), ("CapPrm", "permitted"),
                      ("CapInh", "inheritable"), ("CapBnd", "bounding"),
                      ("CapAmb", "ambient")):
        assert j["capabilities"][name] == cap_names(st[key]), name
    assert j["capabilities"]["known"] == cap_last() + 1
    assert j["seccomp"] == {"mode": "filter", "filters": int(st["Seccomp_filters"]),
                            "configRules": 2, "configSyscalls": 3}
    assert j["noNewPrivileges"] is (st["NoNewPrivs"] == "1")
    cg = j["cgroup"]
    assert set(cg["paths"].values()) <= proc_cgroup_dirs(pid)
    assert cg["version"] == (2 if "" in cg["paths"] else 1)
    usage, limit, pcur, pmax, quota, period = cgroup_facts(cg["paths"])
    assert cg["memory"]["limit"] == limit == MEM_LIMIT
    assert 0 < cg["memory"]["usage"] <= limit and abs(cg["memory"]["usage"] - usage) < 4 << 20
    assert cg["pids"] == {"current": pcur, "limit": pmax}
    assert cg["cpu"] == {"quota": quota, "period": period} == {"quota": 50000,
                                                               "period": 100000}
    root, others = split_mounts(pid)
    assert j["rootfs"] == {"path": bundle.config["root"]["path"], "type": root["type"],
                           "source": root["source"], "root": root["root"]}
    assert j["mounts"] == [{k: m[k] for k in ("destination", "type", "source", "options",
                                              "superOptions")} for m in others]
    assert j["network"] == {"isolated": False, "addresses": []}


def ip_addrs(pid):
    """(interface, address/prefix) in pid's network namespace, from ip."""
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "addr"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return [(l.split()[1], l.split()[3]) for l in out.splitlines()]


def start_time(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_own_network_addresses_and_ports(hk, tmp_path):
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    netdir = tmp_path / "net"
    netdir.mkdir()
    # a record as husk net attach writes it (net/lease.c), for this process
    (netdir / f"{cid}.lease").write_text(
        f"id {cid}\npid {pid}\nstart {start_time(pid)}\nnetns_ino 0\nbridge hkbr0\n"
        "subnet 10.89.0.0/16\naddr 10.89.0.7\nveth hkv0\n"
        "port tcp 0.0.0.0 8080 80\nport udp 127.0.0.1 5353 53\n")
    env = dict(os.environ, HUSK_NET_DIR=str(netdir))
    rep = Lines(inspect(hk, cid, env=env).out)
    while not rep.take().startswith("network"):
        pass
    rep.i -= 1
    addrs = ip_addrs(pid)
    assert addrs and addrs[0] == ("lo", "127.0.0.1/8")
    for i, (ifname, addr) in enumerate(addrs):
        assert rep.take("network" if i == 0 else "").split() == [ifname, addr]
    assert rep.take("husk net") == "bridge hkbr0"
    assert rep.take("published ports") == "8080:80/tcp"
    assert rep.take("") == "127.0.0.1:5353:53/udp"
    rep.done()
    j = json.loads(inspect(hk, cid, "-f", "json", env=env).out)
    assert j["network"]["isolated"] is True
    assert [(a["interface"], f"{a['address']}/{a['prefixLength']}")
            for a in j["network"]["addresses"]] == addrs
    assert j["network"]["ports"] == [
        {"hostIP": "", "hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostIP": "127.0.0.1", "hostPort": 5353, "containerPort": 53, "protocol": "udp"}]
    # a record of another process by that id (a stale one) is not shown
    (netdir / f"{cid}.lease").write_text(
        f"id {cid}\npid {pid}\nstart 1\nnetns_ino 0\nbridge hkbr0\n"
        "subnet 10.89.0.0/16\naddr 10.89.0.7\nveth hkv0\nport tcp 0.0.0.0 8080 80\n")
    j = json.loads(inspect(hk, cid, "-f", "json", env=env).out)
    assert "ports" not in j["network"] and "bridge" not in j["network"]


def test_created_not_started(hk):
    cid = hk.create(hk.bundle(["sleep", "1000"]))
    r = inspect(hk, cid)
    assert r.rc == 0, str(r)
    pid = hk.state(cid)["pid"]
    lines = r.out.splitlines()
    assert lines[0] == f"container {cid} (pid {pid}, created)"
    assert lines[1].startswith("not started yet: the program's capabilities")
    assert json.loads(inspect(hk, cid, "--format=json").out)["started"] is False


def test_stopped(hk):
    b = hk.bundle(["true"])
    cid = hk.run_detached(b)
    hk.wait_status(cid, "stopped")
    r = inspect(hk, cid)
    assert r.rc == 0, str(r)
    rep = Lines(r.out)
    assert rep.take() == f"container {cid} (stopped)"
    assert rep.take().startswith("its process is gone, and its namespaces")
    assert rep.take("bundle") == str(b.path)
    assert rep.take("root filesystem") == b.config["root"]["path"]
    cg = rep.take("cgroup")
    while rep.i < len(rep.lines) and rep.lines[rep.i].startswith("  "):
        rep.take()  # what is left of the cgroup's figures
    assert rep.take("seccomp") == "- (config.json: no seccomp profile)"
    rep.done()
    j = json.loads(inspect(hk, cid, "--format", "json").out)
    assert (j["pid"], j["status"]) == (0, "stopped")
    assert "namespaces" not in j and "capabilities" not in j and "mounts" not in j
    assert cg.split()[0] in j["cgroup"]["paths"].values()


def test_unknown_id_and_bad_format(hk):
    r = hk.call("inspect", "hktest-no-such-container")
    assert r.rc == 1 and r.out == ""
    assert "hktest-no-such-container does not exist" in r.err
    r = hk.call("inspect", "--format", "yaml", "whatever")
    assert r.rc == 1 and r.out == ""
    assert 'inspect: --format must be text or json, not "yaml"' in r.err
    r = hk.call("inspect")
    assert r.rc == 1 and "expected exactly one container id" in r.err
    assert HUSK  # the runtime under test is husk (husk_only)


def test_mount_columns_line_up(hk, tmp_path):
    """A long destination (a tmpfs at 40 characters) widens the column
    for every line instead of pushing its own type and options out of
    line."""
    dst = "/tmp/a-rather-long/destination/path/x"
    b = hk.bundle(["sleep", "1000"])
    # made inside a tmpfs of its own, not in the shared rootfs
    for d in ("/tmp", dst):
        b.config["mounts"].append({"destination": d, "type": "tmpfs", "source": "tmpfs",
                                   "options": ["nosuid"]})
    b.write()
    cid = hk.run_detached(b)
    r = inspect(hk, cid)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("mounts"))
    rows = [lines[start]]
    for l in lines[start + 1:]:
        if not l.startswith(" " * 22):
            break
        rows.append(l)
    assert any(dst in l for l in rows), r.out
    # the type column starts at the same place on every row
    starts = {len(l) - len(l[22:].split(None, 1)[1]) for l in rows}
    assert len(starts) == 1, "\n".join(rows)
    hk.kill(cid, "KILL")
