"""husk exec and husk ps: a new process in a running container, and the
container's process list.

An exec'd process must be in every namespace of the container, in its
cgroup, under its root, with the container's process settings (env, cwd,
user, capabilities, rlimits) and runc exec's flags over them.  Each test
starts a container that sleeps, execs into it and looks at the result from
inside (the exec's output) and from the host (/proc/<pid>/... of the exec'd
process, whose host pid `exec --pid-file` gives).

Failures are checked for a non-zero status on every runtime; the status
itself (1) and the message are husk_only: runc exits 255 when exec fails.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (call_with_fds, ALL_NAMESPACES, DEFAULT_PATH, HUSK,
                      STATE_ROOT, _cgroup_mounts, bind, ns_id, pid_alive,
                      wait_for)

# what `runc spec` gives (make_config): bounding = effective = permitted
CAPS = {"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_AUDIT_WRITE": 29}
CAP_MASK = sum(1 << n for n in CAPS.values())  # 0x20000420
CAP_SYS_ADMIN = 21

HOST_ID = 100000  # the host uid / gid of root in the user namespace test
MAP_SIZE = 65536


# --------------------------------------------------------------------------
# helpers

def _sleeper(hk, *, edit=None, **kw):
    """A running container whose process sleeps; (cid, host pid)."""
    b = hk.bundle(["sleep", "1000"], **kw)
    if edit:
        edit(b.config)
        b.write()
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    # runc's init execs sleep after `run -d` returned
    wait_for(lambda: _read(f"/proc/{pid}/comm") == "sleep", what="sleep in the container")
    return cid, pid


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f}


def _status_lines(text):
    """{field: value} of /proc/<pid>/status lines in text."""
    return {l.split(":")[0]: l.split(":", 1)[1].strip()
            for l in text.splitlines() if ":" in l}


def _exec(hk, cid, *args, opts=()):
    return hk.call("exec", *opts, cid, *args)


def _exec_ok(hk, cid, *args, opts=()):
    r = _exec(hk, cid, *args, opts=opts)
    assert r.rc == 0, str(r)
    return r.out


def _exec_detached(hk, cid, *args, opts=()):
    """exec --detach --pid-file: the host pid of the new process."""
    hk._n += 1
    pid_file = hk.work / f"exec{hk._n}.pid"
    r = hk.ok("exec", "--detach", "--pid-file", pid_file, *opts, cid, *args)
    pid = int(pid_file.read_text())
    assert pid_alive(pid), f"exec'd process {pid} is not alive\n{r}"
    return pid


@pytest.fixture
def bg(hk):
    """start(cid, *args, opts=()): a foreground `exec --pid-file` of a
    command that runs `sleep`, left running in the background; returns the
    host pid once sleep runs.  Unlike a detached exec, whose orphan the
    host's init reaps (here only about once a second, and the container's
    init cannot finish dying before), this process is reaped by its exec at
    once; the fixture kills them all before the containers are deleted."""
    procs = []

    def start(cid, *args, opts=()):
        hk._n += 1
        pid_file = hk.work / f"bg{hk._n}.pid"
        log = hk.work / f"bg{hk._n}.log"
        argv = [HUSK, "--root", str(STATE_ROOT), "exec", "--pid-file", str(pid_file),
                *map(str, opts), cid, *args]
        with open(log, "wb") as o:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=o)
        procs.append([p, None])

        def started():
            assert p.poll() is None, f"{argv} -> rc={p.returncode}\n{log.read_text()}"
            text = _read(pid_file)
            if text and _read(f"/proc/{int(text)}/comm") == "sleep":
                return int(text)
        procs[-1][1] = wait_for(started, what="the exec'd sleep")
        return procs[-1][1]

    yield start
    for p, pid in procs:
        # while the exec runs its child is not reaped: the pid is still it
        if pid and p.poll() is None:
            os.kill(pid, signal.SIGKILL)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()



def _cgroup_procs(pid):
    """{hierarchy: set of pids in pid's cgroup} for every hierarchy pid is
    in a non-root cgroup of (v1: one per controller set; v2: one)."""
    mounts = _cgroup_mounts()
    res = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            want = set(filter(None, ctrls.split(",")))
            for mp, fstype, sopts in mounts:
                if (hid == "0" and fstype == "cgroup2") or (
                        fstype == "cgroup" and want and want <= sopts):
                    d = Path(mp) / path.lstrip("/")
                    procs = _read(d / "cgroup.procs")
                    if procs is not None:
                        res[line.split(":")[1] or "v2"] = {int(p) for p in procs.split()}
                    break
    return res


def _in_pid_ns(pid):
    """pid's pid inside its own pid namespace (the last NSpid)."""
    return int(_status_fields(pid)["NSpid"].split()[-1])


def _ps_table_pids(out, col_name="PID"):
    lines = out.splitlines()
    header = lines[0].split()
    col = header.index(col_name)
    return header, [int(l.split()[col]) for l in lines[1:]]


# --------------------------------------------------------------------------
# 1. namespaces, cgroup, root

EXEC_NS = ("pid", "net", "mnt", "uts", "ipc", "cgroup")


def test_exec_joins_namespaces_and_cgroup(hk):
    cid, pid = _sleeper(hk, namespaces=ALL_NAMESPACES, hostname="exechost")
    epid = _exec_detached(hk, cid, "sleep", "1000")
    for ns in EXEC_NS:
        assert ns_id(epid, ns) == ns_id(pid, ns), ns
        # the test really checks something: the container's are not ours
        assert ns_id(pid, ns) != ns_id("self", ns), ns
    # same root, same cgroup (seen from the host)
    ra, rb = os.stat(f"/proc/{epid}/root"), os.stat(f"/proc/{pid}/root")
    assert (ra.st_dev, ra.st_ino) == (rb.st_dev, rb.st_ino)
    assert _read(f"/proc/{epid}/cgroup") == _read(f"/proc/{pid}/cgroup")
    # in the container's pid namespace, where the container's process is 1
    assert _in_pid_ns(pid) == 1
    assert _in_pid_ns(epid) > 1

    # inside: ps lists the container's sleep as PID 1, the exec'd sleep and
    # itself, nothing else
    out = _exec_ok(hk, cid, "ps", "-o", "pid,comm")
    rows = [l.split() for l in out.splitlines()[1:]]
    assert ["1", "sleep"] in rows, out
    assert [str(_in_pid_ns(epid)), "sleep"] in rows, out
    assert sorted(r[1] for r in rows) == ["ps", "sleep", "sleep"], out
    # hostname, own pid and cgroup as the container sees them
    out = _exec_ok(hk, cid, "sh", "-c",
                   "hostname; echo $$; cat /proc/self/cgroup; echo --; cat /proc/1/cgroup")
    lines = out.splitlines()
    assert lines[0] == "exechost"
    assert 1 < int(lines[1]) < 1000
    mine, init = "\n".join(lines[2:]).split("\n--\n")
    assert mine == init


def test_exec_without_cgroup_ns_sees_host_cgroup_paths(hk):
    """Without a cgroup namespace the container's /proc/self/cgroup shows
    host paths; the exec'd process shows the same ones."""
    cid, pid = _sleeper(hk)
    out = _exec_ok(hk, cid, "cat", "/proc/self/cgroup")
    assert out.strip() == _read(f"/proc/{pid}/cgroup")
    assert ns_id(pid, "cgroup") == ns_id("self", "cgroup")


# --------------------------------------------------------------------------
# 2. exit status, stdio, signals

def test_exit_status(hk):
    cid, pid = _sleeper(hk)
    for script, want in [("exit 0", 0), ("exit 42", 42), ("exit 255", 255),
                         ("kill -9 $$", 137), ("kill -TERM $$", 143)]:
        r = _exec(hk, cid, "sh", "-c", script)
        assert r.rc == want, str(r)
    # the container is unaffected
    assert hk.status(cid) == "running" and pid_alive(pid)


def test_output_and_stdin(hk):
    cid, _ = _sleeper(hk)
    r = _exec(hk, cid, "sh", "-c", "echo out; echo err >&2; cat")
    assert r.rc == 0, str(r)
    assert r.out == "out\n"  # stdin is /dev/null: cat gets EOF at once
    assert "err\n" in r.err


def test_signals_forwarded(hk):
    """A foreground exec forwards the signals it gets to the process."""
    out = hk.dir("out")
    cid, _ = _sleeper(hk, extra_mounts=[bind(out, "/mnt/rw")])
    argv = [HUSK, "--root", str(STATE_ROOT), "exec", cid, "sh", "-c",
            "trap 'echo got-term; exit 7' TERM; touch /mnt/rw/ready; "
            "while :; do sleep 0.05; done"]
    with open(hk.work / "fwd.out", "wb") as o, open(hk.work / "fwd.err", "wb") as e:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        try:
            wait_for(lambda: (out / "ready").exists(), what="exec'd shell to be ready")
            time.sleep(0.1)  # runc installs its signal handler a little later
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert rc == 7, (hk.work / "fwd.err").read_text()
    assert (hk.work / "fwd.out").read_text() == "got-term\n"


def test_foreground_exec_ends_with_container(hk):
    """Killing the container kills the exec'd process; its exec returns
    128+9."""
    cid, pid = _sleeper(hk)
    argv = [HUSK, "--root", str(STATE_ROOT), "exec", "--pid-file", str(hk.work / "pid"),
            cid, "sleep", "1000"]
    with open(hk.work / "fg.log", "wb") as o:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=o)
    try:
        epid = wait_for(lambda: _read(hk.work / "pid"), what="pid file")
        hk.kill(cid, "KILL")
        assert p.wait(timeout=10) == 137, (hk.work / "fg.log").read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert not pid_alive(int(epid))
    hk.wait_status(cid, "stopped")


# --------------------------------------------------------------------------
# 3. environment and working directory

def _env(out):
    return [l for l in out.splitlines() if not l.startswith(("HOSTNAME=", "SHLVL=", "PWD="))]


def test_env_inherited_and_overridden(hk):
    cid, _ = _sleeper(hk, env=[DEFAULT_PATH, "FOO=config", "KEEP=yes", "HOME=/root"])
    env = _env(_exec_ok(hk, cid, "env"))
    assert "FOO=config" in env and "KEEP=yes" in env and DEFAULT_PATH in env, env

    # (runc's flag parser refuses -e and --env in one command line)
    env = _env(_exec_ok(hk, cid, "env", opts=["--env", "FOO=over", "--env", "NEW=a=b",
                                               "--env", "EMPTY="]))
    assert [e for e in env if e.startswith("FOO=")] == ["FOO=over"], env
    assert "NEW=a=b" in env and "EMPTY=" in env and "KEEP=yes" in env, env
    # the last of two wins
    env = _env(_exec_ok(hk, cid, "env", opts=["-e", "A=1", "-e", "A=2"]))
    assert [e for e in env if e.startswith("A=")] == ["A=2"], env
    # the container's own process still has the config's environment
    assert "FOO=config" in _exec_ok(hk, cid, "cat", "/proc/1/environ").split("\0")


def test_cwd(hk):
    cid, _ = _sleeper(hk, cwd="/tmp")
    assert _exec_ok(hk, cid, "pwd") == "/tmp\n"
    assert _exec_ok(hk, cid, "pwd", opts=["--cwd", "/etc"]) == "/etc\n"
    for bad in ("/no/such/dir", "etc"):
        r = _exec(hk, cid, "pwd", opts=["--cwd", bad])
        assert r.rc != 0 and r.out == "", str(r)


# --------------------------------------------------------------------------
# 4. user, groups, capabilities, no_new_privs, rlimits

def test_user_and_additional_gids(hk, bg):
    cid, _ = _sleeper(hk)
    assert _exec_ok(hk, cid, "sh", "-c", "id -u; id -g; id -G") == "0\n0\n0\n"
    out = _exec_ok(hk, cid, "sh", "-c", "id -u; id -g", opts=["--user", "1000:1000"])
    assert out.split() == ["1000", "1000"]
    # uid only: the config's gid
    out = _exec_ok(hk, cid, "sh", "-c", "id -u; id -g", opts=["-u", "1001"])
    assert out.split() == ["1001", "0"]
    out = _exec_ok(hk, cid, "id", "-G", opts=["-u", "1000:1000", "--additional-gids", "10",
                                              "--additional-gids", "20"])
    assert sorted(map(int, out.split())) == [10, 20, 1000], out
    # from the host
    epid = bg(cid, "sleep", "1000", opts=["-u", "1000:1002", "-g", "30"])
    st = _status_fields(epid)
    assert st["Uid"].split() == ["1000"] * 4, st["Uid"]
    assert st["Gid"].split() == ["1002"] * 4, st["Gid"]
    assert st["Groups"].split() == ["30"], st["Groups"]


def test_additional_gids_added_to_config(hk):
    """--additional-gids adds to the config's user.additionalGids (runc
    appends them), it does not replace them."""
    cid, _ = _sleeper(hk, user={"uid": 0, "gid": 0, "additionalGids": [50]})
    assert sorted(map(int, _exec_ok(hk, cid, "id", "-G").split())) == [0, 50]
    out = _exec_ok(hk, cid, "id", "-G", opts=["-g", "60"])
    assert sorted(map(int, out.split())) == [0, 50, 60], out
    out = _exec_ok(hk, cid, "id", "-G", opts=["-u", "1000:1000", "-g", "60"])
    assert sorted(map(int, out.split())) == [50, 60, 1000], out


def test_nonroot_capabilities(hk, bg):
    """A non-root exec gets the container's bounding set and, without
    ambient capabilities, no effective or permitted ones."""
    def edit(cfg):
        cfg["process"]["capabilities"].pop("ambient", None)
    cid, pid = _sleeper(hk, edit=edit)
    cst = _status_fields(pid)
    assert int(cst["CapBnd"], 16) == CAP_MASK
    got = _status_lines(_exec_ok(hk, cid, "grep", "^Cap", "/proc/self/status",
                                 opts=["-u", "1000:1000"]))
    assert int(got["CapBnd"], 16) == CAP_MASK, got
    for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(got[k], 16) == 0, (k, got)
    # from the host
    st = _status_fields(bg(cid, "sleep", "1000", opts=["-u", "1000"]))
    assert st["CapBnd"] == cst["CapBnd"]
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    # root gets the container's sets
    got = _status_lines(_exec_ok(hk, cid, "grep", "^Cap", "/proc/self/status"))
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(got[k], 16) == CAP_MASK, (k, got)


def test_cap_added(hk, bg):
    cid, pid = _sleeper(hk)
    got = _status_lines(_exec_ok(hk, cid, "grep", "^Cap", "/proc/self/status",
                                 opts=["--cap", "CAP_SYS_ADMIN"]))
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(got[k], 16) == CAP_MASK | 1 << CAP_SYS_ADMIN, (k, got)
    st = _status_fields(bg(cid, "sleep", "1000", opts=["-c", "CAP_SYS_ADMIN"]))
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(st[k], 16) == CAP_MASK | 1 << CAP_SYS_ADMIN, (k, st[k])
    # the container itself is unchanged, and a plain exec has no SYS_ADMIN
    assert int(_status_fields(pid)["CapBnd"], 16) == CAP_MASK
    got = _status_lines(_exec_ok(hk, cid, "grep", "^Cap", "/proc/self/status"))
    assert int(got["CapEff"], 16) == CAP_MASK, got
    # and it is usable: mount needs CAP_SYS_ADMIN
    r = _exec(hk, cid, "mount", "-t", "tmpfs", "none", "/mnt/tmpfs")
    assert r.rc != 0, str(r)
    _exec_ok(hk, cid, "mount", "-t", "tmpfs", "none", "/mnt/tmpfs",
             opts=["-c", "CAP_SYS_ADMIN"])


@pytest.mark.skipif(_status_fields("self")["NoNewPrivs"] != "0",
                    reason="the test process itself has no_new_privs set")
def test_no_new_privs(hk, bg):
    def edit(cfg):
        cfg["process"]["noNewPrivileges"] = False
    cid, pid = _sleeper(hk, edit=edit)
    assert _status_fields(pid)["NoNewPrivs"] == "0"
    out = _exec_ok(hk, cid, "grep", "NoNewPrivs", "/proc/self/status")
    assert out.split() == ["NoNewPrivs:", "0"]
    out = _exec_ok(hk, cid, "grep", "NoNewPrivs", "/proc/self/status",
                   opts=["--no-new-privs"])
    assert out.split() == ["NoNewPrivs:", "1"]
    epid = bg(cid, "sleep", "1000", opts=["--no-new-privs"])
    assert _status_fields(epid)["NoNewPrivs"] == "1"


def test_no_new_privs_from_config(hk):
    cid, _ = _sleeper(hk)  # make_config: noNewPrivileges true
    out = _exec_ok(hk, cid, "grep", "NoNewPrivs", "/proc/self/status")
    assert out.split() == ["NoNewPrivs:", "1"]


def _limits(text):
    """{name: [soft, hard]} of a /proc/<pid>/limits text."""
    res = {}
    for l in text.splitlines()[1:]:
        m = re.match(r"(.+?)\s{2,}(\S+)\s+(\S+)", l)
        res[m.group(1)] = [m.group(2), m.group(3)]
    return res


RLIMITS = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888},
           {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192}]


def test_rlimits_apply(hk, bg):
    def edit(cfg):
        cfg["process"]["rlimits"] = RLIMITS
    cid, _ = _sleeper(hk, edit=edit)
    got = _limits(_exec_ok(hk, cid, "cat", "/proc/self/limits"))
    assert got["Max core file size"] == ["4096", "8192"], got
    # (the soft NOFILE limit: see test_rlimit_nofile_soft)
    assert got["Max open files"][1] == "888", got
    assert _exec_ok(hk, cid, "sh", "-c", "ulimit -Hn") == "888\n"
    with open(f"/proc/{bg(cid, 'sleep', '1000', opts=['-u', '1000'])}/limits") as f:
        got = _limits(f.read())
    assert got["Max core file size"] == ["4096", "8192"], got
    assert got["Max open files"][1] == "888", got


@pytest.mark.husk_only
def test_rlimit_nofile_soft(hk):
    """husk_only: runc >= 1.1 built with Go >= 1.19 gives an exec'd process
    the hard NOFILE limit as soft one (runc issue #4195: the Go runtime of
    `runc init` raises it)."""
    def edit(cfg):
        cfg["process"]["rlimits"] = RLIMITS
    cid, _ = _sleeper(hk, edit=edit)
    assert _exec_ok(hk, cid, "sh", "-c", "ulimit -n; ulimit -Hn").split() == ["777", "888"]


def test_exec_reads_the_bundle_config(hk):
    """As runc, exec takes the process defaults from the bundle's
    config.json as it is at exec time (runc's getProcess loads the spec
    again), not as it was at create; without one it fails."""
    b = hk.bundle(["sleep", "1000"], env=[DEFAULT_PATH, "FOO=created"])
    cid = hk.run_detached(b)
    cfg = json.loads(json.dumps(b.config))
    cfg["process"]["env"] = [DEFAULT_PATH, "FOO=changed"]
    cfg["process"]["cwd"] = "/etc"
    b.write(cfg)
    assert _exec_ok(hk, cid, "sh", "-c", "echo $FOO; pwd").split() == ["changed", "/etc"]
    (b.path / "config.json").unlink()
    r = _exec(hk, cid, "true")
    assert r.rc != 0 and r.out == "", str(r)
    assert hk.status(cid) == "running"


# --------------------------------------------------------------------------
# 5. --process FILE

def test_process_file(hk):
    cid, _ = _sleeper(hk, env=[DEFAULT_PATH, "FOO=config"])
    proc = {
        "terminal": False,
        "args": ["sh", "-c", "id -u; id -g; id -G; pwd; echo \"$FOO-$BAR\"; "
                             "grep NoNewPrivs /proc/self/status"],
        "env": [DEFAULT_PATH, "FOO=file", "BAR=x"],
        "cwd": "/etc",
        "user": {"uid": 1000, "gid": 1001, "additionalGids": [40]},
        "noNewPrivileges": True,
    }
    f = hk.work / "process.json"
    f.write_text(json.dumps(proc))
    out = _exec_ok(hk, cid, opts=["--process", f])
    lines = out.splitlines()
    assert lines[:2] == ["1000", "1001"], out
    assert sorted(map(int, lines[2].split())) == [40, 1001], out
    assert lines[3:5] == ["/etc", "file-x"], out
    assert lines[5].split() == ["NoNewPrivs:", "1"], out
    # -p, and the exit status passes through
    f.write_text(json.dumps({"args": ["sh", "-c", "exit 9"], "cwd": "/",
                             "user": {"uid": 0, "gid": 0}, "env": [DEFAULT_PATH]}))
    r = _exec(hk, cid, opts=["-p", f])
    assert r.rc == 9, str(r)


def test_process_file_capabilities(hk):
    """The process file's capabilities; without any, the container's (runc
    falls back to the container's config, never to all of root's)."""
    cid, pid = _sleeper(hk)
    f = hk.work / "process.json"
    proc = {"args": ["grep", "^Cap", "/proc/self/status"], "cwd": "/",
            "env": [DEFAULT_PATH], "user": {"uid": 0, "gid": 0}}
    f.write_text(json.dumps(proc))
    got = _status_lines(_exec_ok(hk, cid, opts=["--process", f]))
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(got[k], 16) == CAP_MASK, (k, got)
    proc["capabilities"] = {k: ["CAP_KILL", "CAP_SYS_ADMIN"]
                            for k in ("bounding", "effective", "permitted")}
    f.write_text(json.dumps(proc))
    got = _status_lines(_exec_ok(hk, cid, opts=["--process", f]))
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(got[k], 16) == 1 << CAPS["CAP_KILL"] | 1 << CAP_SYS_ADMIN, (k, got)


INVALID_PROCESS = {
    "args-not-array": ({"args": "true", "cwd": "/"}, "args"),
    "cwd-not-string": ({"args": ["true"], "cwd": 5}, "cwd"),
    "cwd-relative": ({"args": ["true"], "cwd": "etc"}, "cwd"),
    "uid-not-number": ({"args": ["true"], "cwd": "/", "user": {"uid": "root", "gid": 0}}, "user.uid"),
}


def test_process_file_invalid(hk):
    cid, pid = _sleeper(hk)
    f = hk.work / "process.json"
    for case, (proc, _field) in sorted(INVALID_PROCESS.items()):
        f.write_text(json.dumps(proc))
        r = _exec(hk, cid, opts=["--process", f])
        assert r.rc != 0 and r.out == "", (case, str(r))
    f.write_text("{not json")
    r = _exec(hk, cid, opts=["--process", f])
    assert r.rc != 0 and r.out == "", str(r)
    r = _exec(hk, cid, opts=["--process", hk.work / "missing.json"])
    assert r.rc != 0 and r.out == "", str(r)
    assert hk.status(cid) == "running" and pid_alive(pid)


@pytest.mark.husk_only
def test_process_file_invalid_message(hk):
    cid, _ = _sleeper(hk)
    f = hk.work / "process.json"
    for case, (proc, field) in sorted(INVALID_PROCESS.items()):
        f.write_text(json.dumps(proc))
        r = _exec(hk, cid, opts=["--process", f])
        assert r.rc == 255, (case, str(r))   # runc's status for an exec that never ran
        assert str(f) in r.err and f"process.{field}" in r.err, (case, str(r))
        assert len(r.err_lines) == 1, (case, str(r))


@pytest.mark.husk_only
def test_process_file_and_command_refused(hk):
    cid, _ = _sleeper(hk)
    f = hk.work / "process.json"
    f.write_text(json.dumps({"args": ["true"], "cwd": "/"}))
    r = _exec(hk, cid, "echo", "hi", opts=["--process", f])
    assert r.rc == 1 and r.out == "", str(r)
    assert "--process" in r.err, str(r)


# --------------------------------------------------------------------------
# 6. --detach, --pid-file, --preserve-fds

def test_detach(hk):
    out = hk.dir("out")
    cid, pid = _sleeper(hk, extra_mounts=[bind(out, "/mnt/rw")])
    t0 = time.monotonic()
    epid = _exec_detached(hk, cid, "sh", "-c", "echo $$ > /mnt/rw/pid; exec sleep 1000")
    assert time.monotonic() - t0 < 5
    assert ns_id(epid, "pid") == ns_id(pid, "pid")
    assert ns_id(epid, "mnt") == ns_id(pid, "mnt")
    # the process runs: it writes its pid inside the container, which is
    # the pid-file's pid seen from its namespace
    wait_for(lambda: (out / "pid").exists() and (out / "pid").read_text().endswith("\n"),
             what="the detached process to write")
    assert int((out / "pid").read_text()) == _in_pid_ns(epid)
    wait_for(lambda: _read(f"/proc/{epid}/comm") == "sleep", what="sleep")
    # the exec is gone, not the parent of the process
    assert _status_fields(epid)["PPid"] != str(os.getpid())
    assert pid_alive(epid) and hk.status(cid) == "running"
    # the detached process dies with the container
    hk.kill(cid, "KILL")
    wait_for(lambda: not pid_alive(epid), what="the exec'd process to die with the container")
    hk.wait_status(cid, "stopped")


def test_pid_file_foreground(hk):
    cid, _ = _sleeper(hk)
    pf = hk.work / "fg.pid"
    r = hk.call("exec", "--pid-file", pf, cid, "sh", "-c", "echo $$")
    assert r.rc == 0, str(r)
    assert int(pf.read_text()) > 0 and int(r.out) > 0


FD_SCRIPT = (
    "read line <&3 && echo \"3:$line\" || echo no3; "
    "{ read line <&4; } 2>/dev/null && echo \"4:$line\" || echo no4; "
    "{ echo back >&3; } 2>/dev/null; true")


def test_preserve_fds(hk):
    cid, _ = _sleeper(hk)
    f3, f4 = hk.work / "fd3", hk.work / "fd4"
    f3.write_text("three\n")
    f4.write_text("four\n")
    r = call_with_fds(hk, "<>", [f3, f4], "exec", "--preserve-fds", "1", cid, "sh", "-c", FD_SCRIPT)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["3:three", "no4"], str(r)
    assert f3.read_text() == "three\nback\n"
    # without the flag neither is passed
    r = call_with_fds(hk, "<>", [f3, f4], "exec", cid, "sh", "-c", FD_SCRIPT)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["no3", "no4"], str(r)


# --------------------------------------------------------------------------
# 7. failures

def test_exec_in_stopped_container(hk):
    cid = hk.run_detached(hk.bundle(["true"]))
    hk.wait_status(cid, "stopped")
    r = _exec(hk, cid, "echo", "hi")
    assert r.rc != 0 and r.out == "", str(r)
    assert hk.status(cid) == "stopped"


@pytest.mark.husk_only
def test_exec_in_stopped_container_message(hk):
    cid = hk.run_detached(hk.bundle(["true"]))
    hk.wait_status(cid, "stopped")
    r = _exec(hk, cid, "echo", "hi")
    assert r.rc == 255, str(r)
    assert cid in r.err and "stopped" in r.err, str(r)


def test_exec_in_created_container(hk, bg):
    """runc allows exec before start; the container stays created."""
    cid = hk.create(hk.bundle(["sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    assert _exec_ok(hk, cid, "echo", "hi") == "hi\n"
    epid = bg(cid, "sleep", "1000")
    assert ns_id(epid, "pid") == ns_id(pid, "pid")
    assert hk.status(cid) == "created"


def test_exec_unknown_container(hk):
    r = hk.call("exec", hk.new_id(), "true")
    assert r.rc != 0 and r.out == "", str(r)


def test_exec_missing_binary(hk):
    cid, pid = _sleeper(hk)
    for cmd in ("/no/such/binary", "no-such-command", "/etc/passwd"):
        r = _exec(hk, cid, cmd, "arg")
        assert r.rc != 0 and r.out == "", str(r)
    # the container is unaffected and nothing is left running in it
    assert hk.status(cid) == "running" and pid_alive(pid)
    procs = _cgroup_procs(pid)
    assert procs and all(p == {pid} for p in procs.values()), procs


@pytest.mark.husk_only
def test_exec_missing_binary_message(hk):
    cid, _ = _sleeper(hk)
    for cmd in ("/no/such/binary", "no-such-command", "/etc/passwd"):
        r = _exec(hk, cid, cmd, "arg")
        assert r.rc == 255 and len(r.err_lines) == 1, str(r)
        assert cmd in r.err, str(r)


def test_exec_tty_detached_needs_console_socket(hk):
    """A terminal for a detached exec has nowhere to go without
    --console-socket: refused, and nothing is started."""
    cid, pid = _sleeper(hk)
    r = _exec(hk, cid, "sleep", "1000", opts=["--tty", "--detach"])
    assert r.rc != 0 and r.out == "", str(r)
    procs = _cgroup_procs(pid)
    assert procs and all(p == {pid} for p in procs.values()), procs


def test_exec_without_command(hk):
    cid, _ = _sleeper(hk)
    r = hk.call("exec", cid)
    assert r.rc != 0 and r.out == "", str(r)


# --------------------------------------------------------------------------
# 8. a container with a user namespace

def test_exec_in_user_namespace(hk, bg, traversable):
    traversable(hk.sess.rootfs)

    def edit(cfg):
        m = [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}]
        cfg["linux"]["uidMappings"] = m
        cfg["linux"]["gidMappings"] = m
    cid, pid = _sleeper(hk, namespaces=ALL_NAMESPACES + ("user",), edit=edit)
    assert _status_fields(pid)["Uid"].split()[0] == str(HOST_ID)

    epid = bg(cid, "sleep", "1000")
    for ns in EXEC_NS + ("user",):
        assert ns_id(epid, ns) == ns_id(pid, ns), ns
    assert ns_id(epid, "user") != ns_id("self", "user")
    st = _status_fields(epid)
    assert st["Uid"].split() == [str(HOST_ID)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(HOST_ID)] * 4, st["Gid"]
    assert _read(f"/proc/{epid}/cgroup") == _read(f"/proc/{pid}/cgroup")

    out = _exec_ok(hk, cid, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map")
    lines = out.splitlines()
    assert lines[:2] == ["0", "0"], out
    assert lines[2].split() == ["0", str(HOST_ID), str(MAP_SIZE)], out
    # a non-root user in the container is HOST_ID + uid on the host
    epid = bg(cid, "sleep", "1000", opts=["-u", "1000:1000"])
    assert _status_fields(epid)["Uid"].split() == [str(HOST_ID + 1000)] * 4
    # root in the user namespace has the container's capabilities there
    got = _status_lines(_exec_ok(hk, cid, "grep", "^Cap", "/proc/self/status"))
    assert int(got["CapEff"], 16) == CAP_MASK, got


def test_home_from_passwd(hk):
    """Without HOME in the env, it comes from the container's /etc/passwd
    (as runc does), for the first process and for exec."""
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "echo $HOME > /mnt/rw/home; sleep 1000"],
                  extra_mounts=[bind(out, "/mnt/rw")])
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "home").exists() and (out / "home").read_text().endswith("\n"),
             what="first process")
    assert (out / "home").read_text() == "/root\n"
    assert hk.ok("exec", cid, "sh", "-c", "echo $HOME").out == "/root\n"
    assert hk.ok("exec", "-u", "4242", cid, "sh", "-c", "echo $HOME").out == "/\n"
    assert hk.ok("exec", "-e", "HOME=/x", cid, "sh", "-c", "echo $HOME").out == "/x\n"
