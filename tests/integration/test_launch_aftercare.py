"""husk-launch's after-care (cmd/husk-launch/aftercare.c): launch --rm
returns the program's status before its writable layer's files are
removed, and before its mount namespace is torn down; a process of
launch's own does both afterwards. These tests hold it to what it
promises: the name is free and the state gone when launch returns, the
files go soon after, whoever reads launch's stderr to its end waits for
them, the after-care keeps nothing of launch's but stderr, ends when
launch is killed, and a removal that fails is reported.
"""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HUSK, MARK_ENV, STATE_ROOT, pid_alive, wait_for
from test_launch import launch  # noqa: F401  (a fixture)

pytestmark = pytest.mark.husk_only


def argv(launch, name, *args):
    return [HUSK, "--root", str(STATE_ROOT), "launch", "--name", name, "--data-dir",
            str(launch.data), "--cache-dir", str(launch.cache), "-e", MARK_ENV, "--net", "none",
            *args]


def children_named(pid, comm):
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and name == comm:
            found.append(int(p))
    return found


def fds_of(pid):
    d = f"/proc/{pid}/fd"
    return {int(fd): os.readlink(f"{d}/{fd}") for fd in os.listdir(d)}


def secret_in_memory(pid, needle):
    """True if needle is in one of pid's writable mappings, None if pid is
    gone meanwhile."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read().splitlines()
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for line in maps:
                addr, perms = line.split()[:2]
                if "w" not in perms or "[vvar" in line:
                    continue
                lo, hi = (int(x, 16) for x in addr.split("-"))
                try:
                    mem.seek(lo)
                    if needle in mem.read(hi - lo):
                        return True
                except OSError:
                    continue
    except OSError:
        return None
    return False


def aftercare_of(p, hk, cid):
    """launch p's after-care, once its container cid runs."""
    wait_for(lambda: cid in hk.list_ids() and children_named(p.pid, "husk-aftercare"),
             timeout=20, what="the container and the after-care")
    [care] = children_named(p.pid, "husk-aftercare")
    return care


def test_the_name_is_free_when_launch_returns_and_the_layer_goes_after(launch, hk, rootfs):
    """With stderr a file (the caller does not read it to its end), launch
    returns as soon as the container is deleted: its state is gone, its
    name is free (DATA/<id> is in DATA/.trash already), the next launch of
    the name works, and DATA/.trash is emptied shortly after."""
    cid = hk.new_id()
    launch.ok("--rm", rootfs, "sh", "-c", "mkdir -p /a/b/c && echo x > /a/b/c/f", name=cid)
    assert cid not in hk.list_ids()
    assert not (launch.data / cid).exists()
    r = launch.call("--rm", rootfs, "cat", "/a/b/c/f", name=cid)
    assert r.rc != 0 and "No such file" in r.out + r.err, str(r)  # a fresh layer
    assert launch.settle(), os.listdir(launch.data / ".trash")
    assert launch.entries() == []


def test_a_reader_of_stderr_to_its_end_waits_for_the_removal(launch, hk, rootfs):
    """The after-care keeps launch's stderr: a caller reading it to its end
    (a pipe, as `2>&1 | ...` or subprocess with capture) gets the end only
    once the layer's files are gone."""
    cid = hk.new_id()
    script = "i=0; while [ $i -lt 200 ]; do mkdir -p /t/$i; echo $i > /t/$i/f; i=$((i+1)); done"
    r = subprocess.run(argv(launch, cid, "--rm", str(rootfs), "sh", "-c", script),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == 0, r
    assert not (launch.data / ".trash").exists()
    assert launch.entries() == []


def test_the_aftercare_keeps_nothing_of_launchs_but_stderr(launch, hk, rootfs, tmp_path):
    """While the container runs, the after-care (a child of launch named
    husk-aftercare) has /dev/null for stdin and stdout (a caller reading
    launch's stdout to its end is not kept waiting), launch's stderr, its
    socket and a pidfd of launch; no state directory, lock, layer or mount
    namespace. launch's mount namespace, which the after-care keeps past
    launch's exit so that its teardown is not launch's to wait for, waits
    in the socket until launch is gone: the after-care sleeps until then.
    It is gone once launch is."""
    cid = hk.new_id()
    err = tmp_path / "err"
    with open(err, "wb") as e:
        p = subprocess.Popen(argv(launch, cid, "--rm", str(rootfs), "sleep", "30"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=e)
    try:
        care = aftercare_of(p, hk, cid)
        fds = fds_of(care)
        assert fds[0] == "/dev/null" and fds[1] == "/dev/null", fds
        assert fds[2] == str(err), fds
        rest = sorted(v.split(":")[0] for k, v in fds.items() if k > 2)
        assert rest == ["anon_inode", "socket"], fds
        hk.ok("kill", cid, "KILL")
        out = p.communicate(timeout=20)[0]
        assert p.returncode == 137 and out == b"", (p.returncode, out)
        wait_for(lambda: not pid_alive(care), timeout=10, what="the after-care to end")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert cid not in hk.list_ids()
    assert launch.entries() == []


def test_the_aftercare_ends_when_launch_is_killed(launch, hk, rootfs):
    """A killed launch leaves its container to `delete --force`; the
    after-care must not outlive it (holding launch's mount namespace, with
    the container's overlay, and its stderr)."""
    cid = hk.new_id()
    p = subprocess.Popen(argv(launch, cid, "--rm", str(rootfs), "sleep", "30"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        care = aftercare_of(p, hk, cid)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        wait_for(lambda: not pid_alive(care), timeout=10, what="the after-care to end")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        hk.call("delete", "--force", cid)
    assert cid not in hk.list_ids()
    assert launch.entries() == []


def test_a_removal_that_fails_is_reported_and_finished_by_the_next(launch, hk, rootfs):
    """A file the after-care cannot remove (immutable, set from the host
    while the container runs) is reported on launch's stderr, stays in
    DATA/.trash, and goes with the next cleanup once it can."""
    cid = hk.new_id()
    p = subprocess.Popen(argv(launch, cid, "--rm", str(rootfs), "sh", "-c",
                              "mkdir /keep && echo x > /keep/stuck && sleep 3"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    stuck = launch.data / cid / "upper" / "keep" / "stuck"
    try:
        wait_for(stuck.exists, timeout=20, what=str(stuck))
        subprocess.run(["chattr", "+i", str(stuck)], check=True, timeout=10)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, (out, err)
        assert b"warning" in err and b"writable layer" in err, err
        assert cid not in hk.list_ids() and not (launch.data / cid).exists()
        assert list((launch.data / ".trash").glob("*/upper/keep/stuck"))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for f in [stuck, *(launch.data / ".trash").glob("*/upper/keep/stuck")]:
            subprocess.run(["chattr", "-i", str(f)], capture_output=True, timeout=10)
    launch.ok("--rm", rootfs, "true")
    assert launch.entries() == []


def test_detached_launch_does_not_keep_its_callers_pipes(launch, hk, rootfs):
    """launch -d returns at once, and so does a caller that reads its
    stdout and stderr to their ends: the after-care ends with launch, it
    does not hold launch's stderr (or namespace) for as long as the
    container runs."""
    cid = hk.new_id()
    t0 = time.monotonic()
    r = subprocess.run(argv(launch, cid, "-d", "--rm", str(rootfs), "sleep", "30"),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=25)
    try:
        assert time.monotonic() - t0 < 10
        assert r.returncode == 0 and r.stdout.decode().strip() == cid, r
        assert cid in hk.list_ids()
    finally:
        hk.call("delete", "--force", cid)
    wait_for(lambda: launch.entries() == [], timeout=10, what="DATA emptied")


def test_a_cleanup_finding_an_aftercare_at_work_removes_its_own_layer(launch, hk, rootfs):
    """A container relaunched in a loop, each leaving a big tree, piled up
    after-cares and trash without bound: launch returned at once while the
    removals ran on (outside attack, tenth round, F1). A cleanup that finds
    an emptier at work in DATA/.trash (its lock held: here by the test)
    removes its own layer before launch returns, as launch did before it
    had an after-care; and the after-care is left nothing to do."""
    import fcntl
    trash = Path(launch.data) / ".trash"
    trash.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(trash, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        cid = hk.new_id()
        launch.ok("--rm", rootfs, "sh", "-c", "mkdir -p /a/b && echo x > /a/b/f", name=cid)
        assert cid not in hk.list_ids()
        assert os.listdir(trash) == []
    finally:
        os.close(fd)
    # the empty .trash the sweep left (its lock was held) goes with the next
    launch.ok("--rm", rootfs, "true")
    assert launch.entries() == []


def test_the_aftercare_keeps_no_secret_in_its_command_line(launch, hk, rootfs):
    """The after-care outlives launch's own return when a removal is long:
    launch's arguments, `-e SECRET=...` among them, must not stay in its
    /proc/<pid>/cmdline for anyone on the machine to read (outside attack,
    tenth round, F2; the -d logger and the --rm monitor retitle themselves
    too). While launch runs, the after-care shares launch's memory
    (aftercare.c, clone_care), its command line included, which is
    launch's own for as long as launch runs; once launch has exited, it
    retitles itself before it removes anything. Here the container leaves
    20000 directories, whose removal keeps the after-care alive after
    launch has returned."""
    cid = hk.new_id()
    secret = "s3cr3t-" + cid
    p = subprocess.Popen(argv(launch, cid, "--rm", "-e", f"API_TOKEN={secret}", str(rootfs),
                              "sh", "-c", "mkdir /t && cd /t && seq 20000 | xargs mkdir"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        care = aftercare_of(p, hk, cid)
        assert p.wait(timeout=60) == 0
        seen = []

        def retitled():
            try:
                seen.append(Path(f"/proc/{care}/cmdline").read_bytes())
            except OSError:
                return True  # gone, its work done
            return b"after-care" in seen[-1]
        wait_for(retitled, timeout=20, what="the after-care retitled")
        assert seen, "the after-care had ended before launch returned"
        assert secret.encode() not in seen[-1], seen
        # nor in its memory: it works in a program of its own, not in
        # launch's heap (outside attack, round 14, F3)
        found = secret_in_memory(care, secret.encode())
        assert found is not True, "the secret is in the after-care's memory"
    finally:
        if p.poll() is None:
            hk.call("kill", cid, "KILL")
            p.wait(timeout=20)
    # 20000 directories: on an ext4 mounted -o discard each rmdir waits for
    # its discard, 8-10 s in all on a late-day run here, against settle's 10
    assert launch.settle(timeout=60), os.listdir(launch.data / ".trash")
    assert launch.entries() == []


def test_a_layer_waiting_for_its_aftercare_is_left_to_it(launch, hk, rootfs):
    """The after-care takes what launch hands it once launch has exited.
    Meanwhile the writable layer lay in DATA/.trash unlocked, and another
    launch's after-care, sweeping .trash, removed it while its own caller
    waited (200,000 files: a `launch --rm true` read to its end took 0.9 s:
    outside attack, twelfth round, F1). launch now hands the entry over
    locked. Here the first launch's exit is held back 3 s (strace delays
    its exit_group), a second launch runs and is read to its end, and the
    first's layer is still there for its own after-care, which then removes
    it."""
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/setup.sh test installs it)")
    trash = Path(launch.data) / ".trash"
    slow = hk.new_id()
    first = subprocess.Popen(
        ["strace", "-qq", "-o", "/dev/null", "-e", "trace=exit_group",
         "-e", "inject=exit_group:delay_enter=3000000",
         *argv(launch, slow, "--rm", str(rootfs), "sh", "-c",
               "mkdir -p /big/a /big/b && touch /big/a/1 /big/a/2 /big/b/3")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # LeakSanitizer refuses to run under ptrace (`make asan`)
        env=dict(os.environ, ASAN_OPTIONS=":".join(
            filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))))
    try:
        wait_for(lambda: trash.is_dir() and os.listdir(trash), timeout=20,
                 what="the first layer in DATA/.trash")
        [held] = os.listdir(trash)
        assert first.poll() is None, "launch exited too early for the test"
        second = subprocess.run(argv(launch, hk.new_id(), "--rm", str(rootfs), "true"),
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        assert second.returncode == 0, second
        assert first.poll() is None, "launch exited too early for the test"
        assert os.listdir(trash) == [held]
        assert (trash / held / "upper" / "big" / "a" / "1").exists()
    finally:
        first.wait(timeout=30)
    assert first.returncode == 0
    assert launch.entries() == []


def test_launch_with_stdin_closed_gives_the_program_dev_null(launch, hk, rootfs):
    """With launch's fd 0 closed, /dev/null was opened as 0 and closed
    again, the after-care's socket took fd 0 (and, as 0, was taken for
    "no after-care" when the mount namespace was to be handed over), and
    the program ran with no stdin at all: the first file it opened became
    its stdin (outside attack, twelfth round, F2)."""
    r = subprocess.run(argv(launch, hk.new_id(), "--rm", str(rootfs), "readlink",
                            "/proc/self/fd/0"),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                       preexec_fn=lambda: os.close(0))
    assert r.returncode == 0, r
    assert r.stdout.decode().strip() == "/dev/null", r
    assert launch.entries() == []


@pytest.mark.parametrize("closed", [0, 1])
def test_launch_with_stdio_closed_never_writes_into_the_aftercare(launch, hk, rootfs, closed):
    """With launch's stdout closed, the after-care's socket took fd 1, and
    `-t` copied the container's output into it; the after-care reads
    nothing until launch has exited, so launch blocked there for good,
    holding the layer's lock and the container's name (outside attack,
    twelfth round, second look, F1). The socket is now above fd 2, and
    launch never blocks on it."""
    cid = hk.new_id()
    r = subprocess.run(argv(launch, cid, "--rm", "-t", str(rootfs), "sh", "-c",
                            "yes | head -c 2000000; echo done >&2"),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       preexec_fn=lambda: os.close(closed))
    assert r.returncode == 0, r
    assert cid not in hk.list_ids()
    assert launch.entries() == []


def strace_launch(launch, hk, rootfs, log_name, calls):
    """strace of `launch --rm ROOTFS true` (the calls named), husk-launch
    a static x86-64 build (hk_entry, the shared after-care, the heap)."""
    from test_start_faults import static_x86_64
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/setup.sh test installs it)")
    if not static_x86_64(Path(HUSK).parent / "husk-launch"):
        pytest.skip("husk-launch is no static x86-64 build: the after-care is forked")
    log = hk.work / log_name
    # -s: argv in full, whatever the length of the checkout's path
    hk.prefix = ["strace", "-f", "-qq", "-s", "4096", "-o", str(log), "-e", "trace=" + calls]
    try:
        # the mapping ahead as on a machine where faults are dear
        launch.ok("--rm", rootfs, "true", env=dict(os.environ, HUSK_PREFAULT="1"))
    finally:
        hk.prefix = []
    return log.read_text(errors="replace")


def test_the_aftercare_shares_launchs_memory(launch, hk, rootfs):
    """The after-care is a process that shares launch's memory (clone with
    CLONE_VM, no CLONE_VFORK: launch goes on at once) instead of a fork,
    after which launch took a copy-on-write fault (12-16 us on the
    benchmark's machine) for each page it wrote on its way to the
    container's start, ~50 of them, and copied its page tables
    (bench/README.md, "launch's after-care"). Static x86-64 builds only:
    elsewhere (and under the sanitizers) it is forked."""
    text = strace_launch(launch, hk, rootfs, "strace-launch.log", "clone,clone3,fork,vfork")
    shared = [line for line in text.splitlines()
              if re.search(r"\bclone\(.*flags=CLONE_VM\|SIGCHLD\b", line)]
    assert len(shared) == 1, text[-4000:]
    # and nothing of launch's main process is a fork any more but the container's clone3
    launch_pid = shared[0].split()[0]
    mine = [line for line in text.splitlines() if line.split()[:1] == [launch_pid]]
    assert not any(re.search(r"\b(fork|vfork)\(|flags=SIGCHLD\b", c) for c in mine), text[-4000:]
    assert launch.settle()
    assert launch.entries() == []


def test_launch_maps_its_heap_up_front(launch, hk, rootfs):
    """husk-launch grows its heap to 256 KiB and maps it with one madvise
    before it builds anything (common/prefault.h, hk_prefault_heap):
    launch's ~200 KiB of heap were ~50 page faults of 12-16 us each on
    the benchmark's machine, one at a time; and nothing grows it again
    before the container's clone3."""
    text = strace_launch(launch, hk, rootfs, "strace-heap.log",
                         "brk,madvise,clone3,execve,execveat")
    lines = text.splitlines()
    # from the exec of husk-launch (from its read-only view, or from its
    # path where no overlay can be made) to the container's clone3
    execs = [i for i, line in enumerate(lines)
             if re.search(r"\bexecve(at)?\(.*husk-launch\"", line)]
    assert execs, text[-4000:]
    start = execs[-1]
    pid = lines[start].split()[0]
    mine = [line.split(None, 1)[1] for line in lines[start:] if line.split()[0] == pid]
    end = next(i for i, c in enumerate(mine) if c.startswith("clone3("))
    brks = [int(m.group(1), 16) for c in mine[:end]
            for m in [re.search(r"^brk\(.*\)\s+= (0x[0-9a-f]+)", c)] if m]
    populated = [(int(m.group(1), 16), int(m.group(2))) for c in mine[:end]
                 for m in [re.search(r"^madvise\((0x[0-9a-f]+), (\d+), MADV_POPULATE_WRITE", c)]
                 if m]
    top = brks[-1]
    assert any(a < top <= a + n + 4096 and n >= 256 * 1024 for a, n in populated), text[-4000:]
    # the heap's top when mapped is where it stays until clone3
    i = next(i for i, c in enumerate(mine[:end])
             if re.search(r"madvise\(.*MADV_POPULATE_WRITE", c)
             and any(a < top <= a + n + 4096 for a, n in populated
                     if c.startswith(f"madvise({a:#x}")))
    assert not any(c.startswith("brk(") for c in mine[i:end]), "\n".join(mine[:end])
    assert launch.entries() == []


def test_a_signal_to_the_aftercare_does_not_leave_the_layer(launch, hk, rootfs):
    """The after-care blocks every signal from its start: one sent to it
    while launch runs (TERM, HUP, USR1, a real-time one) used to wait and
    then kill it once launch had handed it the layer, which stayed in
    DATA/.trash (outside attack, round 14, F2). It finishes its work."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGRTMIN + 3):
        cid = hk.new_id()
        p = subprocess.Popen(argv(launch, cid, "--rm", str(rootfs), "sh", "-c",
                                  "mkdir /x && touch /x/f && sleep 1"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            care = aftercare_of(p, hk, cid)
            os.kill(care, sig)
            assert p.wait(timeout=30) == 0
        finally:
            if p.poll() is None:
                hk.call("kill", cid, "KILL")
                p.wait(timeout=20)
        assert launch.settle(), (sig, os.listdir(launch.data / ".trash"))
        assert launch.entries() == []
