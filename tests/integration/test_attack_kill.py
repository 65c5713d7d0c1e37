"""kill -9 of husk at random instants, many rounds.

test_faults.py kills husk at each named step of the lifecycle; this kills it
at random instants instead (any syscall, any half-written file), as an
impatient engine, an OOM killer or a reboot would: create, run (detached and
in the foreground), start, exec (attached and detached), kill and delete,
each cut short after a random delay within its usual duration.  After each
round `state` and `list` must parse and agree, and one `delete --force` must
leave no process, cgroup, mount or state behind.

HK_KILL_ROUNDS (default 200) sets the number of rounds; HK_KILL_SEED the
seed (printed, so a failing round can be replayed).
"""

import os
import random
import subprocess
import time

import pytest

from conftest import HUSK, STATE_ROOT, wait_for
from test_net import SUBNET, netlab  # noqa: F401 (fixture)
from test_faults import assert_gone, observe, our_processes


def _settled_status(hk, cid):
    """observe() once the container stopped changing: a kill husk sent just
    before it died may still be on its way (state then says created, and
    list a moment later stopped)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return observe(hk, cid)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

ROUNDS = int(os.environ.get("HK_KILL_ROUNDS", "200"))
SEED = int(os.environ.get("HK_KILL_SEED", str(random.randrange(1 << 30))))

# op -> the longest delay (s) before the kill: about the op's own duration
# on this machine under load, so that kills land anywhere inside it.
OPS = {
    "create": 0.030,
    "run-d": 0.035,
    "run": 0.035,
    "start": 0.010,
    "exec": 0.030,
    "exec-d": 0.030,
    "kill": 0.006,
    "delete": 0.010,
    "delete-force": 0.015,
}


def _spawn(hk, *args):
    argv = [HUSK, "--root", str(STATE_ROOT)] + [str(a) for a in args]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_after(p, delay):
    time.sleep(delay)
    p.kill()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"husk {p.args} did not die of SIGKILL in 10 s")


def _running(hk, b):
    cid = hk.new_id()
    hk.run_detached(b, cid)
    return cid


def _one_round(hk, op, delay, b_sleep, b_true):
    """Returns the container id the round is about."""
    if op == "create":
        cid = hk.new_id()
        p = _spawn(hk, "create", "--bundle", b_sleep.path, cid)
    elif op == "run-d":
        cid = hk.new_id()
        p = _spawn(hk, "run", "-d", "--bundle", b_sleep.path, cid)
    elif op == "run":
        cid = hk.new_id()
        p = _spawn(hk, "run", "--bundle", b_true.path, cid)
    elif op == "start":
        cid = hk.create(b_sleep)
        p = _spawn(hk, "start", cid)
    elif op in ("exec", "exec-d"):
        cid = _running(hk, b_sleep)
        extra = ["-d"] if op == "exec-d" else []
        p = _spawn(hk, "exec", *extra, cid, "sleep", "1000")
    elif op == "kill":
        cid = _running(hk, b_sleep)
        p = _spawn(hk, "kill", cid, "KILL")
    elif op == "delete":
        cid = hk.create(b_sleep)
        p = _spawn(hk, "delete", cid)
    else:
        cid = _running(hk, b_sleep)
        p = _spawn(hk, "delete", "--force", cid)
    _kill_after(p, delay)
    return cid


def test_kill9_at_random_instants(hk):
    print(f"HK_KILL_SEED={SEED} HK_KILL_ROUNDS={ROUNDS}")
    rng = random.Random(SEED)
    b_sleep = hk.bundle(["sleep", "1000"])
    b_true = hk.bundle(["sh", "-c", "true"])
    ops = sorted(OPS)
    seen = {}
    for i in range(ROUNDS):
        op = ops[i % len(ops)]
        delay = rng.uniform(0, OPS[op])
        where = f"round {i} (HK_KILL_SEED={SEED}): {op} killed after {delay * 1000:.1f} ms"
        cid = _one_round(hk, op, delay, b_sleep, b_true)
        try:
            status = observe(hk, cid)
            seen.setdefault(op, set()).add(status)
            pids = our_processes(hk)
            r = hk.call("delete", "--force", cid, timeout=15)
            assert r.rc == 0, str(r)
            assert_gone(hk, cid, pids)
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from None
    # the kills landed in different places: not always before or after all
    print({op: sorted(map(str, s)) for op, s in seen.items()})


@pytest.mark.parametrize("op", ["create", "exec"])
def test_kill9_leaves_the_next_command_working(hk, op):
    """After a husk died holding the container's lock, nothing waits on it:
    the very next command on that container answers at once."""
    b = hk.bundle(["sleep", "1000"])
    cid = hk.new_id() if op == "create" else _running(hk, b)
    for _ in range(20):
        if op == "create":
            p = _spawn(hk, "create", "--bundle", b.path, cid)
        else:
            p = _spawn(hk, "exec", cid, "sleep", "1000")
        _kill_after(p, random.uniform(0, 0.02))
        t = time.monotonic()
        hk.call("state", cid, timeout=5)
        assert time.monotonic() - t < 2.0, "state waited on a dead husk's lock"
        if op == "create":
            r = hk.call("delete", "--force", cid, timeout=5)
            assert r.rc == 0, str(r)
            wait_for(lambda: not our_processes(hk), 3, what="the container to be gone")


# --------------------------------------------------------------------------
# husk net attach (in network namespaces of the test's own)

NET_ROUNDS = int(os.environ.get("HK_KILL_NET_ROUNDS", "40"))


def test_kill9_net_attach_at_random_instants(netlab):
    """`net attach` (bridge, veth, lease, nft elements, port holder) killed
    at random instants: `net detach` of the id leaves nothing, and the
    published port is free again."""
    from test_attack_ports import holders  # noqa: E402 (needs the lab's helpers)

    lab = netlab
    rng = random.Random(SEED)
    print(f"HK_KILL_SEED={SEED} HK_KILL_NET_ROUNDS={NET_ROUNDS}")
    for i in range(NET_ROUNDS):
        ns = lab.new_ns()
        cid = f"k{i}"
        delay = rng.uniform(0, 0.060)
        argv = lab.enter() + [HUSK, "net", "attach", "--state-dir", str(lab.dir),
                              "--bridge", lab.bridge, "--subnet", SUBNET, "--id", cid,
                              "--netns", f"/run/netns/{ns}", "-p", "18080:80"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        _kill_after(p, delay)
        where = f"round {i} (HK_KILL_SEED={SEED}): attach killed after {delay * 1000:.1f} ms"
        r = lab.husk_net("detach", "--state-dir", lab.dir, "--id", cid, check=False)
        assert r.returncode == 0, f"{where}: {r.stderr}"
        try:
            wait_for(lambda: not holders(lab), 3, what="the port holder to go")
            lab.assert_clean()
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from None
        out = lab.in_ns(ns, "ip", "-o", "link").stdout
        assert "eth0" not in out, f"{where}: eth0 left in the container's namespace"
        r = lab.in_ns(lab.host, "/usr/bin/python3", "-c",
                      "import socket; s=socket.socket(); s.bind(('0.0.0.0', 18080))",
                      check=False)
        assert r.returncode == 0, f"{where}: port 18080 still taken: {r.stderr}"
