"""Mounts as runc makes them, where images and engines look (issue 16):
a bind onto a dangling symlink of the rootfs, masked files that read as
empty, a tmpfs taking the mode of the directory it covers, devices outside
/dev.  Each case was checked against Debian's runc 1.1.5 (the suite runs
under it too: HUSK=$(which runc))."""

import os
import secrets
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import HUSK, IS_RUNC, REPO, bind, tmpfs


def _run(hk, script, **kw):
    r = hk.run_fg(hk.bundle(["sh", "-c", script], **kw))
    assert r.rc == 0, str(r)
    return r.out


# --------------------------------------------------------------------------
# A bind mount onto a dangling symlink (issue 16, A2)

# name -> (links to plant: {path in rootfs: target}, where the mount lands)
DANGLING = {
    # systemd images; engines always bind a resolv.conf
    "relative": ({"etc/resolv.conf": "../run/systemd/resolve/stub-resolv.conf"},
                 "run/systemd/resolve/stub-resolv.conf"),
    "absolute": ({"etc/resolv.conf": "/run/systemd/resolve/stub-resolv.conf"},
                 "run/systemd/resolve/stub-resolv.conf"),
    "chain": ({"etc/resolv.conf": "/etc/resolv-link",
               "etc/resolv-link": "../var/lib/dns/resolv.conf"},
              "var/lib/dns/resolv.conf"),
    # ".." past the root stays in it, as the kernel's own lookup from a
    # chroot would
    "dotdot-past-root": ({"etc/resolv.conf": "../../../../../../tmp/{name}"},
                         "tmp/{name}"),
    "through-dangling-dir": ({"etc/resolv.conf": "/opt/{name}/resolv.conf",
                              "opt": "srv/opt"},
                             "srv/opt/{name}/resolv.conf"),
}


@pytest.mark.parametrize("shape", sorted(DANGLING))
def test_bind_file_onto_dangling_symlink(hk, shape):
    """runc resolves the link inside the root, creates its target (a file,
    as the source is) and mounts there; the host path the link names is
    never touched."""
    name = f"hk-dangling-{secrets.token_hex(4)}"
    links, lands = DANGLING[shape]
    copy = hk.rootfs_copy()
    for path, target in links.items():
        (copy / path).unlink(missing_ok=True)
        os.symlink(target.format(name=name), copy / path)
    src = hk.work / "resolv.conf"
    src.write_text("nameserver 192.0.2.53\n")
    try:
        out = _run(hk, "cat /etc/resolv.conf", rootfs=copy,
                   extra_mounts=[bind(src, "/etc/resolv.conf", "ro")])
        assert out.splitlines()[0] == "nameserver 192.0.2.53", out
        made = copy / lands.format(name=name)
        assert made.is_file() and not made.is_symlink(), made
        assert not os.path.lexists(f"/tmp/{name}"), "created on the host"
    finally:
        if os.path.lexists(f"/tmp/{name}"):
            os.unlink(f"/tmp/{name}")


def test_bind_file_onto_symlink_loop_refused(hk):
    """A loop of links: an error (runc: too many levels of symbolic
    links), nothing mounted."""
    copy = hk.rootfs_copy()
    os.symlink("/etc/loop-b", copy / "etc/resolv.conf")
    os.symlink("/etc/resolv.conf", copy / "etc/loop-b")
    src = hk.work / "resolv.conf"
    src.write_text("x\n")
    b = hk.bundle(rootfs=copy, extra_mounts=[bind(src, "/etc/resolv.conf", "ro")])
    cid = hk.new_id()
    r = hk.call("run", "--bundle", b.path, cid)
    assert r.rc != 0, str(r)
    assert "symbolic links" in r.err, r.err


# --------------------------------------------------------------------------
# Masked files read as empty (issue 16, A11)

MASKED_READ = r"""
for p in /proc/keys /proc/timer_list /etc/hk-secret; do
  if c=$(cat $p); then echo "$p read ${#c}"; else echo "$p unreadable"; fi
  if echo x > $p; then echo "$p write ok"; else echo "$p write refused"; fi
done
"""


@pytest.mark.parametrize("userns", [False, True], ids=["plain", "userns"])
def test_masked_file_reads_empty(hk, userns):
    """runc binds /dev/null over a masked file: a read gives nothing, a
    write goes nowhere (podman --security-opt mask=, /proc/keys). husk bound
    it nodev, so every open failed with EACCES."""
    copy = hk.rootfs_copy()
    (copy / "etc/hk-secret").write_text("do not show\n")
    ns = ("pid", "network", "ipc", "uts", "mount") + (("user",) if userns else ())
    b = hk.bundle(["sh", "-c", MASKED_READ], rootfs=copy, namespaces=ns)
    b.config["linux"]["maskedPaths"] += ["/etc/hk-secret"]
    if userns:
        m = [{"containerID": 0, "hostID": 0, "size": 65536}]
        b.config["linux"]["uidMappings"] = b.config["linux"]["gidMappings"] = m
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    lines = r.out.splitlines()
    for p in ("/proc/keys", "/proc/timer_list", "/etc/hk-secret"):
        if p.startswith("/proc") and not os.path.exists(p):
            continue
        assert f"{p} read 0" in lines, r.out
        assert f"{p} write ok" in lines, r.out
    assert (copy / "etc/hk-secret").read_text() == "do not show\n"


def test_mask_and_readonly_a_file_bind_mount(hk):
    """podman binds /etc/hostname (a file) and `--security-opt
    mask=/etc/hostname` masks it: a masked or read-only path that is a
    file mount itself. husk failed ("Not a directory": it looked for "."
    beneath the mount); runc masks it."""
    src = hk.dir("files")
    (src / "hostname").write_text("secret-name\n")
    (src / "conf").write_text("config\n")
    b = hk.bundle(["sh", "-c", "cat /etc/hostname; echo rc=$?; echo x > /mnt/rw/conf;"
                               "echo w=$?; cat /mnt/rw/conf"],
                  extra_mounts=[bind(src / "hostname", "/etc/hostname"),
                                bind(src / "conf", "/mnt/rw/conf")],
                  rootfs=hk.rootfs_copy())
    b.config["linux"]["maskedPaths"].append("/etc/hostname")
    b.config["linux"]["readonlyPaths"].append("/mnt/rw/conf")
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["rc=0", "w=1", "config"], r.out


# --------------------------------------------------------------------------
# A tmpfs takes the mode of the directory it covers (issue 16, A13)

def test_tmpfs_without_mode_takes_mount_point_mode(hk):
    """No mode= in the options: the tmpfs's root gets the mode of the
    directory it is mounted on (runc 1.1.5 chmods it so, later runc and
    crun pass it as mode=); a directory the runtime has to make stays at
    tmpfs's 1777; a symlinked destination takes its target's mode."""
    copy = hk.rootfs_copy()
    for d, mode in (("srv/a", 0o710), ("srv/b", 0o2750)):
        (copy / d).mkdir(parents=True)
        os.chmod(copy / d, mode)
    os.symlink("/srv/a", copy / "srv/link")
    out = _run(hk, "stat -c '%n %a' /srv/a /srv/b /srv/new /srv/link/", rootfs=copy,
               extra_mounts=[tmpfs("/srv/a"), tmpfs("/srv/b", "size=1m"),
                             tmpfs("/srv/new"), tmpfs("/srv/link", "nosuid")])
    assert out.splitlines() == ["/srv/a 710", "/srv/b 2750", "/srv/new 1777",
                                "/srv/link/ 710"], out


@pytest.mark.husk_only
def test_tmpfs_mode_option_wins(hk):
    """mode= given wins over the mount point's mode, as in runc >= 1.1.8
    (opencontainers/runc#3911) and crun; Debian's runc 1.1.5 still chmods
    the tmpfs to the directory's mode afterwards."""
    copy = hk.rootfs_copy()
    (copy / "srv/c").mkdir(parents=True)
    os.chmod(copy / "srv/c", 0o700)
    out = _run(hk, "stat -c %a /srv/c", rootfs=copy,
               extra_mounts=[tmpfs("/srv/c", "mode=755")])
    assert out == "755\n", out


# --------------------------------------------------------------------------
# linux.devices outside /dev (issue 16, A13)

def _devices(cfg, *devs):
    cfg["linux"]["devices"] = [dict(type="c", fileMode=0o666, **d) for d in devs]
    for d in devs:
        cfg["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": d["major"], "minor": d["minor"],
             "access": "rwm"})


def test_device_outside_dev(hk):
    """config-linux.md: a device "MAY be anywhere in the container
    filesystem, notably outside of /dev". runc makes it where the config
    says (its directories too), inside the root; a second run on the same
    rootfs keeps the node that is already the device."""
    copy = hk.rootfs_copy()
    os.symlink("/opt", copy / "devlink")
    for _ in range(2):
        b = hk.bundle(["sh", "-c", "stat -c '%n %F %t:%T' /opt/devs/null /etc/hk-zero;"
                                   "head -c 3 /etc/hk-zero | od -An -tx1;"
                                   "echo x > /devlink/devs/null"], rootfs=copy)
        _devices(b.config, dict(path="/opt/devs/null", major=1, minor=3),
                 dict(path="/etc/hk-zero", major=1, minor=5))
        b.write()
        r = hk.run_fg(b)
        assert r.rc == 0, str(r)
        assert r.out.splitlines() == [
            "/opt/devs/null character special file 1:3",
            "/etc/hk-zero character special file 1:5",
            " 00 00 00"], r.out
    st = os.lstat(copy / "opt/devs/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1


@pytest.mark.husk_only
def test_device_outside_dev_never_replaces_a_file(hk):
    """A file of the rootfs at the path that is not the device: an error
    (config-linux.md: "the runtime MUST generate an error"), the file kept.
    runc 1.1.5 keeps the file and says nothing."""
    copy = hk.rootfs_copy()
    b = hk.bundle(rootfs=copy)
    _devices(b.config, dict(path="/etc/passwd", major=1, minor=3))
    b.write()
    passwd = (copy / "etc/passwd").read_text()
    r = hk.run_fg(b)
    assert r.rc == 1 and "/etc/passwd: a file that is not c 1:3 is already there" in r.err, str(r)
    assert (copy / "etc/passwd").read_text() == passwd


# --------------------------------------------------------------------------
# Bind sources of a user-namespaced container opened on the host's side
# (issue 16, A6)

from test_userns import HOST_ID, id_map  # noqa: E402,F401

UNLOCK = next((p for p in (Path(HUSK).resolve().parent / "tests" / "mount_unlock",
                           REPO / "build" / "tests" / "mount_unlock") if p.exists()),
              REPO / "build" / "tests" / "mount_unlock")


def _userns_rootfs(hk, traversable):
    copy = hk.rootfs_copy()
    subprocess.run(["chown", "-hR", f"{HOST_ID}:{HOST_ID}", str(copy)], check=True, timeout=30)
    traversable(copy)
    return copy


def _userns_bundle(hk, args, copy, mounts, caps=None, user="user"):
    """user: "user" for a new user namespace, or a {type, path} to join."""
    b = hk.bundle(args, rootfs=copy, extra_mounts=mounts,
                  namespaces=("pid", "network", "ipc", "uts", "mount", user))
    # runc 1.1 wants a joined namespace's maps repeated; husk refuses them
    if user == "user" or IS_RUNC:
        b.config["linux"]["uidMappings"] = b.config["linux"]["gidMappings"] = id_map()
    if caps:
        b.config["process"]["capabilities"] = {
            k: list(caps) for k in ("bounding", "effective", "permitted")}
    b.write()
    return b


def _joined_userns(hk, copy):
    """A container in a user namespace (id_map()) of its own, waiting: its
    user namespace to join, as Kubernetes pods join their sandbox's."""
    b = _userns_bundle(hk, ["sleep", "1000"], copy, [])
    cid = hk.run_detached(b)
    return {"type": "user", "path": f"/proc/{hk.state(cid)['pid']}/ns/user"}


@pytest.mark.parametrize("userns", ["new", "joined"])
def test_userns_bind_source_in_closed_host_dir(hk, traversable, userns):
    """Kubernetes hostUsers: false volumes, podman --userns=auto -v: the
    source sits in a 0700 directory of the host's root, which the
    container's root (host uid 100000) cannot search. runc opens sources
    on the host's side; husk opened them in the user namespace
    (EACCES). And a file source whose destination the runtime makes is
    made a file (husk made a directory: "Not a directory")."""
    copy = _userns_rootfs(hk, traversable)
    closed = hk.dir("closed")
    os.chmod(closed, 0o700)
    (closed / "vol").mkdir()
    (closed / "vol/data").write_text("volume data\n")
    (closed / "conf").write_text("a file\n")
    os.chmod(closed / "vol", 0o755)
    user = _joined_userns(hk, copy) if userns == "joined" else "user"
    b = _userns_bundle(hk, ["sh", "-c", "cat /mnt/vol/data /etc/hk-new/conf;"
                                        "stat -c %F /etc/hk-new/conf"], copy,
                       [bind(closed / "vol", "/mnt/vol", "ro"),
                        bind(closed / "conf", "/etc/hk-new/conf", "ro")], user=user)
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out.splitlines() == ["volume data", "a file", "regular file"], r.out
    assert (copy / "etc/hk-new/conf").is_file()


@pytest.mark.parametrize("how", ["ro-host-mount"])
def test_userns_bind_keeps_host_mount_locked(hk, traversable, how):
    """Attack: the host mounts a volume read-only, nosuid, nodev, noexec;
    a user-namespaced container whose root has CAP_SYS_ADMIN there tries
    to lift the flags of its bind of it (mount_setattr on the mount, and on
    a clone of it attached over it). They stay locked: husk clones the
    source in the container's mount namespace, a copy of the host's made
    for the user namespace, where the kernel locks them (a clone made in
    the host's own namespace would carry no locks)."""
    assert UNLOCK.exists(), f"{UNLOCK} missing (make integration builds it)"
    copy = _userns_rootfs(hk, traversable)
    shutil.copy(UNLOCK, copy / "bin/mount_unlock")
    host = hk.dir("host-ro")
    (host / "vol").mkdir()
    os.chown(host / "vol", HOST_ID, HOST_ID)
    traversable(host / "vol")
    subprocess.run(["mount", "--bind", str(host), str(host)], check=True, timeout=10)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro,nosuid,nodev,noexec", str(host)],
                       check=True, timeout=10)
        mounts = [{"destination": "/mnt/vol", "type": "bind", "source": str(host / "vol"),
                   "options": ["rbind"]}]
        b = _userns_bundle(hk, ["sh", "-c", "mount_unlock /mnt/vol;"
                                            "touch /mnt/vol/x && echo WROTE"],
                           copy, mounts, caps=["CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"])
        r = hk.run_fg(b)
        assert r.rc != 0 or "WROTE" not in r.out, str(r)
        lines = r.out.splitlines()
        assert lines[0] == "setattr Operation not permitted", r.out
        assert lines[1] in ("clone-setattr Operation not permitted",
                            "clone Operation not permitted"), r.out
        assert "WROTE" not in r.out and not (host / "vol/x").exists(), r.out
    finally:
        subprocess.run(["umount", str(host)], timeout=10)
