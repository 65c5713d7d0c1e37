"""Bad bundles and ids: exit status 1, one line on stderr naming the problem,
and nothing left behind (no state entry, mount, cgroup or process).

The exit status and nothing-left-behind checks run against any runtime; the
message checks (test_*_message) are husk's error contract and are skipped
for runc, whose messages differ.
"""

import os
import shutil
from pathlib import Path

import pytest

from conftest import (ID_PREFIX, STATE_BASE, STATE_ROOT, bind, cgroup_dirs_named,
                      mountinfo_lines_mentioning, own_cgroup_dirs,
                      session_processes, wait_for)


# --------------------------------------------------------------------------
# each case: f(hk) -> (bundle dir, text the error line must contain)

def _missing_bundle(hk):
    path = hk.work / "no-such-bundle"
    return path, str(path)


def _missing_config(hk):
    b = hk.bundle()
    (b.path / "config.json").unlink()
    return b.path, "config.json"


def _malformed(hk):
    b = hk.bundle()
    (b.path / "config.json").write_text('{"ociVersion": "1.0.2", "process": {')
    return b.path, "config.json"


def _edit(fn, mention):
    def case(hk):
        b = hk.bundle(["sh", "-c", "touch /mnt/rw/ran"],
                      extra_mounts=[bind(hk.dir("out"), "/mnt/rw")])
        fn(b.config, hk)
        b.write()
        return b.path, mention(hk) if callable(mention) else mention
    return case


def _set(path, value):
    def fn(cfg, hk):
        *parents, last = path
        d = cfg
        for k in parents:
            d = d[k]
        d[last] = value
    return fn


_REMOUNT = {"destination": "/mnt/x", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "remount"]}


def _missing_rootfs(cfg, hk):
    cfg["root"]["path"] = str(hk.work / "no-such-rootfs")


def _ns_foo(cfg, hk):
    cfg["linux"]["namespaces"][2]["type"] = "foo"


CASES = {
    "missing-bundle": _missing_bundle,
    "missing-config": _missing_config,
    "malformed-json": _malformed,
    "hostname-not-string": _edit(_set(["hostname"], 5), "hostname"),
    "namespace-type-not-string": _edit(
        _set(["linux", "namespaces", 0, "type"], 7), "linux.namespaces[0].type"),
    "namespace-type-unknown": _edit(_ns_foo, "linux.namespaces[2].type"),
    "missing-rootfs": _edit(_missing_rootfs,
                            lambda hk: str(hk.work / "no-such-rootfs")),
    "args0-absolute-not-found": _edit(
        _set(["process", "args"], ["/bin/nonexistent", "x"]), "nonexistent"),
    "args0-path-not-found": _edit(
        _set(["process", "args"], ["nonexistent-cmd"]), "nonexistent-cmd"),
    "args-empty": _edit(_set(["process", "args"], []), "process.args"),
    "cwd-relative": _edit(_set(["process", "cwd"], "tmp"), "process.cwd"),
}
# runc accepts these; husk must refuse them
HUSK_ONLY_CASES = {
    "oci-version-major-2": _edit(_set(["ociVersion"], "2.0.0"), "ociVersion"),
    "user-namespace-without-maps": _edit(
        lambda cfg, hk: cfg["linux"].update(
            namespaces=cfg["linux"]["namespaces"] + [{"type": "user"}]),
        "uidMappings"),
    # runc hands an option it does not know to the filesystem; husk knows
    # remount and does not do it: refused with the spec, naming the mount
    "mount-option-not-supported": _edit(
        lambda cfg, hk: cfg["mounts"].append(_REMOUNT),
        'options: mount option "remount": not supported yet by husk'),
}


def _cgroup_children():
    # Only this session's cgroups: other runs on the machine come and go.
    snap = {}
    for d in own_cgroup_dirs():
        snap[d] = {e.name for e in os.scandir(d) if e.is_dir() and e.name.startswith(ID_PREFIX)}
    return snap


def assert_nothing_left(hk, cid, cg_before):
    """Checked right away, before the fixture's delete --force could tidy up."""
    assert sorted(os.listdir(STATE_ROOT)) == []
    assert sorted(os.listdir(STATE_BASE)) == ["root"]
    assert hk.list_ids() == []
    assert cg_before == _cgroup_children(), "cgroup left behind"
    if cid:
        assert cgroup_dirs_named(cid) == []
    assert mountinfo_lines_mentioning(hk.sess.tmp, STATE_BASE) == []
    # a process of the failed container may take a moment to be reaped
    wait_for(lambda: not session_processes(hk.sess.rootfs_ids), timeout=3,
             what="no container process")


def _check_failure(hk, r, mention, husk_message):
    assert r.rc == 1, str(r)
    if husk_message:
        lines = r.err_lines
        assert len(lines) == 1, f"want exactly one line on stderr:\n{r.err}"
        assert mention in lines[0], f"{mention!r} not in {lines[0]!r}"


def _attempt(hk, cmd, case, husk_message):
    bundle, mention = case(hk)
    cid = hk.new_id()
    cg = _cgroup_children()
    args = [cmd, "--bundle", bundle, cid]
    if cmd == "run-detach":
        args = ["run", "--detach", "--bundle", bundle, cid]
    r = hk.call(*args)
    _check_failure(hk, r, mention, husk_message)
    assert_nothing_left(hk, cid, cg)
    # the program never ran
    assert not (hk.work / "out" / "ran").exists()


@pytest.mark.parametrize("cmd", ["create", "run", "run-detach"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_bundle(hk, case, cmd):
    _attempt(hk, cmd, CASES[case], husk_message=False)


@pytest.mark.husk_only
@pytest.mark.parametrize("case", list(CASES))
def test_bad_bundle_message(hk, case):
    _attempt(hk, "create", CASES[case], husk_message=True)


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", ["create", "run"])
@pytest.mark.parametrize("case", list(HUSK_ONLY_CASES))
def test_bad_bundle_husk_only(hk, case, cmd):
    _attempt(hk, cmd, HUSK_ONLY_CASES[case], husk_message=True)


# --------------------------------------------------------------------------
# container ids

BAD_IDS = {"slash": "a/b", "dotdot": "..", "dot": ".", "empty": "",
           "too-long": "x" * 1025}


def _id_attempt(hk, bad_id, husk_message):
    b = hk.bundle(["sh", "-c", "true"])
    cg = _cgroup_children()
    r = hk.call("create", "--bundle", b.path, bad_id)
    _check_failure(hk, r, "id", husk_message)
    if husk_message:
        assert "id" in r.err.lower()
    # also covers "a" (from "a/b") and anything written through ".."
    assert_nothing_left(hk, None, cg)


@pytest.mark.parametrize("which", list(BAD_IDS))
def test_bad_container_id(hk, which):
    _id_attempt(hk, BAD_IDS[which], husk_message=False)


@pytest.mark.husk_only
@pytest.mark.parametrize("which", list(BAD_IDS))
def test_bad_container_id_message(hk, which):
    _id_attempt(hk, BAD_IDS[which], husk_message=True)


@pytest.mark.parametrize("cmd", ["state", "start", "kill", "delete"])
@pytest.mark.parametrize("which", ["slash", "dotdot", "empty"])
def test_bad_container_id_other_commands(hk, cmd, which):
    # "delete .." is a real hazard: crun 1.8.1 empties <root>/.. (then fails).
    # The state root is nested in a directory of ours, so a runtime with that
    # bug only destroys this session's own /run/hk-test-<session>.
    r = hk.call(cmd, BAD_IDS[which])
    assert r.rc != 0, str(r)
    assert sorted(os.listdir(STATE_BASE)) == ["root"]


@pytest.mark.parametrize("cmd", ["state", "start", "kill", "delete"])
def test_unknown_container(hk, cmd):
    r = hk.call(cmd, hk.new_id())
    assert r.rc == 1, str(r)
    assert r.out == ""


@pytest.mark.husk_only
@pytest.mark.parametrize("cmd", ["state", "start", "kill", "delete"])
def test_unknown_container_message(hk, cmd):
    cid = hk.new_id()
    r = hk.call(cmd, cid)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1 and cid in r.err, r.err


def test_missing_container_id_argument(hk):
    for cmd in ("create", "start", "state", "kill", "delete"):
        r = hk.call(cmd)
        assert r.rc != 0, str(r)
    assert os.listdir(STATE_ROOT) == []


@pytest.mark.husk_only  # runc records the path with U+FFFD in its place
def test_bundle_path_not_utf8_is_refused_whole(hk):
    """state.json is JSON, which holds only UTF-8: a bundle whose path is
    not was recorded anyway, then unreadable, and its process and cgroups
    outlived `delete --force`."""
    b = hk.bundle(["sleep", "1000"])
    odd = Path(os.fsdecode(bytes(b.path) + b"\xff"))
    shutil.copytree(b.path, odd)
    cid = hk.new_id()
    r = hk.call("create", "--bundle", odd, cid)
    assert r.rc == 1 and "is not UTF-8" in r.err and "\\xff" in r.err, str(r)
    assert hk.call("state", cid).rc == 1


@pytest.mark.parametrize("sig", ["RTMAX+1", "RTMIN-1", "RTMAX+5", "RTMIN+", "SIGRTMIN-2"])
def test_kill_realtime_signal_out_of_range(hk, sig):
    """RTMIN+N and RTMAX-N only: husk dropped the sign (RTMAX+1 sent
    SIGRTMAX-1). runc 1.1.5 refuses them as unknown signals."""
    cid = hk.run_detached(hk.bundle(["sleep", "1000"]))
    r = hk.call("kill", cid, sig)
    assert r.rc != 0, str(r)
    assert hk.status(cid) == "running"


@pytest.mark.husk_only
def test_unsupported_mount_option_refused_before_anything_is_made(hk):
    """A mount option husk does not do is found while the spec is decoded:
    the error is the first thing create does, before the state directory,
    the cgroup or the container's process exist (it used to come from the
    container's process, once all of them had been made, and undone)."""
    b = hk.bundle(["true"])
    b.config["mounts"].append(_REMOUNT)
    b.write()
    cid = hk.new_id()
    cg = _cgroup_children()
    r = hk.call("--debug", "create", "--bundle", b.path, cid)
    assert r.rc == 1, str(r)
    errors = [i for i, l in enumerate(r.err_lines) if "debug:" not in l]
    assert len(errors) == 1, str(r)
    assert f'mounts[{len(b.config["mounts"]) - 1}].options: mount option "remount": ' \
        "not supported yet by husk" in r.err_lines[errors[0]], str(r)
    # nothing was made before it: no debug line of a state, cgroup or process
    before = r.err_lines[:errors[0]]
    made = [l for l in before if any(w in l for w in ("state", "cgroup", "child", "spawn",
                                                      "create:", "clone"))]
    assert made == [], str(r)
    assert_nothing_left(hk, cid, cg)
