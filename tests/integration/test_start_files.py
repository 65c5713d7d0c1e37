"""Files the start path has no business opening (bench/README.md, "where
the time goes"). Each open on the way to the container's exec is paid on
every `husk run`; these are ones found there and removed:

* the time zone (/etc/localtime, /usr/share/zoneinfo): the state's
  `created` and the log's times are UTC, computed without the C library's
  time zone loading (common/clock.h); glibc's gmtime_r read and parsed the
  zone file on its first call, 3.8 ms of a launch in the test VM.

Seen with strace(1), following every process husk makes.
"""
import os
import shutil

import pytest

from test_launch import launch  # noqa: F401  (a fixture)

pytestmark = pytest.mark.husk_only  # husk's own start cost; runc is Go

NEVER = ("/etc/localtime", "/usr/share/zoneinfo")
# LeakSanitizer refuses to run under ptrace (`make asan`)
UNDER_PTRACE = dict(os.environ, ASAN_OPTIONS=":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"])))


@pytest.fixture
def traced(hk):
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/setup.sh test installs it)")
    log = hk.work / "strace.log"
    hk.prefix = ["strace", "-f", "-qq", "-o", str(log), "-e", "trace=%file"]
    yield log
    hk.prefix = []


def opened(log, rc):
    text = log.read_text(errors="replace")
    assert rc == 0, text[-4000:]
    assert "execve" in text, "strace saw nothing"
    return [line for line in text.splitlines() if any(n in line for n in NEVER)]


def test_run_reads_no_time_zone(hk, traced):
    b = hk.bundle(["true"])
    r = hk.call("run", "--bundle", b.path, hk.new_id(), env=UNDER_PTRACE)
    assert opened(traced, r.rc) == []


def test_launch_reads_no_time_zone(hk, launch, rootfs, traced):
    r = launch.call("--rm", rootfs, "true", env=UNDER_PTRACE)
    assert opened(traced, r.rc) == []
    assert launch.settle()


def test_run_exchanges_state_json_instead_of_renaming_over_it(hk):
    """state.json is written twice on a create (creating, then created):
    the second is exchanged with the first (renameat2 RENAME_EXCHANGE),
    which is then unlinked. Renamed over it, ext4 (auto_da_alloc) started
    writing the new file out at once, and delete's unlink of it waited for
    that write: 0.25 ms of a `husk run` whose state is on ext4
    (bench/README.md, "The state dir on ext4"). No rename lands on an
    existing state.json, and nothing is left behind."""
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/setup.sh test installs it)")
    log = hk.work / "strace-rename.log"
    hk.prefix = ["strace", "-f", "-qq", "-s", "4096", "-o", str(log),
                 "-e", "trace=rename,renameat,renameat2"]
    try:
        b = hk.bundle(["true"])
        cid = hk.new_id()
        r = hk.call("run", "--bundle", b.path, cid, env=UNDER_PTRACE)
    finally:
        hk.prefix = []
    text = log.read_text(errors="replace")
    assert r.rc == 0, text[-4000:]
    onto = [line for line in text.splitlines() if '"state.json"' in line]
    plain = [line for line in onto if "RENAME_EXCHANGE" not in line]
    swapped = [line for line in onto if "RENAME_EXCHANGE" in line and line.endswith("= 0")]
    assert len(plain) == 1, text[-4000:]  # the first write: nothing there yet
    assert len(swapped) == 1, text[-4000:]
    assert cid not in hk.list_ids()


def test_run_under_a_filter_that_kills_renameat2(hk):
    """A caller's seccomp filter that kills on renameat2 (husk nested in a
    sandbox whose allow-list lacks it): husk runs as it did before it
    exchanged state.json; the first write of a state never tries renameat2,
    and under any filter of the caller's no write does (outside attack,
    round 16, F1: create died of SIGSYS and left a state dir list did not
    show)."""
    from test_start_faults import KILLER
    if KILLER is None:
        pytest.skip("tests/integration/seccomp_kill.c not built (make)")
    b = hk.bundle(["true"])
    cid = hk.new_id()
    hk.prefix = [str(KILLER), "renameat2"]
    try:
        r = hk.call("run", "--bundle", b.path, cid)
        assert r.rc == 0, r.err
        d = hk.bundle(["sleep", "10"])
        cid2 = hk.new_id()
        r = hk.call("create", "--bundle", d.path, cid2)
        assert r.rc == 0, r.err
        r = hk.call("delete", "-f", cid2)
        assert r.rc == 0, r.err
    finally:
        hk.prefix = []
    assert cid not in hk.list_ids() and cid2 not in hk.list_ids()
