"""cgroup v2 device control on the real kernel: husk's eBPF device program
(src/cgroup/cgroup-v2-devices.c) attached to a cgroup2 directory this test
makes, and a process in that cgroup trying to open and mknod devices.

The helper build/tests/devices_bpf_check (tests/integration/
devices_bpf_check.c) attaches the program for a rule list and prints one
line per attempt; see its head comment. Each test makes its own cgroup
hk-bpf-<random> at the root of the cgroup2 hierarchy and removes it, also
on failure; no other cgroup is touched.
"""

import os
import secrets
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import HUSK

HELPER = Path(HUSK).resolve().parent / "tests" / "devices_bpf_check"

pytestmark = pytest.mark.husk_only

DEVS = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/kmsg")
MODES = ("r", "w", "rw")
NODES = ("c 1:3", "c 1:5", "c 1:8", "c 4:1", "b 7:0")


def cgroup2_root():
    """The mount point of the cgroup2 hierarchy (hybrid: .../unified)."""
    with open("/proc/self/mountinfo", errors="replace") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2" and fields[3] == "/":
                return Path(fields[4])
    return None


@pytest.fixture
def cgroup():
    root = cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    if not HELPER.exists():
        pytest.skip(f"{HELPER} not built (make integration builds it)")
    path = root / f"hk-bpf-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    try:
        yield path
    finally:
        # The helper's child has exited; the bench leaves no subdirectory
        # unless it failed half-way.
        for sub in path.iterdir():
            if sub.is_dir():
                sub.rmdir()
        path.rmdir()


def attempts(cgroup, rules, defaults=False):
    """{"open /dev/null rw": "ok" | "EPERM" | ..., "mknod c 1:3": ...}"""
    with tempfile.TemporaryDirectory(prefix="hk-bpf-") as tmp:
        args = [str(HELPER), "attach", str(cgroup), tmp]
        if defaults:
            args.append("--defaults")
        r = subprocess.run(args + rules, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        what, _, result = line.rpartition(" ")
        out[what] = result
    assert len(out) == len(DEVS) * len(MODES) + len(NODES), r.stdout
    return out


def expect(out, allowed):
    """Every attempt in `allowed` succeeded, every other one got EPERM."""
    want = {}
    for dev in DEVS:
        for mode in MODES:
            key = f"open {dev} {mode}"
            want[key] = "ok" if key in allowed else "EPERM"
    for node in NODES:
        key = f"mknod {node}"
        want[key] = "ok" if key in allowed else "EPERM"
    assert out == want


def opens(dev, *modes):
    return {f"open {dev} {m}" for m in modes}


def test_default_config(cgroup):
    """The OCI default: deny everything, then husk's default list."""
    out = attempts(cgroup, ["deny a *:* rwm"], defaults=True)
    allowed = set()
    for dev in DEVS[:4]:
        allowed |= opens(dev, *MODES)
    allowed |= {f"mknod {n}" for n in NODES}  # c *:* m, b *:* m
    expect(out, allowed)


def test_deny_all_then_allow_some(cgroup):
    out = attempts(cgroup, ["deny a *:* rwm", "allow c 1:3 rw", "allow c 1:5 r",
                            "allow c 1:* m"])
    expect(out, opens("/dev/null", *MODES) | opens("/dev/zero", "r")
           | {"mknod c 1:3", "mknod c 1:5", "mknod c 1:8"})


def test_later_deny_overrides(cgroup):
    out = attempts(cgroup, ["allow a *:* rwm", "deny c 1:8 w", "deny b *:* m",
                            "deny c 1:* rwm", "allow c 1:3 rwm", "allow c 1:5 r",
                            "allow c 1:8 r"])
    expect(out, opens("/dev/null", *MODES) | opens("/dev/zero", "r")
           | opens("/dev/random", "r") | {"mknod c 1:3", "mknod c 4:1"})


def test_bits_from_two_rules(cgroup):
    """rw needs both bits; they may come from different rules."""
    out = attempts(cgroup, ["allow c 1:7 r", "allow c 1:* w", "deny c *:5 w"])
    # full (1:7): r and w from two rules; null, random, kmsg: w only;
    # zero (1:5): its w taken away again
    expect(out, opens("/dev/full", *MODES) | opens("/dev/null", "w")
           | opens("/dev/random", "w") | opens("/dev/kmsg", "w"))


def test_no_rules_denies_everything(cgroup):
    expect(attempts(cgroup, []), set())


def test_verifier_refusal_is_explained(cgroup):
    r = subprocess.run([str(HELPER), "broken", str(cgroup)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"load device program for cgroup {cgroup}: verifier: R0 !read_ok" in r.stdout


def test_load_attach_cost(cgroup):
    r = subprocess.run([str(HELPER), "bench", str(cgroup), "50"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    print(r.stdout.strip())
    median = float(r.stdout.split("load+attach ")[1].split()[0])
    assert median < 20000, r.stdout
