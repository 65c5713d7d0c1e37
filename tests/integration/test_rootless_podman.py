"""Rootless podman with husk as its runtime, and with runc side by side
for the same checks (issue 22): a new user with a subordinate id range,
as a person would set one up, runs podman; podman runs the runtime as
uid 0 of its user namespace (uid_map `0 UID 1`, `1 SUBUID 65536`). On
main no container started: husk took itself for root (state root
/run/husk, cgroups of the host, mknod of /dev/null).

The module makes the user (useradd gives it a range in /etc/subuid and
/etc/subgid, or one is added), its XDG_RUNTIME_DIR (/run/user/UID, made by
root as a login would make it), a podman config (cgroupfs, file events)
and an image imported from the busybox rootfs; at the end it resets the
user's podman storage (`podman system reset -f`), ends whatever still
runs as the user, and removes the user, its lines, its runtime dir and its
home. This host has no slirp4netns, and its podman (4.3) predates pasta
(scripts/setup.sh installs passt for husk launch's own tests): every
container runs with `--network none` (or `host`).
"""

import os
import pwd
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import DEFAULT_PATH, HUSK, SESSION, wait_for
from engines import ensure_packages, on_a_terminal, rootfs_tar, run
from test_userns import MAP_SIZE
from test_userns_rootless import _drop_lines, _free_sub_start, _searchable_by_all, _sub_range

IMAGE = "localhost/hk-bb:1"
RUNC = shutil.which("runc") or "/usr/sbin/runc"
NET = ("--network", "none")


def _uid_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PodmanUser:
    def __init__(self, tmp):
        self.tmp = tmp
        self.name = f"hkp{secrets.token_hex(3)}"
        self.added_lines = []
        self.made_run_user = False
        self.uid = None

    # -- making and removing -------------------------------------------

    def create(self):
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", self.name], check=True,
                       timeout=30, capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, Path(pw.pw_dir)
        for path in ("/etc/subuid", "/etc/subgid"):
            if _sub_range(path, self.name) is None:
                with open(path, "a") as f:
                    f.write(f"{self.name}:{_free_sub_start(path)}:{MAP_SIZE}\n")
        self.subuid = _sub_range("/etc/subuid", self.name)
        run_user = Path("/run/user")
        if not run_user.exists():
            run_user.mkdir(mode=0o755)
            self.made_run_user = True
        self.xdg = run_user / str(self.uid)
        self.xdg.mkdir(mode=0o700)
        os.chown(self.xdg, self.uid, self.gid)
        conf = self.home / ".config" / "containers"
        conf.mkdir(parents=True)
        (conf / "containers.conf").write_text(
            '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(self.home / ".config")],
                       check=True, timeout=10)
        # the runtimes, where the user can run them
        self.husk = HUSK
        if not _searchable_by_all(HUSK):
            bindir = self.tmp / "bin"
            bindir.mkdir()
            self.husk = str(bindir / "husk")
            shutil.copy2(HUSK, self.husk)
        os.chmod(self.tmp, 0o755)

    def processes(self):
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == self.uid]

    def remove(self):
        """Everything create made, and everything the user ran. Returns
        what could not be removed."""
        problems = []
        if self.uid is not None:
            r = self.podman(None, "system", "reset", "-f", timeout=120)
            if r.rc != 0:
                problems.append(f"podman system reset: {r}")
            for pid in self.processes():
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            try:
                wait_for(lambda: not self.processes(), timeout=10,
                         what=f"{self.name}'s processes to end")
            except AssertionError as e:
                problems.append(str(e))
            shutil.rmtree(self.xdg, ignore_errors=True)
            if self.xdg.exists():
                problems.append(f"{self.xdg} left")
        if self.made_run_user:
            try:
                Path("/run/user").rmdir()
            except OSError:
                pass
        subprocess.run(["userdel", "-r", self.name], timeout=30, capture_output=True)
        for path in ("/etc/subuid", "/etc/subgid"):
            _drop_lines(path, self.name)
            if _sub_range(path, self.name) is not None:
                problems.append(f"{path} still has {self.name}")
        try:
            pwd.getpwnam(self.name)
            problems.append(f"userdel {self.name} failed")
        except KeyError:
            pass
        return problems

    # -- running things as the user -------------------------------------

    def env(self):
        return [f"PATH={DEFAULT_PATH[5:]}", f"HOME={self.home}", f"USER={self.name}",
                f"LOGNAME={self.name}", f"XDG_RUNTIME_DIR={self.xdg}"]

    def argv(self, *argv):
        return ["runuser", "-u", self.name, "--", "env", "-i", *self.env(),
                *[str(a) for a in argv]]

    def podman(self, runtime, *args, timeout=60):
        rt = ("--runtime", runtime) if runtime else ()
        return run(self.argv("podman", *rt, *args), timeout=timeout)

    def sh(self, script):
        return run(self.argv("sh", "-c", script), check=True)


@pytest.fixture(scope="module")
def puser():
    ensure_packages("podman", "conmon", "catatonit", "uidmap")
    tmp = Path(tempfile.mkdtemp(prefix=f"hk-rlpodman-{SESSION}-", dir="/tmp"))
    u = PodmanUser(tmp)
    problems = []
    try:
        u.create()
        tar = rootfs_tar(tmp)
        os.chmod(tar, 0o644)
        r = u.podman(None, "import", "--change", 'CMD ["/bin/sh"]', tar, IMAGE, timeout=120)
        assert r.rc == 0, str(r)
        yield u
    finally:
        problems = u.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "rootless podman module left things behind:\n  " + "\n  ".join(problems)


@pytest.fixture(params=["husk", "runc"])
def rt(request, puser):
    """(the runtime's path, its state dir): each check under husk and runc."""
    path = puser.husk if request.param == "husk" else RUNC
    if request.param == "runc" and not os.access(RUNC, os.X_OK):
        pytest.skip("runc is not installed")
    state = puser.xdg / os.path.basename(path)
    yield path
    left = puser.podman(path, "ps", "-aq").out.split()
    if left:
        puser.podman(path, "rm", "-f", "-t", "0", *left)
    assert not left, f"containers left: {left}"
    assert not state.exists() or os.listdir(state) == [], os.listdir(state)


def P(puser, rt, *args, **kw):
    return puser.podman(rt, *args, **kw)


def ok(puser, rt, *args, **kw):
    r = puser.podman(rt, *args, **kw)
    assert r.rc == 0, str(r)
    return r


def test_run_rm(puser, rt):
    r = P(puser, rt, "run", "--rm", *NET, IMAGE, "sh", "-c",
          "echo hello; id -u; cat /proc/self/uid_map; ls -l /dev/null; exit 3")
    assert r.rc == 3, str(r)
    lines = r.out.splitlines()
    assert lines[:2] == ["hello", "0"], str(r)
    assert lines[2].split() == ["0", str(puser.uid), "1"], str(r)
    # the host's node, bound (no mknod in a user namespace)
    assert lines[-1].startswith("crw-rw-rw-") and "1,   3" in lines[-1], str(r)
    assert ok(puser, rt, "ps", "-aq").out.strip() == ""


def test_detached_logs_exec_top_stop(puser, rt):
    name = f"hk-d-{secrets.token_hex(2)}"
    script = 'trap "echo got-term; exit 7" TERM; echo started; while :; do sleep 0.1; done'
    cid = ok(puser, rt, "run", "-d", "--name", name, *NET, IMAGE, "sh", "-c", script).out.strip()
    wait_for(lambda: "started" in P(puser, rt, "logs", name).out, timeout=10,
             what="the container's log")
    r = P(puser, rt, "exec", name, "sh", "-c", "echo in-$(hostname); ps -o pid,comm; exit 5")
    assert r.rc == 5, str(r)
    lines = r.out.splitlines()
    assert lines[0] == f"in-{cid[:12]}", str(r)
    assert ["1", "sh"] in [l.split() for l in lines[1:]], str(r)
    r = ok(puser, rt, "top", name)
    assert "sh -c" in r.out, str(r)
    t0 = time.monotonic()
    ok(puser, rt, "stop", "-t", "10", name)
    assert time.monotonic() - t0 < 8, "SIGTERM should have stopped it at once"
    assert ok(puser, rt, "inspect", "--format", "{{.State.ExitCode}}", name).out.strip() == "7"
    assert "got-term" in ok(puser, rt, "logs", name).out
    ok(puser, rt, "rm", name)


def _on_a_terminal(puser, rt, *args):
    return on_a_terminal(puser.argv("podman", "--runtime", rt, *args),
                         {"PATH": DEFAULT_PATH[5:]}, timeout=60)


def test_run_it(puser, rt):
    rc, out = _on_a_terminal(puser, rt, "run", "--rm", "-it", *NET, IMAGE, "sh", "-c",
                             "tty; [ -t 0 ] && echo stdin-is-a-tty; exit 4")
    assert rc == 4, out
    assert "/dev/pts/0" in out and "stdin-is-a-tty" in out, out


def test_exec_it(puser, rt):
    name = f"hk-t-{secrets.token_hex(2)}"
    ok(puser, rt, "run", "-d", "--name", name, *NET, IMAGE, "sleep", "1000")
    try:
        rc, out = _on_a_terminal(puser, rt, "exec", "-it", name, "sh", "-c",
                                 "tty; [ -t 0 ] && echo stdin-is-a-tty; exit 6")
        assert rc == 6, out
        assert "/dev/pts/" in out and "stdin-is-a-tty" in out, out
    finally:
        ok(puser, rt, "rm", "-f", "-t", "0", name)


def _volume(puser):
    vol = puser.home / f"vol-{secrets.token_hex(2)}"
    puser.sh(f"mkdir {vol} && echo from-the-host > {vol}/host-file")
    return vol


def _owners(vol, *names):
    return {n: (os.stat(vol / n).st_uid, os.stat(vol / n).st_gid) for n in names}


def test_volume_from_home(puser, rt):
    """A directory of the user's home: its files are root's inside (the
    user is uid 0 of podman's namespace); what root makes inside is the
    user's on the host, what uid 1000 makes is the user's subordinate
    uid 1000 (its range's start + 999)."""
    vol = _volume(puser)
    r = ok(puser, rt, "run", "--rm", *NET, "-v", f"{vol}:/data", IMAGE, "sh", "-c",
           "stat -c %u:%g /data/host-file; cat /data/host-file; echo in > /data/by-root;"
           " touch /data/by-1000 && chown 1000:1000 /data/by-1000")
    assert r.out.splitlines() == ["0:0", "from-the-host"], str(r)
    sub = puser.subuid[0] + 999
    assert _owners(vol, "host-file", "by-root", "by-1000") == {
        "host-file": (puser.uid, puser.gid), "by-root": (puser.uid, puser.gid),
        "by-1000": (sub, _sub_range("/etc/subgid", puser.name)[0] + 999)}


def test_keep_id(puser, rt):
    """--userns=keep-id: the container's process is the user itself (a
    user namespace in the spec, inside podman's), and so are the owners of
    a home directory's files, both ways."""
    vol = _volume(puser)
    r = ok(puser, rt, "run", "--rm", *NET, "--userns=keep-id", "-v", f"{vol}:/data", IMAGE,
           "sh", "-c", "id -u; id -g; stat -c %u:%g /data/host-file; touch /data/by-me")
    assert r.out.splitlines() == [str(puser.uid), str(puser.gid),
                                  f"{puser.uid}:{puser.gid}"], str(r)
    assert _owners(vol, "by-me") == {"by-me": (puser.uid, puser.gid)}


def test_read_only(puser, rt):
    r = ok(puser, rt, "run", "--rm", *NET, "--read-only", IMAGE, "sh", "-c",
           "touch /x 2>/dev/null || echo root-ro; touch /tmp/y && echo tmp-rw")
    assert r.out.splitlines() == ["root-ro", "tmp-rw"], str(r)


def test_host_pid_network_and_oom_score_adj(puser, rt):
    """No pid namespace (podman binds the host's /proc, and still sets
    ping_group_range for its network namespace), the host's network, a
    raised oom_score_adj: none needs a procfs of the runtime's own, which
    the kernel refuses it there."""
    r = ok(puser, rt, "run", "--rm", *NET, "--pid", "host", IMAGE, "sh", "-c",
           "cat /proc/sys/net/ipv4/ping_group_range")
    assert r.out.split() == ["0", "0"], str(r)
    r = ok(puser, rt, "run", "--rm", "--network", "host", IMAGE, "sh", "-c",
           "ip -o link | grep -c ': lo:'")
    assert r.out.strip() == "1", str(r)
    r = ok(puser, rt, "run", "--rm", *NET, "--oom-score-adj", "200", IMAGE,
           "cat", "/proc/self/oom_score_adj")
    assert r.out.strip() == "200", str(r)


def test_oom_score_adj_lowered(puser, rt):
    """Lowering needs CAP_SYS_RESOURCE of the host: both runtimes fail."""
    r = P(puser, rt, "run", "--rm", *NET, "--oom-score-adj", "-500", IMAGE, "true")
    assert r.rc != 0, str(r)
    if rt != RUNC:
        assert "process.oomScoreAdj" in r.err and "CAP_SYS_RESOURCE" in r.err, str(r)


def test_twenty_runs_timed(puser):
    """`podman run --rm` 20 times with each runtime, interleaved: every
    one works, and the time per container is printed (-s shows it)."""
    runtimes = {"husk": puser.husk}
    if os.access(RUNC, os.X_OK):
        runtimes["runc"] = RUNC
    times = {k: [] for k in runtimes}
    for _ in range(20):
        for name, path in runtimes.items():
            t0 = time.monotonic()
            r = P(puser, path, "run", "--rm", *NET, IMAGE, "true")
            times[name].append(time.monotonic() - t0)
            assert r.rc == 0, f"{name}: {r}"
    report = ", ".join(f"{k} median {statistics.median(v) * 1000:.0f} ms "
                       f"(mean {statistics.mean(v) * 1000:.0f})" for k, v in times.items())
    print(f"\nrootless podman run --rm, 20 runs each: {report}")
