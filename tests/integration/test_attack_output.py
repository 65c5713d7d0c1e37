"""Attacks on what husk prints, and on what it claims (issue 23).

1. A container (or a hostile bundle) puts terminal escapes in every string
   husk prints about it: mount targets, interface names, process names and
   command lines, the bundle path, ids in husk net's records, paths quoted
   in error messages. No raw control character (C0, DEL, C1 as UTF-8),
   bidirectional control or byte that is not UTF-8 may reach the terminal
   from inspect, ps, list, events, net ls or an error; JSON stays valid
   JSON carrying the real strings.
2. A container's process leaves the namespaces husk made (`unshare -Un`
   with the default capabilities): inspect must report what husk made, and
   say who left, not call the process's own user namespace isolation.
3. The pid of the container named by `launch --net container:NAME` is given
   to another process while launch runs: the new container must join the
   named container's network namespace, not the other process's.
   And the check husk net's open_target now makes (common/pidns.c), on a
   pid reused between its pidfd and the open of its namespace.

Each fails against the husk of before the fix (/work/baseline)."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (HUSK, MARK_ENV, REPO, STATE_ROOT, CMD_TIMEOUT, Bundle, make_config,
                      pid_alive, tmpfs, wait_for)

pytestmark = pytest.mark.husk_only

# Bytes a terminal acts on: OSC "set the title", BEL, CSI "clear the screen",
# CSI as a C1 control in UTF-8 (U+009B), a byte that is not UTF-8, a newline
# that would forge a line, CR, RIGHT-TO-LEFT OVERRIDE (U+202E).
EVIL = b"\x1b]0;PWNED\x07\x1b[2J\xc2\x9b31m\xff\nforged line\r\xe2\x80\xae"
# The same without what JSON (config.json) cannot carry.
EVIL_UTF8 = EVIL.replace(b"\xff", b"").decode()
FORGED = "forged line"
UNSAFE_CHARS = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u061c\u200e\u200f"
                          "\u2028-\u202e\u2066-\u2069]")

HELPERS = [Path(HUSK).resolve().parent / "tests", REPO / "build" / "tests"]


def helper(name):
    for d in HELPERS:
        if os.access(d / name, os.X_OK):
            return d / name
    pytest.skip(f"helper {name} not built (make {REPO / 'build' / 'tests' / name})")


def husk(*args, env=None, timeout=CMD_TIMEOUT):
    """husk's raw bytes: the Runtime's text would hide them."""
    argv = [HUSK, "--root", str(STATE_ROOT), *map(str, args)]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, env=env)


def assert_safe(raw, what):
    """raw (bytes husk printed) can go to a terminal: UTF-8 throughout, no
    control character but the newlines ending lines, no line forged by a
    string that held a newline."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"{what}: not UTF-8 ({e}): {raw!r}")
    bad = UNSAFE_CHARS.findall(text)
    assert not bad, f"{what}: raw {bad!r} in {text!r}"
    for line in text.splitlines():
        assert not line.startswith(FORGED), f"{what}: forged line {line!r}"
    return text


# --------------------------------------------------------------------------
# 1. escapes in every output


# Inside: mounts on directories named with EVIL, lo renamed to a name with
# escapes (the kernel refuses white space in one) and an address on it, so
# inspect lists it, and a process whose name (comm) and command line hold
# escapes.
HOSTILE_PID1 = r"""
evil=$(printf '\033]0;PWNED\007\033[2J\302\23331m\377\nforged line\r\342\200\256')
mkdir "/mnt/tmpfs/m$evil" && mount -t tmpfs x "/mnt/tmpfs/m$evil" || exit 1
ifname=$(printf 'l\033[2J\302\233\377')
ip link set lo down && ip link set lo name "$ifname" && ip addr add 10.9.9.9/32 dev "$ifname" \
  && ip link set "$ifname" up || exit 1
sh -c 'printf "\033]0;C\007\302\233" > /proc/$$/comm; touch /mnt/tmpfs/ready; \
       while sleep 1; do :; done' "x$evil"
"""


@pytest.fixture
def hostile(hk):
    """A running container that chose escapes for all it could."""
    caps = ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_KILL"]
    cfg = make_config(hk.sess.rootfs, ["sh", "-c", HOSTILE_PID1], hostname=EVIL_UTF8,
                      extra_mounts=[tmpfs("/mnt/tmpfs"), tmpfs(f"/mnt/tmpfs/cfg{EVIL_UTF8}")],
                      annotations={"org.example.evil": EVIL_UTF8})
    cfg["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    cfg["process"]["noNewPrivileges"] = True
    b = Bundle(hk.work / "hostile", cfg)
    cid = hk.run_detached(b)
    pid = hk.state(cid)["pid"]
    wait_for(lambda: os.path.exists(f"/proc/{pid}/root/mnt/tmpfs/ready"),
             what="the container's hostile names")
    return cid, pid


def test_inspect_text_escapes_what_the_container_chose(hk, hostile):
    cid, _ = hostile
    r = husk("inspect", cid)
    assert r.returncode == 0, r
    text = assert_safe(r.stdout, "inspect")
    # there, escaped
    assert "/mnt/tmpfs/m\\x1b]0;PWNED\\x07\\x1b[2J\\u009b31m\\xff\\x0aforged line\\x0d\\u202e" \
        in text, text
    assert "/mnt/tmpfs/cfg\\x1b]0;PWNED" in text
    assert "l\\x1b[2J\\u009b\\xff" in text and "10.9.9.9/32" in text


def test_inspect_json_is_valid_and_exact(hk, hostile):
    cid, _ = hostile
    r = husk("inspect", "--format", "json", cid)
    assert r.returncode == 0, r
    assert_safe(r.stdout, "inspect --format json")
    j = json.loads(r.stdout)
    dests = [m["destination"] for m in j["mounts"]]
    # the real strings; the byte that is not UTF-8 as U+FFFD (JSON cannot
    # carry it; Go's encoding/json, runc's, does the same)
    real = EVIL.decode("utf-8", errors="replace")
    assert f"/mnt/tmpfs/m{real}" in dests, dests
    assert f"/mnt/tmpfs/cfg{EVIL_UTF8}" in dests
    assert "l\x1b[2J\u009b\ufffd" in [a["interface"] for a in j["network"]["addresses"]]


@pytest.mark.parametrize("args", [(), ("-o", "pid,comm,args")], ids=["ef", "comm-args"])
def test_ps(hk, hostile, args):
    # procps already shows controls as '?': this passes before the fix too
    # (runc prints what ps prints)
    cid, _ = hostile
    r = husk("ps", cid, *args)
    assert r.returncode == 0, r
    assert "sleep 1" in assert_safe(r.stdout, "ps")


def test_state_annotations_and_events(hk, hostile):
    cid, _ = hostile
    r = husk("state", cid)
    assert r.returncode == 0, r
    assert_safe(r.stdout, "state")
    assert json.loads(r.stdout)["annotations"]["org.example.evil"] == EVIL_UTF8
    r = husk("events", "--stats", cid)
    assert r.returncode == 0, r
    assert json.loads(assert_safe(r.stdout, "events"))["id"] == cid


def test_list_escapes_the_bundle_path(hk):
    b = hk.bundle(["sleep", "1000"], name=f"bundle{EVIL_UTF8}")
    cid = hk.run_detached(b)
    r = husk("list")
    assert r.returncode == 0, r
    line = [l for l in assert_safe(r.stdout, "list").splitlines() if l.startswith(cid)]
    assert len(line) == 1 and "bundle\\x1b]0;PWNED\\x07" in line[0], r.stdout
    r = husk("list", "--format", "json")
    assert_safe(r.stdout, "list --format json")
    assert {c["id"]: c["bundle"] for c in json.loads(r.stdout)}[cid] == str(b.path)
    r = husk("inspect", cid)
    assert "bundle\\x1b]0;PWNED" in assert_safe(r.stdout, "inspect")


def test_list_json_is_each_containers_state(hk, hostile):
    """list --format json is streamed, not built as a tree and printed as
    state is: each entry must still be what `state` prints, escapes and
    all. (A bundle path that is not UTF-8 is refused at create.)"""
    cid, _ = hostile
    b = hk.bundle(["sleep", "1000"], name="bundle" + EVIL_UTF8)
    cid2 = hk.run_detached(b)
    r = husk("list", "--format", "json")
    assert r.returncode == 0, r
    listed = {e["id"]: e for e in json.loads(assert_safe(r.stdout, "list --format json"))}
    for c in (cid, cid2):
        s = husk("state", c)
        assert s.returncode == 0, s
        assert listed[c] == json.loads(assert_safe(s.stdout, "state")), (listed[c], s.stdout)
    assert listed[cid]["annotations"] == {"org.example.evil": EVIL_UTF8}
    assert listed[cid2]["bundle"] == str(b.path)
    assert "annotations" not in listed[cid2]


def test_net_ls_escapes_records(hk, tmp_path):
    """husk net's records are husk's own, but what they name is printed
    escaped all the same."""
    lease = (b"id hk" + EVIL + b"\npid 1\nstart 1\nnetns_ino 0\nbridge b\x1b[2J\xc2\x9b\n"
             b"subnet 10.89.0.0/16\naddr 10.89.0.7\nveth hkv0\n")
    (tmp_path / "x.lease").write_bytes(lease)
    env = dict(os.environ, HUSK_NET_DIR=str(tmp_path))
    for args in ((), ("-q",), ("--format", "json")):
        r = husk("net", "ls", *args, env=env)
        assert r.returncode == 0, r
        text = assert_safe(r.stdout, f"net ls {args}")
        assert "hk" in text and "10.89.0.7" in text or args == ("-q",)


def test_errors_and_logs_escape_config_strings(hk, tmp_path):
    """An error quoting config.json: on stderr, in a --log file as text, and
    as --log-format json (valid JSON, the real string)."""
    prog = f"/no/such{EVIL_UTF8}"
    b = hk.bundle([prog])
    for fmt in ("text", "json"):
        log = tmp_path / f"log.{fmt}"
        cid = hk.new_id()
        r = husk("--log", log, "--log-format", fmt, "run", "--bundle", b.path, cid)
        assert r.returncode != 0
        if fmt == "text":
            assert "no/such\\x1b]0;PWNED" in assert_safe(r.stderr, "stderr")
        logged = assert_safe(log.read_bytes(), f"--log {fmt}")
        if fmt == "json":
            msgs = [json.loads(l)["msg"] for l in logged.splitlines()]
            assert any(prog in m for m in msgs), msgs
        else:
            assert "no/such\\x1b]0;PWNED" in logged


# --------------------------------------------------------------------------
# 2. inspect says what husk made, not what the container's process made


def host_userns():
    return os.stat("/proc/self/ns/user").st_ino


def ns_ino(pid, ns):
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


def test_unshare_user_is_not_isolation(hk):
    """Default capabilities, no user namespace: PID 1 runs `unshare -Un`.
    It is still the host's root; inspect must not call its own, unmapped
    user namespace "isolated" with "every id inside is nobody outside"."""
    cid = hk.run_detached(hk.bundle(["unshare", "-Un", "sleep", "1000"]))
    pid = hk.state(cid)["pid"]
    wait_for(lambda: ns_ino(pid, "user") != host_userns(), what="unshare -U")
    r = husk("inspect", cid)
    assert r.returncode == 0, r
    text = r.stdout.decode()
    user = [l for l in text.splitlines() if l.startswith("  user ")][0]
    assert user.split()[1] == user.split()[2] == str(host_userns()), user
    assert user.endswith("shared with the host"), user
    assert f"pid {pid} has left it: now in {ns_ino(pid, 'user')}" in text, text
    assert "nobody outside" not in text
    assert "user ids              0-4294967294 inside = 0-4294967294 outside" in text, text
    j = json.loads(husk("inspect", "--format", "json", cid).stdout)
    u = [n for n in j["namespaces"] if n["type"] == "user"][0]
    assert u["isolated"] is False and u["container"] == host_userns()
    assert u["moved"]["processes"] == [{"pid": pid, "namespace": ns_ino(pid, "user")}]
    net = [n for n in j["namespaces"] if n["type"] == "network"][0]
    assert net["isolated"] is True and net["container"] != ns_ino(pid, "net")
    assert j["uidMappings"] == [{"containerID": 0, "hostID": 0, "size": 4294967295}]


def test_a_child_leaving_is_reported(hk):
    """PID 1 stays; one of its children leaves: inspect names the child."""
    cid = hk.run_detached(hk.bundle(
        ["sh", "-c", "unshare -Un sleep 1000 & while sleep 1; do :; done"]))
    pid = hk.state(cid)["pid"]

    def child():
        for t in os.listdir(f"/proc/{pid}/task"):
            for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split():
                if pid_alive(c) and ns_ino(c, "user") != host_userns():
                    return int(c)
    kid = wait_for(child, what="the child's unshare")
    text = husk("inspect", cid).stdout.decode()
    assert f"pid {kid} has left it: now in {ns_ino(kid, 'user')}" in text, text
    assert f"pid {pid} has left" not in text


# --------------------------------------------------------------------------
# 3. launch --net container:NAME, and husk net's open of a pid's namespace


def wait_gone(pid):
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what=f"pid {pid} to be reaped")


def test_launch_net_container_pid_reused_meanwhile(hk, tmp_path):
    """launch reads container A's pid, then writes the spec, reading the
    --security-opt seccomp file (a FIFO here: launch waits on it). Meanwhile
    A dies and its pid goes to another process, in a network namespace of
    its own. The new container must not join that one."""
    reuse = helper("pid_reuse")
    if not os.access(Path(HUSK).parent / "husk-launch", os.X_OK):
        pytest.skip("husk-launch not built")
    a = hk.run_detached(hk.bundle(["sleep", "1000"]))
    a_pid = hk.state(a)["pid"]
    a_net = ns_ino(a_pid, "net")
    fifo = tmp_path / "seccomp.json"
    os.mkfifo(fifo)
    b = hk.new_id()
    argv = [HUSK, "--root", str(STATE_ROOT), "launch", "-d", "--name", b, "--net",
            f"container:{a}", "--data-dir", hk.dir("data"), "--cache-dir", hk.dir("cache"),
            "-e", MARK_ENV, "--security-opt", f"seccomp={fifo}", hk.sess.rootfs,
            "sleep", "1000"]
    out = open(tmp_path / "launch.out", "wb")
    launch = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    impostor = None
    try:
        # launch is at the FIFO once a writer can open it
        def writer():
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                return None if launch.poll() is None else -1
        w = wait_for(writer, timeout=CMD_TIMEOUT, what="launch to read the seccomp file")
        assert w >= 0, (tmp_path / "launch.out").read_text()
        hk.kill(a, "KILL")
        wait_gone(a_pid)
        impostor = subprocess.Popen([str(reuse), str(a_pid), "sleep", "1000"])
        wait_for(lambda: pid_alive(a_pid) and ns_ino(a_pid, "net") != a_net,
                 what="the impostor")
        imp_net = ns_ino(a_pid, "net")
        os.write(w, b'{"defaultAction": "SCMP_ACT_ALLOW"}')
        os.close(w)
        assert launch.wait(timeout=CMD_TIMEOUT) == 0, (tmp_path / "launch.out").read_text()
        hk.track(b)
        b_net = ns_ino(hk.state(b)["pid"], "net")
        assert b_net != imp_net, "joined the network namespace of the pid's new owner"
        assert b_net == a_net
    finally:
        if launch.poll() is None:
            launch.kill()
            launch.wait()
        out.close()
        if impostor:
            os.kill(a_pid, 9)
            impostor.wait(timeout=10)


def test_launch_net_container_that_left_its_netns(hk, tmp_path):
    """A's process left the network namespace husk made (unshare -Un):
    --net container:A is refused rather than joining whatever A's process
    joined since."""
    if not os.access(Path(HUSK).parent / "husk-launch", os.X_OK):
        pytest.skip("husk-launch not built")
    a = hk.run_detached(hk.bundle(["unshare", "-Un", "sleep", "1000"]))
    pid = hk.state(a)["pid"]
    wait_for(lambda: ns_ino(pid, "user") != host_userns(), what="unshare")
    b = hk.new_id()
    r = husk("launch", "--rm", "--name", b, "--net", f"container:{a}", "--data-dir",
             hk.dir("data"), "--cache-dir", hk.dir("cache"), "-e", MARK_ENV,
             hk.sess.rootfs, "true")
    hk.track(b)
    assert r.returncode == 125, r
    assert b"left the network namespace husk made" in r.stderr, r


def test_pidfd_open_ns_refuses_a_reused_pid():
    """What husk net attach's open_target does now: the pid's process dies
    after its pidfd is taken, its pid goes to another process in another
    network namespace, then the namespace is opened: refused."""
    r = subprocess.run([str(helper("pid_reuse")), "--check-pidfd-ns"], capture_output=True,
                       text=True, timeout=CMD_TIMEOUT)
    assert r.returncode == 0, r
    assert "refused" in r.stdout
