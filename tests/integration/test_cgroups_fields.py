"""cgroups: every field of linux.resources read back from its file, on
cgroup v1 and v2, and events --stats side by side with runc (the rest of
the cgroup tests: test_cgroups.py, test_cgroups_paths.py)."""

import json
import os
import subprocess

import pytest

from conftest import (assert_nothing_left, CMD_TIMEOUT, IS_RUNC, Result, wait_for)
from cghelpers import (CG, MiB, RUNC, V2, WAIT, _assert_refused, _bundle, _known, _read,
                       _weight_file, _weight_in, _weight_value, cpu_usage_ns, have, v2_only)


# --------------------------------------------------------------------------
# 7. every field, read back from its file

def _block_dev():
    """major:minor of a real disk (not loop, ram or zram), or None."""
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram", "dm-", "md")):
            continue
        dev = _read(f"/sys/block/{name}/dev")
        if dev:
            return tuple(map(int, dev.split(":")))
    return None


DEV = _block_dev()
ERR = "error"  # the expectation of a field the version does not have

# (id, resources, [(controller, v1 file, v1 value, v2 file, v2 value)])
# A value of None: that side is skipped; ERR: create is refused, naming the
# field.  Values compare as stripped strings.
FIELDS = [
    ("memory.limit", {"memory": {"limit": 64 * MiB}},
     [("memory", "memory.limit_in_bytes", str(64 * MiB), "memory.max", str(64 * MiB))]),
    ("memory.reservation", {"memory": {"reservation": 32 * MiB}},
     [("memory", "memory.soft_limit_in_bytes", str(32 * MiB), "memory.low", str(32 * MiB))]),
    ("memory.swap", {"memory": {"limit": 64 * MiB, "swap": 96 * MiB}},
     [("memory", "memory.memsw.limit_in_bytes", str(96 * MiB), "memory.swap.max",
       str(32 * MiB))]),
    ("memory.swap-unlimited", {"memory": {"limit": 64 * MiB, "swap": -1}},
     [("memory", "memory.memsw.limit_in_bytes", "9223372036854771712", "memory.swap.max",
       "max")]),
    ("memory.swappiness", {"memory": {"swappiness": 10}},
     [("memory", "memory.swappiness", "10", None, ERR)]),
    ("memory.disableOOMKiller", {"memory": {"disableOOMKiller": True}},
     [("memory", "memory.oom_control", "oom_kill_disable 1", None, ERR)]),
    pytest.param("memory.kernelTCP", {"memory": {"kernelTCP": 16 * MiB}},
                 [("memory", "memory.kmem.tcp.limit_in_bytes", str(16 * MiB), None, ERR)],
                 marks=pytest.mark.husk_only, id="memory.kernelTCP"),  # runc 1.1 ignores it
    ("cpu.shares", {"cpu": {"shares": 512}},
     [("cpu", "cpu.shares", "512", "cpu.weight", str(1 + (512 - 2) * 9999 // 262142))]),
    ("cpu.shares-max", {"cpu": {"shares": 262144}},
     [("cpu", "cpu.shares", "262144", "cpu.weight", "10000")]),
    ("cpu.quota+period", {"cpu": {"quota": 20000, "period": 50000}},
     [("cpu", "cpu.cfs_quota_us", "20000", "cpu.max", "20000 50000"),
      ("cpu", "cpu.cfs_period_us", "50000", None, None)]),
    ("cpu.quota-unlimited", {"cpu": {"quota": -1, "period": 100000}},
     [("cpu", "cpu.cfs_quota_us", "-1", "cpu.max", "max 100000")]),
    ("cpu.realtime", {"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000}},
     [("cpu", "cpu.rt_period_us", "1000000", None, ERR),
      ("cpu", "cpu.rt_runtime_us", "10000", None, None)]),
    pytest.param("cpu.burst", {"cpu": {"quota": 20000, "period": 100000, "burst": 10000}},
                 [("cpu", "cpu.cfs_burst_us", "10000", "cpu.max.burst", "10000")],
                 marks=pytest.mark.husk_only, id="cpu.burst"),  # runc 1.1 has no burst
    ("cpu.cpus", {"cpu": {"cpus": "0"}},
     [("cpuset", "cpuset.cpus", "0", "cpuset.cpus", "0")]),
    ("cpu.mems", {"cpu": {"mems": "0"}},
     [("cpuset", "cpuset.mems", "0", "cpuset.mems", "0")]),
    ("pids.limit", {"pids": {"limit": 42}},
     [("pids", "pids.max", "42", "pids.max", "42")]),
    ("pids.limit-unlimited", {"pids": {"limit": -1}},
     [("pids", "pids.max", "max", "pids.max", "max")]),
    ("blockIO.weight", {"blockIO": {"weight": 300}},
     [("blkio", "WEIGHT", "300", "WEIGHT", "300")]),
]
WEIGHT_FILES = ("blkio.weight", "blkio.bfq.weight", "io.weight", "io.bfq.weight")
if DEV:
    _maj, _min = DEV
    _d = f"{_maj}:{_min}"
    FIELDS += [
        ("blockIO.throttleReadBpsDevice",
         {"blockIO": {"throttleReadBpsDevice": [{"major": _maj, "minor": _min,
                                                 "rate": 1048576}]}},
         [("blkio", "blkio.throttle.read_bps_device", f"{_d} 1048576", "io.max",
           f"{_d} rbps=1048576 wbps=max riops=max wiops=max")]),
        ("blockIO.throttleWriteBpsDevice",
         {"blockIO": {"throttleWriteBpsDevice": [{"major": _maj, "minor": _min,
                                                  "rate": 2097152}]}},
         [("blkio", "blkio.throttle.write_bps_device", f"{_d} 2097152", "io.max",
           f"{_d} rbps=max wbps=2097152 riops=max wiops=max")]),
        ("blockIO.throttleReadIOPSDevice",
         {"blockIO": {"throttleReadIOPSDevice": [{"major": _maj, "minor": _min,
                                                  "rate": 100}]}},
         [("blkio", "blkio.throttle.read_iops_device", f"{_d} 100", "io.max",
           f"{_d} rbps=max wbps=max riops=100 wiops=max")]),
        ("blockIO.throttleWriteIOPSDevice",
         {"blockIO": {"throttleWriteIOPSDevice": [{"major": _maj, "minor": _min,
                                                   "rate": 200}]}},
         [("blkio", "blkio.throttle.write_iops_device", f"{_d} 200", "io.max",
           f"{_d} rbps=max wbps=max riops=max wiops=200")]),
    ]
else:
    FIELDS.append(pytest.param("blockIO.throttle", {}, [],
                               marks=pytest.mark.skip(reason="no real block device in /sys/block"),
                               id="blockIO.throttle"))


def _ids(fields):
    return [f.id if hasattr(f, "id") else f[0] for f in fields]


@pytest.mark.parametrize("name,resources,files", FIELDS, ids=_ids(FIELDS))
def test_resource_field_lands_in_its_file(hk, name, resources, files):
    for ctrl, _f1, _v1, _f2, _v2 in files:
        want = ctrl if not V2 else {"blkio": "io"}.get(ctrl, ctrl)
        if not have(want):
            pytest.skip(f"no {want} controller on this host")
    refused = V2 and any(v2 == ERR for *_, v2 in files)
    if refused and IS_RUNC:
        pytest.skip("what runc does with a v1-only field on v2 is its own business")
    b = _bundle(hk, ["true"], resources=resources)
    cid, r = hk.create(b, None, check=False)
    if refused:
        assert r.rc != 0, str(r)
        if not IS_RUNC:
            _assert_refused(r, "linux.resources." + name.split("-")[0].split("+")[0],
                            "no cgroup v2 equivalent")
        assert_nothing_left(hk, cid)
        return
    if r.rc != 0 and not IS_RUNC:
        # a file this kernel does not have (no swap accounting, no
        # CONFIG_RT_GROUP_SCHED, no cfs burst): husk names it
        # (WEIGHT: whichever weight file the host's block scheduler has,
        # none without BFQ on v1)
        for ctrl, f1, _v1, f2, _v2 in files:
            f = f2 if V2 else f1
            names = WEIGHT_FILES if f == "WEIGHT" else (f,)
            missing = [n for n in names if f"has no {n} " in r.err]
            if missing:
                assert_nothing_left(hk, cid)
                pytest.skip(f"this kernel has no {missing[0]}")
    assert r.rc == 0, str(r)
    cg = CG.of(hk.state(cid)["pid"])
    for ctrl, f1, v1, f2, v2 in files:
        fname, want = (f2, v2) if V2 else (f1, v1)
        if fname is None:
            continue
        if fname == "WEIGHT":
            wf = _weight_file(cg)
            if wf is None:
                pytest.skip("no blkio / io weight file on this host")
            got = _weight_value(wf)
            assert got == _weight_in(wf, int(want)), (wf, got)
            continue
        p = cg.file("io" if V2 and ctrl == "blkio" else ctrl, fname, fname)
        if not p.exists():
            pytest.skip(f"{p.name} does not exist on this host")
        text = p.read_text()
        if fname in ("memory.oom_control", "io.max"):
            assert want in text.splitlines(), (p, text)
        else:
            assert text.strip() == want, (p, text)


def test_devices_field_lands_in_devices_list(hk):
    if V2:
        pytest.skip("v2 device rules are an eBPF program: see the behaviour tests")
    b = _bundle(hk, ["true"], resources={"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "b", "major": 7, "minor": 0, "access": "r"}]})
    cid = hk.create(b)
    rules = CG.of(hk.state(cid)["pid"]).read("devices", "devices.list").splitlines()
    assert "b 7:0 r" in rules and "a *:* rwm" not in rules, rules


def test_resources_without_a_mounted_controller_are_refused(hk):
    """hugepageLimits / network / rdma where their controller is not mounted:
    create fails (as runc's does) and leaves nothing."""
    cases = []
    if not have("hugetlb"):
        cases.append(("hugepageLimits", {"hugepageLimits": [{"pageSize": "2MB",
                                                             "limit": 4 * MiB}]}))
    if not V2 and not have("net_cls"):
        cases.append(("network.classID", {"network": {"classID": 0x100001}}))
    if not cases:
        pytest.skip("hugetlb and net_cls are both there")
    for field, res in cases:
        b = _bundle(hk, ["true"], resources=res)
        cid, r = hk.create(b, None, check=False)
        assert r.rc != 0, str(r)
        if not IS_RUNC:
            _assert_refused(r, field)
        assert_nothing_left(hk, cid)


@v2_only
def test_unified_values_land_in_their_files(hk):
    b = _bundle(hk, ["true"], resources={"unified": {"memory.high": str(48 * MiB),
                                                     "pids.max": "33"}})
    cid = hk.create(b)
    cg = CG.of(hk.state(cid)["pid"])
    assert cg.read("", "", "memory.high") == str(48 * MiB)
    assert cg.read("", "", "pids.max") == "33"


# --------------------------------------------------------------------------
# 10. events --stats, side by side with runc

def _key_paths(d, prefix=""):
    """{dotted path: value} of every key in nested dicts (lists are leaves)."""
    res = {}
    for k, v in d.items():
        res[prefix + k] = v
        if isinstance(v, dict):
            res.update(_key_paths(v, prefix + k + "."))
    return res


def _nonzero(v):
    if isinstance(v, dict):
        return any(_nonzero(x) for x in v.values())
    if isinstance(v, list):
        return any(_nonzero(x) for x in v)
    return bool(v)


class Runc:
    """runc with a private root, for side-by-side runs."""

    def __init__(self, hk):
        self.root = hk.work / "runc-root"
        self.hk = hk
        self.ids = []

    def call(self, *args):
        argv = [RUNC, "--root", str(self.root), *map(str, args)]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=CMD_TIMEOUT)
        return Result(argv, p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"))

    def run_detached(self, bundle, cid):
        self.ids.append(cid)
        argv = [RUNC, "--root", str(self.root), "run", "--detach", "--bundle", str(bundle.path),
                cid]
        with open(bundle.path / "runc.out", "wb") as o:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=o,
                               timeout=CMD_TIMEOUT)
        assert p.returncode == 0, (bundle.path / "runc.out").read_text()

    def cleanup(self):
        for cid in self.ids:
            self.call("delete", "--force", cid)


@pytest.fixture
def runc(hk):
    if not RUNC:
        pytest.skip("runc is not installed")
    r = Runc(hk)
    yield r
    r.cleanup()


STATS_RES = {"memory": {"limit": 48 * MiB}, "pids": {"limit": 30},
             "cpu": {"quota": 50000, "period": 100000}}
# keys whose presence depends on values being non-zero (Go's omitempty) or
# on the moment: left out of the comparison
VOLATILE = ("cpu.throttling.", "memory.cache", "blkio.")
# husk's keys runc 1.1 does not print: on v2 the peaks (memory.peak,
# memory.swap.peak), which runc 1.1 does not read
HUSK_EXTRA = {"memory.usage.max", "memory.swap.max"} if V2 else set()


def _stats_pair(hk, runc):
    """events --stats of the runtime under test and of runc, for the same
    config, each container having done the same work."""
    got = []
    for who in ("hk", "runc"):
        b = _bundle(hk, ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
                         "exec sleep 1000"], resources=STATS_RES)
        cid = hk.new_id()
        if who == "hk":
            hk.run_detached(b, cid)
            state = hk.state(cid)
        else:
            runc.run_detached(b, cid)
            state = json.loads(runc.call("state", cid).out)
        wait_for(lambda: _read(f"/proc/{state['pid']}/comm") == "sleep", timeout=WAIT,
                 what=f"{who} container to sleep")
        r = hk.ok("events", "--stats", cid) if who == "hk" else runc.call("events", "--stats",
                                                                           cid)
        assert r.rc == 0, str(r)
        lines = r.out.splitlines()
        assert len(lines) == 1, r.out
        got.append((cid, json.loads(lines[0])))
    return got


def test_events_stats_matches_runc(hk, runc):
    (hid, h), (rid, rc) = _stats_pair(hk, runc)
    assert h["type"] == "stats" and h["id"] == hid
    assert set(h) == set(rc) == {"type", "id", "data"}
    hd, rd = h["data"], rc["data"]
    for sec in ("cpu", "memory", "pids", "blkio", "hugetlb"):
        assert sec in hd, (sec, sorted(hd))
        hk_keys = {k for k in _key_paths(hd[sec], sec + ".") if not k.startswith(VOLATILE)}
        rc_all = {k: v for k, v in _key_paths(rd[sec], sec + ".").items()
                  if not k.startswith(VOLATILE)}
        # runc prints Go structs it had nothing for as zeros (v2:
        # memory.kernel, memory.kernelTCP); what it has values for, husk
        # must have too, and nothing runc would not print
        missing = {k for k, v in rc_all.items() if _nonzero(v)} - hk_keys
        extra = hk_keys - set(rc_all) - HUSK_EXTRA
        assert not missing and not extra, (sec, "missing", sorted(missing),
                                           "extra", sorted(extra),
                                           "runc's zeros husk leaves out",
                                           sorted(set(rc_all) - hk_keys))
    # the values the config sets are the same; usage is plausible
    assert hd["memory"]["usage"]["limit"] == rd["memory"]["usage"]["limit"] == 48 * MiB
    assert hd["pids"] == rd["pids"] == {"current": 1, "limit": 30}
    assert 0 < hd["memory"]["usage"]["usage"] <= 48 * MiB
    assert hd["cpu"]["usage"]["total"] > 0
    if "percpu" in rd["cpu"]["usage"]:  # v1's cpuacct.usage_percpu; v2 has none
        percpu = hd["cpu"]["usage"]["percpu"]
        assert len(percpu) == len(rd["cpu"]["usage"]["percpu"])
        assert sum(percpu) == pytest.approx(hd["cpu"]["usage"]["total"], rel=0.05)


def test_events_stats_sections_match_runc(hk, runc, request):
    """The data sections themselves (runc adds intel_rdt and
    network_interfaces, which husk has nothing to put in)."""
    _known(request, "C2")
    (hid, h), (rid, rc) = _stats_pair(hk, runc)
    want = set(rc["data"]) - {"intel_rdt", "network_interfaces"}
    assert set(h["data"]) >= want, sorted(want - set(h["data"]))


def test_events_stats_values_from_the_cgroup(hk):
    b = _bundle(hk, ["sh", "-c", "sleep 1000 & exec sleep 1000"],
                resources={"memory": {"limit": 40 * MiB}, "pids": {"limit": 12}})
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    cg = CG.of(pid)
    wait_for(lambda: _read(f"/proc/{pid}/comm") == "sleep" and
             cg.read("pids", "pids.current") == "2", timeout=WAIT, what="two sleeps")
    r = hk.ok("events", "--stats", cid)
    d = json.loads(r.out)["data"]
    assert d["pids"] == {"current": 2, "limit": 12}
    assert d["memory"]["usage"]["limit"] == 40 * MiB
    usage = int(cg.read("memory", "memory.usage_in_bytes", "memory.current"))
    assert d["memory"]["usage"]["usage"] == pytest.approx(usage, rel=0.5)
    assert d["cpu"]["usage"]["total"] <= cpu_usage_ns(cg)


@pytest.mark.husk_only
def test_events_errors(hk):
    _assert_refused(hk.call("events", "--stats", hk.new_id()))
    b = _bundle(hk, ["true"])
    cid = hk.create(b)
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    _assert_refused(hk.call("events", "--stats", cid), "stopped")
    _assert_refused(hk.call("events", "--interval", "fast", cid), "--interval")


def test_large_config_under_a_tight_memory_limit(hk):
    """A 1.2 MB config.json (100k annotations) and a 32 MiB memory limit:
    the container starts, as under runc. husk's container process maps its
    pages up front (common/prefault.h); mapping its whole heap, which grows
    with the config, copied ~36 MB into the container's memory cgroup on v2
    (born in it) and the container was killed (outside attack, round 13)."""
    b = _bundle(hk, ["true"], resources={"memory": {"limit": 32 * MiB}})
    b.config["annotations"] = {"%x" % i: "" for i in range(100000)}
    b.write()
    # pages mapped ahead whatever this machine's faults cost
    r = hk.call("run", "--bundle", b.path, hk.new_id(), timeout=120,
                env=dict(os.environ, HUSK_PREFAULT="1"))
    assert r.rc == 0, r.err
