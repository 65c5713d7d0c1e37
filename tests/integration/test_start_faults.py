"""Page faults on the start path (bench/README.md, "page faults"). A fault
cost 12-16 us on the PVM guest the benchmarks ran on, and a `husk run` of
`true` took ~150 of them in husk's own processes. Two things map husk's
pages up front instead, one madvise(MADV_POPULATE_*) per segment, where
faults are that dear: hk_entry times the first write to two untouched
pages of the bss and maps nothing ahead when the cheaper took fewer than
16000 TSC cycles (a KVM guest: ~2 us, where mapping all of husk's text
costs more than the faults it saves); HUSK_PREFAULT=1 or =0 decides
instead (the tests of the mapping set =1):

* hk_entry (common/entry.c), the ELF entry point of the static x86-64
  builds of husk and husk-launch: before glibc's start, which faulted in
  ~30 pages one at a time on every exec (husk execs itself once more,
  linux/selfexe.h);
* the container process, first thing after clone3 (common/prefault.h):
  fork copies no page table of a file mapping, and each page shared with
  husk is copied on its first write.

Seen with strace(1), following every process husk makes.
"""
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import HUSK, REPO

pytestmark = pytest.mark.husk_only  # husk's own start cost

# LeakSanitizer refuses to run under ptrace (`make asan`)
UNDER_PTRACE = dict(os.environ, HUSK_PREFAULT="1", ASAN_OPTIONS=":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"])))
NOT_AHEAD = dict(UNDER_PTRACE, HUSK_PREFAULT="0")
DECISION = re.compile(r"prefault: (on|off) \((HUSK_PREFAULT|a first write to a page took "
                      r"(\d+) TSC cycles; dear from (\d+))\)")
POPULATE_READ = r"(MADV_POPULATE_READ|0x16|22)\)"
LINE = re.compile(r"^(\d+)\s+(.*)$")


def static_x86_64(path):
    """A static (no PT_INTERP) x86-64 ELF: the builds hk_entry is linked in."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        machine, = struct.unpack_from("<H", head, 18)
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    interp = any(struct.unpack_from("<I", table, i * phentsize)[0] == 3
                 for i in range(phnum))
    return machine == 62 and not interp


@pytest.fixture
def traced(hk):
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/setup.sh test installs it)")
    log = hk.work / "strace.log"
    hk.prefix = ["strace", "-f", "-qq", "-s", "4096", "-o", str(log),
                 "-e", "trace=madvise,execve,execveat,clone,clone3"]
    yield log
    hk.prefix = []


def by_pid(log, rc):
    text = log.read_text(errors="replace")
    assert rc == 0, text[-4000:]
    calls = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            calls.setdefault(int(m.group(1)), []).append(m.group(2))
    return text, calls


def after_exec(calls, exe_pattern):
    """For each exec matching exe_pattern: the call that followed it."""
    out = []
    for seq in calls.values():
        for i, c in enumerate(seq):
            if re.match(r"execve(at)?\(", c) and re.search(exe_pattern, c) \
                    and "= 0" in c.split(")")[-1]:
                out.append(seq[i + 1] if i + 1 < len(seq) else "(nothing)")
    return out


def assert_populated_before_true(text, calls):
    """The one process that execs `true` mapped its pages before."""
    child = [seq for seq in calls.values()
             if any(re.match(r'execve\("/(usr/)?bin/true"', c) for c in seq)]
    assert len(child) == 1, text[-4000:]
    before = child[0][:next(i for i, c in enumerate(child[0])
                            if c.startswith('execve("/'))]
    assert any(re.search(POPULATE_READ, c) for c in before), \
        f"no MADV_POPULATE_READ before the exec of true:\n{text[-4000:]}"


def test_husk_maps_its_pages_before_glibc_starts(hk, traced):
    if not static_x86_64(HUSK):
        pytest.skip(f"{HUSK} is no static x86-64 build: no hk_entry")
    b = hk.bundle(["true"])
    r = hk.call("run", "--bundle", b.path, hk.new_id(), env=UNDER_PTRACE)
    text, calls = by_pid(traced, r.rc)
    # husk as called, then husk from its read-only view (an fd: execveat)
    first = after_exec(calls, r"husk|execveat")
    assert len(first) >= 2, text[-4000:]
    for call in first:
        assert re.search(r"^madvise\(0x[0-9a-f]+, \d+, " + POPULATE_READ, call), \
            f"first call after an exec of husk: {call}\n{text[-4000:]}"


def test_container_process_maps_its_pages_after_clone(hk, traced):
    b = hk.bundle(["true"])
    r = hk.call("run", "--bundle", b.path, hk.new_id(), env=UNDER_PTRACE)
    assert_populated_before_true(*by_pid(traced, r.rc))


def test_exec_process_maps_its_pages_after_clone(hk, traced):
    b = hk.bundle(["sleep", "1000"])
    hk.prefix = []  # the container untraced: only the exec is looked at
    cid = hk.run_detached(b)
    try:
        hk.prefix = ["strace", "-f", "-qq", "-s", "4096", "-o", str(traced),
                     "-e", "trace=madvise,execve,execveat,clone,clone3"]
        r = hk.call("exec", cid, "true", env=UNDER_PTRACE)
        hk.prefix = []
        assert_populated_before_true(*by_pid(traced, r.rc))
    finally:
        hk.prefix = []
        hk.call("delete", "-f", cid)


KILLER = next((p for p in (Path(HUSK).resolve().parent / "tests" / "seccomp_kill",
                           REPO / "build" / "tests" / "seccomp_kill") if p.exists()), None)


def test_no_hint_under_a_filter_that_kills_madvise(hk):
    """A caller's seccomp filter that kills on madvise (husk nested in a
    sandbox): husk runs as it did before it mapped its pages up front; the
    hints are skipped under any filter (outside attack, round 13)."""
    if KILLER is None:
        pytest.skip("tests/integration/seccomp_kill.c not built (make)")
    r = subprocess.run([str(KILLER), "madvise", HUSK, "--version"],
                       capture_output=True, text=True, timeout=30, env=UNDER_PTRACE)
    assert r.returncode == 0 and "husk version" in r.stdout, (r.returncode, r.stderr)
    b = hk.bundle(["true"])
    hk.prefix = [str(KILLER), "madvise"]
    try:
        r = hk.call("run", "--bundle", b.path, hk.new_id(), env=UNDER_PTRACE)
    finally:
        hk.prefix = []
    assert r.rc == 0, r.err


def test_nothing_is_mapped_ahead_with_husk_prefault_0(hk, traced):
    """HUSK_PREFAULT=0: no madvise in any of husk's processes (husk, its
    second exec, the container process), and the container runs."""
    if not static_x86_64(HUSK):
        pytest.skip(f"{HUSK} is no static x86-64 build: no hk_entry")
    b = hk.bundle(["true"])
    r = hk.call("run", "--bundle", b.path, hk.new_id(), env=NOT_AHEAD)
    text, calls = by_pid(traced, r.rc)
    assert not [c for seq in calls.values() for c in seq if c.startswith("madvise(")], text
    assert any(re.match(r'execve\("/(usr/)?bin/true"', c) for seq in calls.values()
               for c in seq), text


def test_the_machine_decides_when_nothing_says(hk, traced):
    """Without HUSK_PREFAULT, --debug says what hk_entry measured and what
    it decided, and what husk then does agrees: pages mapped ahead where a
    first write took 16000 cycles or more, none where it took fewer."""
    if not static_x86_64(HUSK):
        pytest.skip(f"{HUSK} is no static x86-64 build: no hk_entry")
    env = {k: v for k, v in UNDER_PTRACE.items() if k != "HUSK_PREFAULT"}
    b = hk.bundle(["true"])
    r = hk.call("--debug", "run", "--bundle", b.path, hk.new_id(), env=env)
    text, calls = by_pid(traced, r.rc)
    said = DECISION.findall(r.err)
    assert said, r.err
    # every exec of husk decides for itself, by the same rule
    for on, _, took, dear in said:
        assert took and (int(took) >= int(dear)) == (on == "on"), said
    madvised = [c for seq in calls.values() for c in seq if c.startswith("madvise(")]
    if all(on == "off" for on, *_ in said):
        assert not madvised, text
    elif all(on == "on" for on, *_ in said):
        assert madvised, text
