"""Outside attack, F4 and F6: a process of husk's whose root is still the
host's, made reachable through /proc/<pid>/root by being dumpable in a user
namespace someone else has privilege over.

A container runs tests/integration/root_probe.c, which looks through every
/proc/<pid>/root for a file that exists only on the host, as fast as it
can, while husk does the work under attack next to it. A hit is a process
whose root is the host's that the container could open: an escape.
"""

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HUSK, REPO, bind, wait_for
from test_launch import Launcher, containers_range, image, subids  # noqa: F401
from test_userns_rootless import (load_config, rootless, rootless_config,  # noqa: F401
                                  save_config)

pytestmark = pytest.mark.husk_only

PROBE = next((p for p in (Path(HUSK).resolve().parent / "tests" / "root_probe",
                          REPO / "build" / "tests" / "root_probe") if p.exists()), None)


SEIZE = next((p for p in (Path(HUSK).resolve().parent / "tests" / "seize_probe",
                          REPO / "build" / "tests" / "seize_probe") if p.exists()), None)


@pytest.fixture
def probe():
    if PROBE is None:
        pytest.skip("build/tests/root_probe not built (make builds it)")
    return PROBE


def _hits(path):
    text = Path(path).read_text() if Path(path).exists() else ""
    return [l for l in text.splitlines() if l.startswith("HIT")]


def test_launch_userns_auto_helpers_out_of_reach(hk, probe, launch_with_range):
    """F4: `launch --userns auto` makes, per layer, a user namespace for an
    idmapped mount in a child that had the host's root and was dumpable: a
    root process of the host's pid namespace with no capability at all
    (the namespace's owner) could open its /proc/<pid>/root."""
    launch, img = launch_with_range
    marker = hk.dir(f"host-only-{secrets.token_hex(3)}")
    (marker / "secret").write_text("host\n")
    ns = ("mount", "network", "uts", "ipc")  # the host's pid namespace
    a = hk.bundle(["/probe", f"{marker}/secret", "60"], namespaces=ns,
                  rootfs=hk.rootfs_copy(), extra_mounts=[bind(probe, "/probe", "rbind", "ro")])
    a.write()
    acid = hk.run_detached(a)
    out = a.path / f"{acid}.stdout"
    try:
        wait_for(lambda: out.exists() and "ready" in out.read_text(), what="the probe")
        for _ in range(6):
            launch.ok("--rm", "--userns", "auto", img, "true", timeout=60)
        time.sleep(0.2)
        assert _hits(out) == [], f"the probe reached the host's root: {_hits(out)}"
    finally:
        hk.call("delete", "--force", acid)


@pytest.fixture
def launch_with_range(hk, containers_range, image, traversable):  # noqa: F811
    launch = Launcher(hk)
    traversable(launch.data)
    return launch, str(image.layout(hk.work / "img"))


def _run_probe_as_user(rootless, bundle, cid, out):  # noqa: F811 (the fixture)
    """`husk run` of bundle by the rootless user, its output to out."""
    p = subprocess.Popen(["runuser", "-u", rootless.name, "--", "env", "-i",
                          f"PATH={os.environ['PATH']}", f"HOME={rootless.home}",
                          f"XDG_RUNTIME_DIR={rootless.xdg}", rootless.runtime, "run",
                          "--bundle", str(bundle), cid],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                         stderr=subprocess.STDOUT)
    return p


def test_rootless_joined_user_and_pid_namespaces(rootless, probe):  # noqa: F811
    """F6: an ordinary user's B, created into the user's container A's
    user and pid namespaces (both by path), was dumpable while it built its
    mounts with the host's root: A's root, with CAP_SYS_PTRACE in its own
    user namespace, opened /proc/<pid>/root and read the user's files."""
    marker = rootless.work / f"user-only-{secrets.token_hex(3)}"
    marker.mkdir()
    (marker / "secret").write_text("user's\n")
    rootless.chown(marker, recursive=True)
    probe_copy = rootless.work / "probe"
    shutil.copy2(probe, probe_copy)
    rootless.chown(probe_copy)

    a = rootless.bundle("a")

    def edit_a(cfg):
        for caps in cfg["process"]["capabilities"].values():
            caps.append("CAP_SYS_PTRACE")
        cfg["mounts"].append(bind(probe_copy, "/probe", "rbind", "ro"))

    rootless_config(a, ["/probe", f"{marker}/secret", "60"], edit=edit_a)
    acid = rootless.new_id()
    out = rootless.work / "a.out"
    p = _run_probe_as_user(rootless, a, acid, out)
    try:
        wait_for(lambda: out.exists() and "ready" in out.read_text(), timeout=10,
                 what="the probe")
        apid = rootless.state(acid)["pid"]
        b = rootless.bundle("b")

        def edit_b(cfg):
            nss = cfg["linux"]["namespaces"]
            for n in nss:
                if n["type"] in ("user", "pid"):
                    n["path"] = f"/proc/{apid}/ns/{n['type']}"
            cfg["linux"].pop("uidMappings", None)
            cfg["linux"].pop("gidMappings", None)
            cfg["hooks"] = {"createRuntime": [{"path": "/usr/bin/sleep", "args": ["sleep", "2"]}]}

        rootless_config(b, ["true"], edit=edit_b)
        r = rootless.call("run", "--bundle", b, rootless.new_id(), timeout=30)
        assert r.rc == 0, str(r)
        assert _hits(out) == [], f"A reached the user's files through B: {_hits(out)}"
    finally:
        rootless.call("delete", "--force", acid)
        p.kill()
        p.wait(10)


def test_rootless_exec_child_cannot_be_seized(rootless):  # noqa: F811
    """Fifth outside attack, F1: an ordinary user's `husk exec` child was
    dumpable while it joined the container (whose root is that user) and
    ran its last steps before the seccomp filter: the container's init
    seized it with ptrace, skipped the filter's load, and the program the
    user exec'd ran unfiltered (6 to 48 of 100 execs). runc 1.1.5: 0."""
    if SEIZE is None:
        pytest.skip("build/tests/seize_probe not built (make builds it)")
    probe_copy = rootless.work / "seize_probe"
    shutil.copy2(SEIZE, probe_copy)
    rootless.chown(probe_copy)
    a = rootless.bundle("seize")

    def edit(cfg):
        cfg["mounts"].append(bind(probe_copy, "/seize", "rbind", "ro"))
        cfg["process"]["noNewPrivileges"] = True
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}

    rootless_config(a, ["/seize", "60"], edit=edit)
    cid = rootless.new_id()
    out = rootless.work / "seize.out"
    p = _run_probe_as_user(rootless, a, cid, out)
    try:
        wait_for(lambda: out.exists() and "ready" in out.read_text(), timeout=10,
                 what="the probe")
        unfiltered = 0
        for _ in range(40):
            r = rootless.call("exec", cid, "sh", "-c", "grep Seccomp: /proc/self/status",
                              timeout=30)
            unfiltered += "Seccomp:\t2" not in r.out
        assert _hits(out) == [], f"the container seized husk's exec child: {_hits(out)}"
        assert unfiltered == 0, f"{unfiltered} of 40 exec'd processes ran without the filter"
    finally:
        rootless.call("delete", "--force", cid)
        p.kill()
        p.wait(10)
