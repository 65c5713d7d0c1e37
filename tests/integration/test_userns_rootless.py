"""husk run by an unprivileged user, the basics (split from
test_userns.py): `spec --rootless`, run, the lifecycle, subordinate ids
through newuidmap/newgidmap, and no XDG_RUNTIME_DIR. The `rootless`
fixture makes the user, with a /etc/subuid and /etc/subgid range, and
removes it again with everything it ran; test_rootless.py and the other
tests run by a user take it from here.
"""

import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (CMD_TIMEOUT, DEFAULT_PATH, HUSK, IS_RUNC, MARK_ENV, Result,
                      cgroup_dirs_named, new_id, ns_id, pid_alive, session_processes, tmpfs,
                      wait_for)
from test_userns import MAP_SIZE, id_map, map_lines, set_maps, status_fields

RUNTIME_NAME = "runc" if IS_RUNC else "husk"


def _searchable_by_all(path):
    p = Path(path).resolve()
    if not os.stat(p).st_mode & 0o001:
        return False
    return all(os.stat(d).st_mode & 0o001 for d in p.parents)


def _drop_lines(path, name):
    """Remove name's lines from /etc/subuid or /etc/subgid."""
    try:
        lines = Path(path).read_text().splitlines(keepends=True)
    except FileNotFoundError:
        return
    keep = [l for l in lines if not l.startswith(f"{name}:")]
    if keep != lines:
        Path(path).write_text("".join(keep))


def _sub_range(path, name):
    try:
        for line in Path(path).read_text().splitlines():
            n, start, count = line.split(":")
            if n == name:
                return int(start), int(count)
    except FileNotFoundError:
        pass
    return None


def _free_sub_start(path, count=MAP_SIZE):
    """A start above every range in path (for a line we add ourselves)."""
    top = 100000
    try:
        for line in Path(path).read_text().splitlines():
            if line.count(":") == 2:
                _n, start, cnt = line.split(":")
                top = max(top, int(start) + int(cnt))
    except FileNotFoundError:
        pass
    return top


class RootlessUser:
    """An unprivileged user made for one test, with its own state dir
    ($XDG_RUNTIME_DIR, 0700), a bundle dir and the runtime binary."""

    def __init__(self, hk, name):
        self.hk = hk
        self.name = name
        pw = pwd.getpwnam(name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.work = hk.dir(f"rootless-{name}")
        self.xdg = self.work / "xdg"
        self.state_dir = self.xdg / RUNTIME_NAME
        self.ids = []
        self.runtime = HUSK
        self.subuid = self.subgid = None

    def chown(self, path, recursive=False):
        if recursive:
            subprocess.run(["chown", "-hR", f"{self.uid}:{self.gid}", str(path)],
                           check=True, timeout=30)
        else:
            os.chown(path, self.uid, self.gid)

    def new_id(self):
        cid = new_id()
        self.ids.append(cid)
        return cid

    def call(self, *args, xdg=True, cwd=None, timeout=CMD_TIMEOUT, tag=None):
        env = [f"PATH={DEFAULT_PATH[5:]}", f"HOME={self.home}", f"USER={self.name}",
               f"LOGNAME={self.name}"]
        if xdg:
            env.append(f"XDG_RUNTIME_DIR={self.xdg}")
        argv = (["runuser", "-u", self.name, "--", "env", "-i", *env, self.runtime]
                + [str(a) for a in args])
        self.hk._n += 1
        out = self.hk.work / f"rl{self.hk._n}{tag or ''}.out"
        err = self.hk.work / f"rl{self.hk._n}{tag or ''}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            try:
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                   timeout=timeout, cwd=cwd)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"{argv} did not finish in {timeout}s")
        return Result(argv, p.returncode, out.read_text(errors="replace"),
                      err.read_text(errors="replace"))

    def ok(self, *args, **kw):
        r = self.call(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    def state(self, cid):
        return json.loads(self.ok("state", cid).out)

    def status(self, cid):
        r = self.call("state", cid)
        return json.loads(r.out)["status"] if r.rc == 0 else None

    def bundle(self, name="bundle"):
        """A bundle dir owned by the user, with a rootfs copy (its own too)
        and the config `spec --rootless` writes."""
        b = self.work / name
        b.mkdir()
        self.chown(b)
        rootfs = self.hk.rootfs_copy(f"{self.work.name}/{name}/rootfs")
        self.chown(rootfs, recursive=True)
        self.ok("spec", "--rootless", cwd=b)
        return b

    def process_uids(self):
        """Host uids the user's containers can run as."""
        uids = {self.uid}
        if self.subuid:
            uids |= set(range(self.subuid[0], self.subuid[0] + self.subuid[1]))
        return uids


def load_config(bundle):
    return json.loads((bundle / "config.json").read_text())


def save_config(bundle, cfg):
    # rewritten in place: the file stays the user's
    with open(bundle / "config.json", "w") as f:
        json.dump(cfg, f, indent=1)


def rootless_config(bundle, args, hostname=None, edit=None):
    cfg = load_config(bundle)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    cfg["process"]["env"] = [DEFAULT_PATH, MARK_ENV]
    if hostname:
        cfg["hostname"] = hostname
    if edit:
        edit(cfg)
    save_config(bundle, cfg)
    return cfg


def _uid_of(pid):
    try:
        return int(status_fields(pid)["Uid"].split()[0])
    except (OSError, KeyError):
        return None


@pytest.fixture
def rootless(hk, traversable):
    name = f"hkt{secrets.token_hex(3)}"
    added = []
    user = None
    try:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True,
                       timeout=30, capture_output=True)
        user = RootlessUser(hk, name)
        # Debian's useradd gives a range when login.defs has SUB_UID_MIN...;
        # otherwise add one
        for path in ("/etc/subuid", "/etc/subgid"):
            if _sub_range(path, name) is None:
                start = _free_sub_start(path)
                with open(path, "a") as f:
                    f.write(f"{name}:{start}:{MAP_SIZE}\n")
                added.append(path)
        user.subuid = _sub_range("/etc/subuid", name)
        user.subgid = _sub_range("/etc/subgid", name)
        if not _searchable_by_all(HUSK):
            bindir = hk.dir("rootless-bin")
            user.runtime = str(bindir / os.path.basename(HUSK))
            shutil.copy2(HUSK, user.runtime)
            os.chmod(user.runtime, 0o755)
            traversable(bindir)
        user.xdg.mkdir(mode=0o700)
        user.chown(user.xdg)
        user.chown(user.work)
        traversable(user.work)
        yield user
    finally:
        if user is not None:
            for cid in reversed(user.ids):
                user.call("delete", "--force", cid)
            # whatever the user (or its containers, as its subordinate
            # ids) still runs
            subprocess.run(["pkill", "-KILL", "-U", str(user.uid)], timeout=10)
            for pid, _why, _cmd in session_processes(hk.sess.rootfs_ids):
                if _uid_of(pid) in user.process_uids():
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
            wait_for(lambda: not [p for p in os.listdir("/proc") if p.isdigit()
                                  and _uid_of(p) == user.uid],
                     timeout=5, what=f"{name}'s processes to be gone")
            shutil.rmtree(user.work, ignore_errors=True)
        subprocess.run(["userdel", "-r", name], timeout=30, capture_output=True)
        for path in ("/etc/subuid", "/etc/subgid"):
            _drop_lines(path, name)
        try:
            pwd.getpwnam(name)
            raise AssertionError(f"userdel {name} failed")
        except KeyError:
            pass


def _links(text):
    return re.findall(r"^\d+: ([^:@]+)[:@]", text, re.M)


def test_rootless_spec(rootless):
    b = rootless.bundle()
    st = os.stat(b / "config.json")
    assert (st.st_uid, st.st_gid) == (rootless.uid, rootless.gid)
    cfg = load_config(b)
    lx = cfg["linux"]
    assert lx["uidMappings"] == id_map(rootless.uid, 1)
    assert lx["gidMappings"] == id_map(rootless.gid, 1)
    types = {ns["type"] for ns in lx["namespaces"]}
    assert {"user", "pid", "ipc", "uts", "mount"} <= types, types
    assert not any(ns.get("path") for ns in lx["namespaces"])
    sys_mount = [m for m in cfg["mounts"] if m["destination"] == "/sys"]
    assert len(sys_mount) == 1 and sys_mount[0]["type"] != "sysfs", sys_mount
    assert "rbind" in sys_mount[0]["options"] and "ro" in sys_mount[0]["options"]
    pts = [m for m in cfg["mounts"] if m["destination"] == "/dev/pts"][0]
    assert not any(o.startswith("gid=") for o in pts["options"]), pts


@pytest.mark.husk_only
def test_rootless_spec_namespaces(rootless):
    cfg = load_config(rootless.bundle())
    types = [ns["type"] for ns in cfg["linux"]["namespaces"]]
    assert sorted(types) == sorted(["pid", "ipc", "uts", "mount", "cgroup", "network", "user"])


def test_rootless_run(rootless):
    b = rootless.bundle()
    name = f"hk-{secrets.token_hex(3)}"
    cfg = rootless_config(b, ["sh", "-c", "id -u; id -g; hostname; ip link; ls /mnt"],
                          hostname=name)
    cid = rootless.new_id()
    r = rootless.call("run", "--bundle", b, cid)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    assert lines[:3] == ["0", "0", name], r.out
    links = _links(r.out)
    assert "lo" in links, r.out
    if any(ns["type"] == "network" for ns in cfg["linux"]["namespaces"]):
        assert links == ["lo"], r.out
    # state under $XDG_RUNTIME_DIR/<runtime>, and nothing left of it
    assert rootless.state_dir.is_dir()
    assert os.listdir(rootless.state_dir) == []
    assert rootless.call("state", cid).rc != 0
    assert cgroup_dirs_named(cid) == []


def test_rootless_lifecycle(rootless):
    b = rootless.bundle()
    # pid 1 of a pid namespace gets only the signals it handles
    rootless_config(b, ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"])

    # run --detach
    cid = rootless.new_id()
    r = rootless.call("run", "--detach", "--bundle", b, cid, tag="runD")
    assert r.rc == 0, str(r)
    st = rootless.state(cid)
    assert st["status"] == "running"
    pid = st["pid"]
    assert pid_alive(pid)
    assert status_fields(pid)["Uid"].split() == [str(rootless.uid)] * 4
    assert map_lines(open(f"/proc/{pid}/uid_map").read()) == [["0", str(rootless.uid), "1"]]
    assert ns_id(pid, "user") != ns_id("self", "user")
    assert cid in os.listdir(rootless.state_dir)
    assert rootless.ok("list", "-q").out.split() == [cid]
    # no cgroup: the user cannot write the hierarchy
    assert cgroup_dirs_named(cid) == []
    rootless.ok("kill", cid, "KILL")
    wait_for(lambda: rootless.status(cid) == "stopped", what=f"{cid} stopped")
    rootless.ok("delete", cid)
    assert rootless.call("state", cid).rc != 0
    assert not pid_alive(pid)

    # create, start, kill, delete
    cid = rootless.new_id()
    r = rootless.call("create", "--bundle", b, cid, tag="create")
    assert r.rc == 0, str(r)
    st = rootless.state(cid)
    assert st["status"] == "created"
    pid = st["pid"]
    assert status_fields(pid)["Uid"].split() == [str(rootless.uid)] * 4
    rootless.ok("start", cid)
    wait_for(lambda: rootless.status(cid) == "running", what=f"{cid} running")
    assert rootless.state(cid)["pid"] == pid
    rootless.ok("kill", cid, "TERM")
    wait_for(lambda: rootless.status(cid) == "stopped", what=f"{cid} stopped")
    rootless.ok("delete", cid)
    assert not pid_alive(pid)
    assert os.listdir(rootless.state_dir) == []
    assert rootless.ok("list", "-q").out.split() == []


def _subordinate_maps(user, with_own_id):
    """0..65535 on the user's subordinate ids, or 0 on its own id and
    1..65535 on subordinate ids."""
    if with_own_id:
        return ([{"containerID": 0, "hostID": user.uid, "size": 1},
                 {"containerID": 1, "hostID": user.subuid[0], "size": MAP_SIZE - 1}],
                [{"containerID": 0, "hostID": user.gid, "size": 1},
                 {"containerID": 1, "hostID": user.subgid[0], "size": MAP_SIZE - 1}])
    return id_map(user.subuid[0]), id_map(user.subgid[0])


@pytest.mark.parametrize("with_own_id", [False, True], ids=["subordinate", "own-and-subordinate"])
def test_rootless_subordinate_ids(rootless, with_own_id):
    if IS_RUNC and not with_own_id:
        pytest.skip("runc 1.1 fchowns stdio to the container's root, which the "
                    "user may not when that is not its own uid")
    b = rootless.bundle()
    uid_map, gid_map = _subordinate_maps(rootless, with_own_id)

    def edit(cfg):
        set_maps(cfg, uid_map, gid_map)
        cfg["mounts"].append(tmpfs("/tmp"))
        for caps in cfg["process"]["capabilities"].values():
            caps.append("CAP_CHOWN")

    rootless_config(b, ["sh", "-c", "cat /proc/self/uid_map; echo --; "
                        "cat /proc/self/gid_map; echo --; id -u; "
                        "touch /tmp/x && chown 1000:1000 /tmp/x && stat -c %u:%g /tmp/x"],
                    edit=edit)
    cid = rootless.new_id()
    r = rootless.call("run", "--bundle", b, cid)
    assert r.rc == 0, str(r)
    uids, gids, rest = r.out.split("--\n")
    want = lambda m: [[str(e["containerID"]), str(e["hostID"]), str(e["size"])] for e in m]
    assert map_lines(uids) == want(uid_map)
    assert map_lines(gids) == want(gid_map)
    assert rest.split() == ["0", "1000:1000"]


def test_rootless_without_xdg_runtime_dir(rootless):
    b = rootless.bundle()
    rootless_config(b, ["sh", "-c", "true"])
    cid = rootless.new_id()
    r = rootless.call("create", "--bundle", b, cid, xdg=False)
    assert r.rc == 1, str(r)
    # (runc makes its state dir for any command, `spec` included)
    assert not rootless.state_dir.exists() or os.listdir(rootless.state_dir) == []
    assert not Path(f"/run/{RUNTIME_NAME}/{cid}").exists()
    wait_for(lambda: not [p for p in os.listdir("/proc") if p.isdigit()
                          and _uid_of(p) == rootless.uid],
             timeout=3, what="no process of the user")


@pytest.mark.husk_only
def test_rootless_without_xdg_runtime_dir_message(rootless):
    b = rootless.bundle()
    rootless_config(b, ["sh", "-c", "true"])
    r = rootless.call("create", "--bundle", b, rootless.new_id(), xdg=False)
    assert r.rc == 1, str(r)
    assert len(r.err_lines) == 1, r.err
    assert "XDG_RUNTIME_DIR" in r.err_lines[0], r.err
