"""OCI hooks: each kind runs at its point of the lifecycle, in the namespace
the spec gives it, with the state on stdin; failures follow the spec."""
import json
import os

import pytest

from conftest import bind, pid_alive, wait_for

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]

# Appends "<kind> <state json> <mount ns> <first names in />" to the log.
HOOK = """#!/bin/sh
state=$(cat)
printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$state" "$(readlink /proc/self/ns/mnt)" \
  "$(ls / | tr '\\n' ,)" >> "$2"
"""


@pytest.fixture
def hooked(hk):
    """A bundle whose every hook logs, plus the log's path."""
    logdir = hk.dir("hooklog")
    os.chmod(logdir, 0o777)
    log = logdir / "log"
    script = logdir / "hook.sh"
    script.write_text(HOOK)
    script.chmod(0o755)

    def make(args=("sh", "-c", "echo ran > /mnt/log/ran"), hooks=None, **kw):
        # startContainer runs after pivot_root: its path is the container's,
        # so the script is bound in at the same path.
        mounts = [bind(logdir, "/mnt/log"), bind(script, str(script), "ro")]
        # bind targets get created: a rootfs of our own, not the shared one
        b = hk.bundle(list(args), extra_mounts=mounts, rootfs=hk.rootfs_copy(), **kw)
        inside_log = "/mnt/log/log"
        b.config["hooks"] = hooks if hooks is not None else {
            k: [{"path": str(script), "args": ["hook.sh", k,
                                               inside_log if k == "startContainer"
                                               else str(log)]}]
            for k in KINDS}
        b.write()
        return b
    return make, log


def _entries(log):
    out = []
    for line in log.read_text().splitlines():
        kind, state, mnt, root = line.split("\t")
        out.append((kind, json.loads(state), mnt, root))
    return out


# runc 1.1.5 runs poststart hooks during create (and a failing one fails
# create); the spec runs them after start. husk follows the spec.
@pytest.mark.husk_only
def test_hooks_order_state_and_namespaces(hk, hooked):
    make, log = hooked
    b = make()
    b.config["annotations"] = {"org.example.k": "v"}
    b.write()
    cid = hk.create(b)
    pid = hk.state(cid)["pid"]
    created = [e[0] for e in _entries(log)]
    assert created == ["prestart", "createRuntime", "createContainer"]
    assert not (log.parent / "ran").exists()
    hk.start(cid)
    hk.wait_status(cid, "stopped")
    hk.delete(cid)
    entries = _entries(log)
    assert [e[0] for e in entries] == KINDS
    host_mnt = os.readlink("/proc/self/ns/mnt")
    for kind, state, mnt, root in entries:
        assert state["id"] == cid and state["pid"] == pid, (kind, state)
        assert state["bundle"] == str(b.path)
        assert state["annotations"] == {"org.example.k": "v"}
        want = {"prestart": "creating", "createRuntime": "creating",
                "createContainer": "creating", "startContainer": "created",
                "poststart": "running", "poststop": "stopped"}[kind]
        assert state["status"] == want, (kind, state)
        in_container = kind in ("createContainer", "startContainer")
        assert (mnt != host_mnt) == in_container, (kind, mnt)
    # startContainer runs after pivot_root: it sees the container's root
    start = [e for e in entries if e[0] == "startContainer"][0]
    assert "mnt," in start[3] and "boot" not in start[3]


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_aborts_and_cleans_up(hk, hooked, kind):
    make, log = hooked
    hooks = {kind: [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way >&2; exit 3"]}],
             "poststop": [{"path": "/bin/sh",
                           "args": ["sh", "-c", f"echo poststop >> {log}"]}]}
    b = make(hooks=hooks)
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    assert cid not in hk.list_ids()
    assert not (log.parent / "ran").exists()
    # the lifecycle ends with poststop (runtime.md)
    assert log.read_text() == "poststop\n"


@pytest.mark.husk_only
def test_failing_hook_message(hk, hooked):
    make, _ = hooked
    b = make(hooks={"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo no way; exit 3"]}]})
    r = hk.call("create", "--bundle", b.path, hk.new_id())
    assert r.rc == 1
    assert len(r.err_lines) == 1, r.err
    assert "hooks.createRuntime[0]" in r.err and "status 3" in r.err and "no way" in r.err


def test_hook_timeout(hk, hooked):
    make, _ = hooked
    b = make(hooks={"createRuntime": [
        {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]})
    cid = hk.new_id()
    r = hk.call("create", "--bundle", b.path, cid, timeout=20)
    assert r.rc == 1, str(r)
    assert cid not in hk.list_ids()


@pytest.mark.husk_only  # runc 1.1.5: see above
def test_failing_poststart_and_poststop_only_warn(hk, hooked):
    make, log = hooked
    fail = [{"path": "/bin/false"}]
    b = make(args=["sleep", "1000"], hooks={"poststart": fail, "poststop": fail})
    cid = hk.create(b)
    hk.start(cid)
    assert hk.status(cid) == "running"
    r = hk.call("delete", "--force", cid)
    assert r.rc == 0, str(r)
    assert cid not in hk.list_ids()


def test_hook_env_and_args(hk, hooked):
    make, log = hooked
    b = make(hooks={"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f'echo "$0 $FOO $(env | grep -c ^PATH=)" >> {log}', "zero"],
        "env": ["FOO=bar"]}]})
    cid = hk.create(b)
    assert log.read_text() == "zero bar 0\n"   # only the hook's own env
    hk.delete(cid, force=True)


def test_hooks_without_env_get_the_runtimes_or_the_processs(hk, hooked):
    """A hook without "env" runs with runc's own environment, or, for the
    hooks the container's process runs (createContainer, startContainer),
    with that process's (issue 16 A9: husk gave them none)."""
    make, log = hooked
    dump = log.parent / "env.sh"
    dump.write_text('#!/bin/sh\nenv > "$2.$1"\n')
    dump.chmod(0o755)
    hooks = {}
    for k in KINDS:
        out = "/mnt/log/env" if k == "startContainer" else str(log.parent / "env")
        hooks[k] = [{"path": str(dump), "args": ["env.sh", k, out]}]
    b = make(args=["true"], hooks=hooks, env=["PATH=/bin:/usr/bin", "FROM_PROCESS=1"])
    b.config["mounts"].append(bind(dump, str(dump), "ro"))
    b.write()
    cid = hk.new_id()
    r = hk.call("run", "--bundle", b.path, cid, env={**os.environ, "HK_CALLER": "yes"})
    assert r.rc == 0, str(r)
    env = {k: (log.parent / f"env.{k}").read_text().splitlines() for k in KINDS}
    for k in ("prestart", "createRuntime", "poststart", "poststop"):
        assert "HK_CALLER=yes" in env[k] and "FROM_PROCESS=1" not in env[k], (k, env[k])
    for k in ("createContainer", "startContainer"):
        assert "FROM_PROCESS=1" in env[k] and "HK_CALLER=yes" not in env[k], (k, env[k])
    assert "HOME=/root" in env["startContainer"], env["startContainer"]


@pytest.mark.husk_only  # runc 1.1.5 accepts a relative path and timeout 0
def test_hook_bad_input(hk, hooked):
    make, _ = hooked
    for hooks, field in (({"prestart": [{"path": "relative"}]}, "hooks.prestart[0].path"),
                         ({"poststop": [{"path": "/bin/true", "timeout": 0}]},
                          "hooks.poststop[0].timeout"),
                         ({"createRuntime": {}}, "hooks.createRuntime")):
        b = make(hooks=hooks)
        cid = hk.new_id()
        r = hk.call("create", "--bundle", b.path, cid)
        assert r.rc != 0, str(r)
        assert cid not in hk.list_ids()


CWD_HOOK = """#!/bin/sh
cat > /dev/null
echo "$1 $(pwd -P)" >> "$2"
"""


def test_hooks_working_directory(hk):
    """runc runs the runtime's hooks in the bundle and the container's in
    its root (the rootfs before pivot_root for createContainer, / after it
    for startContainer); husk ran them all wherever it was started."""
    logdir = hk.dir("cwdlog")
    os.chmod(logdir, 0o777)
    script = logdir / "hook.sh"
    script.write_text(CWD_HOOK)
    script.chmod(0o755)
    rootfs = hk.rootfs_copy()
    b = hk.bundle(["true"], rootfs=rootfs,
                  extra_mounts=[bind(logdir, "/mnt/log"), bind(script, str(script), "ro")])
    b.config["hooks"] = {
        k: [{"path": str(script), "args": ["hook.sh", k, "/mnt/log/log" if k == "startContainer"
                                           else str(logdir / "log")]}]
        for k in ("prestart", "createRuntime", "createContainer", "startContainer", "poststop")}
    b.write()
    cid = hk.new_id()
    r = hk.call("run", "--bundle", b.path, cid, cwd="/")
    assert r.rc == 0, str(r)
    seen = dict(l.split(" ", 1) for l in (logdir / "log").read_text().splitlines())
    bundle = os.path.realpath(b.path)
    assert seen["prestart"] == bundle and seen["createRuntime"] == bundle, seen
    assert seen["poststop"] == bundle, seen
    assert seen["createContainer"] == os.path.realpath(rootfs), seen
    assert seen["startContainer"] == "/", seen


@pytest.mark.husk_only  # husk's own state dir
def test_exec_fifo_replaced_by_a_file_is_refused(hk, tmp_path):
    """A createRuntime hook (root, in the runtime's namespaces) that puts a
    regular file where exec.fifo was: the process's open of it returned at
    once and the program ran without start (outside attack, round 16, F3).
    The process checks that it opened a fifo; create fails and nothing of
    the container stays."""
    from conftest import STATE_ROOT
    ran = tmp_path / "ran"
    b = hk.bundle(["sh", "-c", "echo ran > /mnt/out/ran"],
                  extra_mounts=[bind(tmp_path, "/mnt/out")], rootfs=hk.rootfs_copy())
    cid = hk.new_id()
    fifo = STATE_ROOT / cid / "exec.fifo"
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh", "args": ["sh", "-c", f"rm -f {fifo} && echo x > {fifo}"]}]}
    b.write()
    cid, r = hk.create(b, cid, check=False)
    # the process refuses after DONE, when create may have returned: it
    # says so on the stderr it shares with create, and exits
    assert "exec.fifo is not a fifo" in r.err, str(r)
    assert wait_for(lambda: hk.call("state", cid).rc != 0
                    or json.loads(hk.call("state", cid).out)["status"] == "stopped")
    assert hk.call("start", cid).rc != 0
    assert not ran.exists()
    hk.call("delete", "-f", cid)
    assert cid not in hk.list_ids()
