"""husk launch run by an ordinary user (issue 22), as rootless podman runs a
container: a user namespace of the launch's own in which the user is root
and ids 1 and up are the user's subordinate ids (newuidmap, newgidmap), the
overlay mounted there, per-user data and cache directories
(~/.local/share/husk, ~/.cache/husk), --net none, host and pasta (with -p),
nothing left behind by a launch that fails, and the attacks of another user
on the user's directories.

The user is the throwaway one of test_userns.py's `rootless` fixture (made
with a subordinate id range, removed with everything it ran and its home).
pasta needs /dev/net/tun, which is root's alone here: its test runs in a
mount namespace of its own with a node of the test's making bound there,
and a network namespace of its own (a veth pair for the routes pasta
copies), so that the host's /dev/net/tun and network stay as they are.
"""
import io
import json
import os
import secrets
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import DEFAULT_PATH, HUSK, cgroup_dirs_named, wait_for
from engines import on_a_terminal
from ocimage import Image, tar_of_dir
from test_userns_rootless import _drop_lines, rootless  # noqa: F401

pytestmark = pytest.mark.husk_only

LAUNCH = Path(HUSK).parent / "husk-launch"
INIT = Path(HUSK).parent / "husk-init"
TIMEOUT = 60


class User:
    """The rootless fixture's user, launching."""

    def __init__(self, u, rootfs):
        self.u = u
        self.rootfs = rootfs
        self.home = Path(u.home)
        self.data = self.home / ".local/share/husk"
        self.cache = self.home / ".cache/husk"
        self.state_root = u.xdg / "husk"

    def env(self):
        return [f"PATH={DEFAULT_PATH[5:]}", f"HOME={self.home}", f"USER={self.u.name}",
                f"LOGNAME={self.u.name}", f"XDG_RUNTIME_DIR={self.u.xdg}"]

    def launch(self, *args, timeout=TIMEOUT):
        return self.u.call("launch", *args, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.launch(*args, **kw)
        assert r.rc == 0, str(r)
        return r

    def entries(self, d=None):
        d = d or self.data
        return sorted(os.listdir(d)) if d.exists() else []

    def user_processes(self):
        return [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) in
                self.u.process_uids()]

    def assert_nothing_left(self):
        assert self.entries() == [], self.entries()
        assert self.entries(self.state_root) == [], self.entries(self.state_root)
        wait_for(lambda: not self.user_processes(), timeout=5,
                 what="the user's processes to be gone")


def _uid_of(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


@pytest.fixture
def user(rootless, hk):
    if not (os.access(LAUNCH, os.X_OK) and os.access(INIT, os.X_OK)):
        pytest.skip("husk-launch or husk-init not built")
    if rootless.runtime != HUSK:
        # the companions must sit next to the copy
        for b in (LAUNCH, INIT):
            shutil.copy2(b, Path(rootless.runtime).parent / b.name)
    rootfs = hk.rootfs_copy(f"{rootless.work.name}/rootfs")
    rootless.chown(rootfs, recursive=True)
    yield User(rootless, rootfs)


def _host_uid(user, inside):
    """The host uid of a container uid: the user's for 0, then the range."""
    return user.u.uid if inside == 0 else user.u.subuid[0] + inside - 1


# --------------------------------------------------------------------------
# a rootfs directory, an image

def test_rootfs_rm(user):
    """--rm: root inside is the user, ids 1.. the subordinate range; the
    overlay is mounted in the user's namespace (userxattr); nothing stays."""
    before = subprocess.run(["find", user.rootfs, "-newer", user.rootfs / "bin"],
                            capture_output=True, text=True).stdout
    r = user.ok("--rm", "--net", "none", user.rootfs, "sh", "-c",
                "id -u; cat /proc/self/uid_map; awk '$5==\"/\"' /proc/self/mountinfo; "
                "echo x > /written; cat /written")
    lines = r.out.splitlines()
    assert lines[0] == "0", str(r)
    maps = [l.split() for l in lines[1:3]]
    assert maps == [["0", str(user.u.uid), "1"],
                    ["1", str(user.u.subuid[0]), str(user.u.subuid[1])]], str(r)
    assert "overlay" in lines[3] and "userxattr" in lines[3], str(r)
    assert lines[4] == "x"
    assert not (user.rootfs / "written").exists()
    assert subprocess.run(["find", user.rootfs, "-newer", user.rootfs / "bin"],
                          capture_output=True, text=True).stdout == before
    user.assert_nothing_left()
    # the per-user defaults, the user's own
    for d in (user.data, user.cache):
        st = os.stat(d)
        assert (st.st_uid, st.st_mode & 0o777) == (user.u.uid, 0o700), d


def _as_user(user, env, *args):
    argv = ["runuser", "-u", user.u.name, "--", "env", "-i", *env, user.u.runtime, "launch",
            *[str(a) for a in args]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def test_xdg_dirs_and_newuidmap_missing(user):
    """$XDG_DATA_HOME is DATA's parent when absolute; a relative
    $XDG_CACHE_HOME is ignored (the XDG spec says so). Without newuidmap
    the user is told which package has it."""
    xd = user.home / "xd"
    env = [e for e in user.env()] + [f"XDG_DATA_HOME={xd}", "XDG_CACHE_HOME=rel"]
    p = _as_user(user, env, "-d", "--net", "none", user.rootfs, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    name = p.stdout.strip()
    user.u.ids.append(name)
    assert os.listdir(xd / "husk") == [name]
    assert user.cache.is_dir() and not (user.home / "rel").exists()
    user.u.ok("delete", "--force", name)
    env = [e if not e.startswith("PATH=") else "PATH=/nonexistent" for e in user.env()]
    p = _as_user(user, env, "--rm", "--net", "none", user.rootfs, "true")
    assert p.returncode == 125 and "newuidmap: not found" in p.stderr, p.stderr
    assert os.listdir(xd / "husk") == []
    user.assert_nothing_left()


def _image(session_rootfs):
    """The busybox rootfs, then a layer with a file and a directory of uid
    100 (an image's daemon user), a whiteout and an opaque directory, and
    a device node (left out in a user namespace, as rootless podman's)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, uid in (("srv", tarfile.DIRTYPE, 100), ("srv/owned", tarfile.REGTYPE, 100),
                                ("etc/.wh.deleteme", tarfile.REGTYPE, 0),
                                ("opq/.wh..wh..opq", tarfile.REGTYPE, 0),
                                ("opq/c", tarfile.REGTYPE, 0),
                                ("dev/null2", tarfile.CHRTYPE, 0)):
            ti = tarfile.TarInfo(name)
            ti.type, ti.uid, ti.gid, ti.mtime = kind, uid, uid, 1700000000
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            if kind == tarfile.CHRTYPE:
                ti.devmajor, ti.devminor = 1, 3
            t.addfile(ti, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    l1 = tar_of_dir(session_rootfs, [("etc/deleteme", b"old\n"), ("opq", None),
                                     ("opq/a", b"a\n")])
    return Image([(l1, "gzip"), (buf.getvalue(), "tar")],
                 {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hello"],
                  "Env": ["PATH=/bin:/usr/bin:/sbin"]})


def test_image_archive(user, hk):
    img = _image(hk.sess.rootfs)
    archive = img.oci_archive(user.u.work / "img.tar")
    user.u.chown(archive)
    r = user.ok("--rm", "--net", "none", archive)
    assert r.out == "hello\n", str(r)
    r = user.ok("--rm", "--net", "none", archive,
                "stat -c '%u %g' /srv/owned; test -e /etc/deleteme || echo gone; ls /opq; "
                "test -e /dev/null2 || echo nodev")
    assert r.out.split("\n")[:4] == ["100 100", "gone", "c", "nodev"], str(r)
    # unpacked in the user's namespace: uid 100 is the range's
    layer = user.cache / "sha256" / img.layer_hex(1) / "srv" / "owned"
    st = os.stat(layer)
    assert (st.st_uid, st.st_gid) == (_host_uid(user, 100), user.u.subgid[0] + 99)
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# detached, deleted by the user's own `husk` on the host

def test_detached_logs_kill_delete(user):
    name = f"hk{secrets.token_hex(5)}"
    user.u.ids.append(name)
    r = user.ok("-d", "--name", name, "--net", "none", user.rootfs, "sh", "-c",
                "echo started; mkdir -p /home/x; touch /home/x/f; chown -R 1000:1000 "
                "/home/x; chmod 700 /home/x; echo done; exec sleep 1000")
    assert r.out.strip() == name
    log = user.data / name / "output.log"
    wait_for(lambda: log.exists() and "done" in log.read_text(), timeout=10, what="the log")
    assert user.u.state(name)["status"] == "running"
    r = user.u.ok("exec", name, "id", "-u")
    assert r.out == "0\n"
    upper = user.data / name / "upper" / "home" / "x"
    assert os.stat(upper).st_uid == _host_uid(user, 1000)
    user.u.ok("kill", name, "TERM")
    wait_for(lambda: user.u.status(name) == "stopped", timeout=10, what="stopped")
    # the cleanup hook, run by `husk delete` out here, removes what the
    # container's uid 1000 made (a 0700 directory of a subordinate id)
    user.u.ok("delete", name)
    user.assert_nothing_left()


def test_detached_rm_deletes_itself(user):
    name = f"hk{secrets.token_hex(5)}"
    user.u.ids.append(name)
    user.ok("-d", "--rm", "--name", name, "--net", "none", user.rootfs, "sleep", "0.3")
    wait_for(lambda: user.u.call("state", name).rc != 0, timeout=10, what="deleted")
    user.assert_nothing_left()


def test_terminal(user):
    argv = ["runuser", "-u", user.u.name, "--", "env", "-i", *user.env(), user.u.runtime,
            "launch", "--rm", "-it", "--net", "none", user.rootfs, "sh", "-c",
            "tty; [ -t 0 ] && echo stdin-is-a-tty; exit 3"]
    rc, out = on_a_terminal(argv, {"PATH": DEFAULT_PATH[5:]}, timeout=TIMEOUT)
    assert rc == 3, out
    assert "/dev/pts/" in out and "stdin-is-a-tty" in out, out
    user.assert_nothing_left()


def test_volume_from_home_owners_both_sides(user):
    vol = user.home / "vol"
    vol.mkdir()
    user.u.chown(vol)
    (vol / "fromhost").write_text("h\n")
    user.u.chown(vol / "fromhost")
    r = user.ok("--rm", "--net", "none", "-v", f"{vol}:/vol", user.rootfs, "sh", "-c",
                "stat -c %u /vol/fromhost; touch /vol/byroot /vol/by1000; "
                "chown 1000:1000 /vol/by1000")
    assert r.out == "0\n", str(r)
    assert os.stat(vol / "byroot").st_uid == user.u.uid
    st = os.stat(vol / "by1000")
    assert (st.st_uid, st.st_gid) == (_host_uid(user, 1000), user.u.subgid[0] + 999)
    # :ro is read-only
    r = user.launch("--rm", "--net", "none", "-v", f"{vol}:/vol:ro", user.rootfs, "touch",
                    "/vol/no")
    assert r.rc != 0 and not (vol / "no").exists(), str(r)
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# --userns auto, and a user without subordinate ids

def test_userns_auto_needs_the_users_range(user):
    r = user.ok("--rm", "--net", "none", "--userns", "auto", user.rootfs, "cat",
                "/proc/self/gid_map")
    assert [l.split() for l in r.out.splitlines()] == [
        ["0", str(user.u.gid), "1"], ["1", str(user.u.subgid[0]), str(user.u.subgid[1])]]
    for path in ("/etc/subuid", "/etc/subgid"):
        _drop_lines(path, user.u.name)
    r = user.launch("--rm", "--net", "none", "--userns", "auto", user.rootfs, "true")
    assert r.rc == 125 and "/etc/subuid" in r.err and user.u.name in r.err, str(r)
    # without --userns auto: the user's own ids alone, as the kernel allows
    r = user.ok("--rm", "--net", "none", user.rootfs, "sh", "-c",
                "cat /proc/self/uid_map /proc/self/setgroups")
    assert r.out.split() == ["0", str(user.u.uid), "1", "deny"], str(r)
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# failures at several points leave nothing

def test_failures_leave_nothing(user):
    cases = [
        # the container's /etc/passwd, after the overlay is mounted
        (["--user", "nosuchuser"], ["true"], "nosuchuser"),
        # a limit without a cgroup of the user's: in create
        (["--pids-limit", "10"], ["true"], "pids"),
        # the program is not there: at start
        ([], ["/no/such/program"], "no/such/program"),
        # a volume whose host path is gone
        (["-v", f"{user.home}/missing:/m"], ["true"], "missing"),
        # the default network needs /dev/net/tun, root's alone here
        ([], ["true"], "pasta"),
    ]
    for opts, args, said in cases:
        net = [] if said == "pasta" else ["--net", "none"]
        name = f"hk{secrets.token_hex(5)}"
        r = user.launch("--rm", "--name", name, *net, *opts, user.rootfs, *args)
        assert r.rc != 0 and said in r.err, (opts, str(r))
        user.assert_nothing_left()
        assert cgroup_dirs_named(name) == []
    # and without --rm, once deleted
    name = f"hk{secrets.token_hex(5)}"
    user.u.ids.append(name)
    r = user.launch("--name", name, "--net", "none", user.rootfs, "/no/such/program")
    assert r.rc != 0
    user.u.call("delete", "--force", name)
    user.assert_nothing_left()


def test_killed_at_any_instant(user):
    """Launches killed (SIGKILL, the whole process group) at instants
    spread over a launch's life: `husk delete --force` of the name leaves
    nothing, whichever step each was at (the user's namespace made or not,
    DATA/<id> made, the container created or running)."""
    import random
    import signal
    import time
    rng = random.Random(22)
    for _ in range(8):
        name = f"hk{secrets.token_hex(5)}"
        user.u.ids.append(name)
        argv = ["runuser", "-u", user.u.name, "--", "env", "-i", *user.env(), user.u.runtime,
                "launch", "--name", name, "--net", "none", user.rootfs, "sleep", "1000"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.0, 0.08))
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        user.u.call("delete", "--force", name)
        user.assert_nothing_left()


def test_bridge_refused_with_what_to_use(user):
    r = user.launch("--rm", "--net", "bridge", user.rootfs, "true")
    assert r.rc == 125, str(r)
    assert "root" in r.err and "--net pasta" in r.err and "none" in r.err, str(r)
    r = user.launch("--rm", "--net", "none", "-p", "8080:80", user.rootfs, "true")
    assert r.rc == 125 and "bridge or pasta" in r.err, str(r)
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# networks

def test_net_none_and_host(user):
    r = user.ok("--rm", "--net", "none", user.rootfs, "cat", "/proc/net/dev")
    assert [l.split(":")[0].strip() for l in r.out.splitlines()[2:]] == ["lo"], str(r)
    host = sorted(l.split(":")[0].strip() for l in
                  Path("/proc/net/dev").read_text().splitlines()[2:])
    r = user.ok("--rm", "--net", "host", user.rootfs, "sh", "-c",
                "cat /proc/net/dev; ls /sys/class/net")
    lines = r.out.splitlines()
    inside = sorted(l.split(":")[0].strip() for l in lines[2:2 + len(host)])
    assert inside == host, str(r)
    user.assert_nothing_left()


def test_net_container_and_read_only(user):
    """--net container:NAME joins the user namespace the other launch made
    (its network namespace is that one's); --read-only has no layer."""
    name = f"hk{secrets.token_hex(5)}"
    user.u.ids.append(name)
    user.ok("-d", "--name", name, "--net", "none", user.rootfs, "sleep", "1000")
    theirs = user.u.ok("exec", name, "readlink", "/proc/self/ns/net").out
    r = user.ok("--rm", "--net", f"container:{name}", "--read-only", user.rootfs, "sh", "-c",
                "readlink /proc/self/ns/net; touch /x 2>/dev/null || echo read-only")
    assert r.out.splitlines() == [theirs.strip(), "read-only"], str(r)
    user.u.ok("delete", "--force", name)
    user.assert_nothing_left()


def _ns_script(user, tun_dir, body):
    """body (sh) run by root in a mount and network namespace of its own,
    with a veth pair (pasta copies the routes of the interface with the
    default one) and a /dev/net/tun node any user may open; $U runs a
    command as the user."""
    env = " ".join(shlex.quote(e) for e in user.env())
    return f"""set -e
ip link set lo up
ip link add hkpa0 type veth peer name hkpa1
ip addr add 10.250.0.2/24 dev hkpa0
ip link set hkpa1 up
ip link set hkpa0 up
ip route add default via 10.250.0.1
mount -t tmpfs -o mode=0755 hktun {tun_dir}
mknod -m 0666 {tun_dir}/tun c 10 200
mount --bind {tun_dir}/tun /dev/net/tun
U="runuser -u {user.u.name} -- env -i {env}"
{body}
"""


def test_pasta_network_and_published_port(user, hk):
    if not shutil.which("pasta"):
        pytest.skip("pasta (Debian's passt) not installed")
    www = user.home / "www"
    www.mkdir()
    (www / "index.html").write_text("from the container\n")
    user.u.chown(www, recursive=True)
    tun_dir = hk.dir("tun")
    name = f"hk{secrets.token_hex(5)}"
    user.u.ids.append(name)
    h = shlex.quote(str(user.u.runtime))
    body = f"""
# read to its end: pasta (a daemon) keeps neither of launch's outputs
out=$($U {h} launch -d --name {name} -p 127.0.0.1:18080:8080 -v {www}:/www:ro {user.rootfs} \\
    sh -c 'ip -4 -o addr show; exec httpd -f -p 8080 -h /www' 2>&1)
echo "$out" >&2
got=""
for i in $(seq 50); do
    got=$(busybox wget -O - http://127.0.0.1:18080/index.html 2>/dev/null) && break
    sleep 0.1
done
echo "$got"
cat {user.data}/{name}/output.log
$U {h} delete --force {name}
ss -Hltn 'sport = :18080' | wc -l
"""
    p = subprocess.run(["unshare", "-m", "-n", "--", "sh", "-c",
                        _ns_script(user, tun_dir, body)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "from the container", p.stdout + p.stderr
    # pasta gave the container the address of the namespace launch ran in
    assert any("10.250.0.2/24" in l for l in lines), p.stdout
    # the listener is gone with pasta
    assert lines[-1] == "0", p.stdout
    # the host's node is untouched
    st = os.stat("/dev/net/tun")
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == 0
    user.assert_nothing_left()


def test_pasta_is_for_users(hk, rootfs):
    """Run by root, pasta drops to nobody before it joins the namespace it
    is given, and fails: root is told to use the bridge."""
    data, cache = hk.dir("data"), hk.dir("cache")
    r = hk.call("launch", "--rm", "--data-dir", data, "--cache-dir", cache, "--net", "pasta",
                rootfs, "true", timeout=TIMEOUT)
    assert r.rc == 125 and "--net bridge" in r.err, str(r)
    assert os.listdir(data) == []


def test_pasta_ports_checked_before_anything(user):
    for spec, said in (("8080", "HOST:CTR"), ("1.2.3:80:80", "expected"),
                       ("80:80/sctp", "tcp or udp")):
        r = user.launch("--rm", "--net", "pasta", "-p", spec, user.rootfs, "true")
        assert r.rc == 125 and said in r.err, (spec, str(r))
    r = user.launch("--rm", "--net", "pasta", "-P", user.rootfs, "true")
    assert r.rc == 125 and "-P" in r.err, str(r)
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# attacks on the user's directories by another user

@pytest.fixture
def mallory(hk):
    name = f"hkm{secrets.token_hex(3)}"
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True, timeout=30,
                   capture_output=True)
    try:
        import pwd
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-KILL", "-U", name], timeout=10)
        subprocess.run(["userdel", name], timeout=30, capture_output=True)
        # useradd may have given it a subordinate range
        for path in ("/etc/subuid", "/etc/subgid"):
            _drop_lines(path, name)


def test_link_planted_in_a_writable_cache_home(user, mallory, hk):
    """~/.cache open to others (mode 0777): another user plants
    ~/.cache/husk -> a directory of theirs, to have the user's layers (and
    set-id files) unpacked where they choose. Refused, as the path's walk
    refuses it (a link of another user, a directory writable by others)."""
    cache_home = user.home / ".cache"
    cache_home.mkdir(exist_ok=True)
    user.u.chown(cache_home)
    os.chmod(cache_home, 0o777)
    theirs = hk.dir("mallory-cache")
    os.chown(theirs, mallory.pw_uid, mallory.pw_gid)
    subprocess.run(["runuser", "-u", mallory.pw_name, "--", "ln", "-s", str(theirs),
                    str(cache_home / "husk")], check=True, timeout=10)
    r = user.launch("--rm", "--net", "none", user.rootfs, "true")
    assert r.rc == 125 and "--cache-dir" in r.err and "refused" in r.err, str(r)
    assert os.listdir(theirs) == []
    user.assert_nothing_left()


def test_data_dir_on_a_shared_path(user, mallory, hk):
    """--data-dir (or $XDG_DATA_HOME) below a directory another user owns,
    even a directory of the user's own there: its owner can rename it away
    and put a link in its place between launch's check and its use.
    Refused on the host, before the user's namespace, where that owner
    would show as the overflow uid, as root does (a walk made only in the
    namespace took it for root's)."""
    shared = hk.dir("shared")
    os.chmod(shared, 0o755)
    os.chown(shared, mallory.pw_uid, mallory.pw_gid)
    mine = shared / "data"
    mine.mkdir(mode=0o700)
    user.u.chown(mine)
    for data in (mine, shared):
        r = user.launch("--rm", "--net", "none", "--data-dir", data, user.rootfs, "true")
        assert r.rc == 125 and "--data-dir" in r.err and "refused" in r.err, str(r)
    assert os.listdir(mine) == []
    # /tmp-like: sticky and open to all, a directory of mallory's in it
    sticky = hk.dir("sticky")
    os.chmod(sticky, 0o1777)
    theirs = sticky / "husk"
    theirs.mkdir()
    os.chown(theirs, mallory.pw_uid, mallory.pw_gid)
    r = user.launch("--rm", "--net", "none", "--data-dir", theirs, user.rootfs, "true")
    assert r.rc == 125 and "refused" in r.err, str(r)
    user.assert_nothing_left()


def test_image_overlay_xattrs_dropped(user, hk):
    """A layer's user.overlay.* attributes are overlayfs metadata (where a
    user's overlay keeps it, userxattr: a whiteout, a metacopy of another
    file's data) of the image's making: dropped, as trusted.overlay.*
    always was; other user.* attributes are kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("f")
        ti.size, ti.mode, ti.mtime = 0, 0o644, 1700000000
        ti.pax_headers = {"SCHILY.xattr.user.overlay.whiteout": "y",
                          "SCHILY.xattr.user.overlay.metacopy": "",
                          "SCHILY.xattr.user.kept": "1"}
        t.addfile(ti, io.BytesIO(b""))
    l1 = tar_of_dir(hk.sess.rootfs)
    img = Image([(l1, "gzip"), (buf.getvalue(), "tar")], {"Cmd": ["ls", "/f"]})
    archive = img.oci_archive(user.u.work / "xattr.tar")
    user.u.chown(archive)
    r = user.ok("--rm", "--net", "none", archive)
    assert r.out.split() == ["/f"], str(r)
    f = user.cache / "sha256" / img.layer_hex(1) / "f"
    assert sorted(os.listxattr(f)) == ["user.kept"]
    user.assert_nothing_left()


def test_volume_of_roots_files(user):
    """Root in the user's namespace is the user: a volume of the host's
    root-only files gives nothing more than the user has (an unmapped
    owner's files are not root's to override)."""
    r = user.launch("--rm", "--net", "none", "-v", "/etc/shadow:/s", "-v", "/etc:/e",
                    user.rootfs, "sh", "-c",
                    "cat /s >/dev/null 2>&1 && echo read; touch /e/hk-owned 2>/dev/null "
                    "&& echo wrote; stat -c %u /e/passwd; true")
    assert r.rc == 0 and r.out.split() == ["65534"], str(r)
    assert not os.path.exists("/etc/hk-owned")
    user.assert_nothing_left()


# --------------------------------------------------------------------------
# husk image prune by the user: the layers belong to the user's namespace

def test_image_prune_by_the_user(user, hk):
    img = _image(hk.sess.rootfs)
    archive = img.oci_archive(user.u.work / "img.tar")
    user.u.chown(archive)
    r = user.ok("-d", "--net", "none", archive, "sleep 1000")
    name = r.out.strip()
    user.u.ids.append(name)
    layers = sorted(os.listdir(user.cache / "sha256"))
    assert layers == sorted([img.layer_hex(0), img.layer_hex(1)])
    r = user.u.call("image", "prune", timeout=TIMEOUT)
    assert r.rc == 0 and r.out == "Total reclaimed space: 0B\n", str(r)
    assert sorted(os.listdir(user.cache / "sha256")) == layers
    user.u.ok("delete", "--force", name)
    r = user.u.call("image", "prune", timeout=TIMEOUT)
    assert r.rc == 0, str(r)
    # files of the range's uid 100 removed too: done in the user's namespace
    assert sorted(l.split("sha256:")[1] for l in r.out.splitlines()
                  if l.startswith("deleted: ")) == layers, str(r)
    assert os.listdir(user.cache / "sha256") == []
    user.assert_nothing_left()


def test_dt_and_attach_by_the_user(user):
    r = user.ok("-dt", "--net", "none", user.rootfs, "sh", "-c", "read a; echo got $a; tty")
    name = r.out.strip()
    user.u.ids.append(name)
    argv = ["runuser", "-u", user.u.name, "--", "env", "-i", *user.env(), user.u.runtime,
            "attach", name]
    p = subprocess.run(argv, input=b"one\n", capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0 and b"got one" in p.stdout and b"/dev/pts/0" in p.stdout, p
    wait_for(lambda: user.u.state(name)["status"] == "stopped", what="the program to end")
    user.u.ok("delete", "--force", name)
    user.assert_nothing_left()


def test_users_own_build_finds_its_companions(user):
    """Fifth outside attack, F2: a build of the user's own (writable by the
    user, so husk and husk-launch re-execute from a sealed memfd copy)
    looked for husk-init and its cleanup hook at /husk-init and
    /husk-launch: launch failed by default, and --no-init left the
    container's directory behind."""
    own = user.u.work / "ownbuild"
    own.mkdir()
    for b in (Path(HUSK), LAUNCH, INIT):
        shutil.copy2(b, own / b.name)
    user.u.chown(own, recursive=True)
    for extra in ((), ("--no-init",)):
        argv = ["runuser", "-u", user.u.name, "--", "env", "-i", *user.env(),
                str(own / "husk"), "launch", "--rm", *extra, "--net", "none",
                str(user.rootfs), "sh", "-c", "echo ran"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and r.stdout == "ran\n", (extra, r)
        user.assert_nothing_left()
