"""Mounts, the root filesystem, /dev and the process settings."""

import os

import pytest

from conftest import bind, tmpfs, wait_for


def _mount_opts(mounts_text, dest):
    """Options of the last mount at dest in a /proc/self/mounts dump."""
    opts = None
    for line in mounts_text.splitlines():
        f = line.split()
        if f[1] == dest:
            opts = set(f[3].split(","))
    assert opts is not None, f"{dest} not mounted:\n{mounts_text}"
    return opts


def _run(hk, script, **kw):
    r = hk.run_fg(hk.bundle(["sh", "-c", script], **kw))
    assert r.rc == 0, str(r)
    return r.out


TMPFS_SCRIPT = r"""
cat /proc/self/mounts > /mnt/rw/mounts
stat -c %a /mnt/tmpfs > /mnt/rw/mode
printf '#!/bin/sh\necho ran\n' > /mnt/tmpfs/s && chmod +x /mnt/tmpfs/s
/mnt/tmpfs/s > /mnt/rw/exec 2>&1; echo "rc=$?" >> /mnt/rw/exec
head -c 2000000 /dev/zero > /mnt/tmpfs/big 2>/dev/null; echo $? > /mnt/rw/big
rm -f /mnt/tmpfs/big
echo secret > /mnt/tmpfs/secret
touch /mnt/rw/ready
exec sleep 1000
"""


def test_tmpfs_with_options(hk, rootfs):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", TMPFS_SCRIPT], extra_mounts=[
        bind(out, "/mnt/rw"),
        tmpfs("/mnt/tmpfs", "nosuid", "nodev", "noexec", "size=1m", "mode=755")])
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    opts = _mount_opts((out / "mounts").read_text(), "/mnt/tmpfs")
    assert {"nosuid", "nodev", "noexec", "size=1024k", "mode=755"} <= opts, opts
    assert (out / "mode").read_text() == "755\n"
    # noexec and size= are enforced, not just listed
    exec_out = (out / "exec").read_text()
    assert "ran" not in exec_out and "rc=0" not in exec_out, exec_out
    assert (out / "big").read_text() != "0\n"
    # the file lives in the container's tmpfs: the host sees it only through
    # the container's root, not in the rootfs directory under it
    pid = hk.state(cid)["pid"]
    assert open(f"/proc/{pid}/root/mnt/tmpfs/secret").read() == "secret\n"
    assert not (rootfs / "mnt/tmpfs/secret").exists()
    assert os.listdir(rootfs / "mnt/tmpfs") == []


def test_bind_mount_rw_both_ways(hk):
    share = hk.dir("share")
    (share / "from-host").write_text("hello from host\n")
    out = _run(hk, "cat /mnt/rw/from-host; echo hi > /mnt/rw/from-container; "
                   "grep ' /mnt/rw ' /proc/self/mounts",
               extra_mounts=[bind(share, "/mnt/rw")])
    lines = out.splitlines()
    assert lines[0] == "hello from host"
    assert "rw" in lines[1].split()[3].split(",")
    assert (share / "from-container").read_text() == "hi\n"


def test_bind_mount_relative_source(hk):
    """OCI: a bind source may be relative to the bundle."""
    b = hk.bundle(["sh", "-c", "echo x > /mnt/rw/file"])
    (b.path / "rel-share").mkdir()
    b.config["mounts"].append(bind("rel-share", "/mnt/rw"))
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert (b.path / "rel-share" / "file").read_text() == "x\n"


def test_bind_mount_ro(hk):
    share = hk.dir("share")
    (share / "data").write_text("data\n")
    out = _run(hk, "cat /mnt/ro/data; "
                   "if touch /mnt/ro/new 2>/dev/null; then echo WROTE; else echo denied; fi; "
                   "if echo x >> /mnt/ro/data; then echo WROTE; else echo denied; fi; "
                   "cat /proc/self/mounts",
               extra_mounts=[bind(share, "/mnt/ro", "ro")])
    lines = out.splitlines()
    assert lines[:3] == ["data", "denied", "denied"]
    assert "ro" in _mount_opts("\n".join(lines[3:]), "/mnt/ro")
    assert os.listdir(share) == ["data"]
    assert (share / "data").read_text() == "data\n"


def test_readonly_root(hk, rootfs):
    out = _run(hk, "if touch /x 2>/dev/null; then echo WROTE; else echo denied; fi; "
                   "cat /proc/self/mounts")
    lines = out.splitlines()
    assert lines[0] == "denied"
    assert "ro" in _mount_opts("\n".join(lines[1:]), "/")
    assert not (rootfs / "x").exists()


def test_writable_root(hk):
    copy = hk.rootfs_copy()
    out = _run(hk, "echo written > /x && cat /x; cat /proc/self/mounts",
               rootfs=copy, readonly=False)
    lines = out.splitlines()
    assert lines[0] == "written"
    assert "rw" in _mount_opts("\n".join(lines[1:]), "/")
    assert (copy / "x").read_text() == "written\n"


def test_missing_mount_destinations_are_created(hk):
    copy = hk.rootfs_copy()
    share = hk.dir("share")
    (share / "f").write_text("dir content\n")
    hostfile = hk.work / "hostfile"
    hostfile.write_text("file content\n")
    out = _run(hk, "cat /proc/self/mounts > /mnt/rw/mounts; "
                   "cat /new/dir/f /etc/hk-file; [ -d /mnt/a/b ] && echo isdir",
               rootfs=copy, extra_mounts=[
                   bind(hk.dir("out"), "/mnt/rw"),
                   tmpfs("/mnt/a/b", "size=64k"),
                   bind(share, "/new/dir", "ro"),
                   {"destination": "/etc/hk-file", "type": "bind",
                    "source": str(hostfile), "options": ["bind", "ro"]}])
    assert out.splitlines() == ["dir content", "file content", "isdir"]
    mounts = (hk.work / "out" / "mounts").read_text()
    for dest in ("/mnt/a/b", "/new/dir", "/etc/hk-file"):
        _mount_opts(mounts, dest)
    # created in the rootfs (as a directory / an empty file) on the host side
    assert (copy / "mnt/a/b").is_dir()
    assert (copy / "new/dir").is_dir()
    assert (copy / "etc/hk-file").is_file()
    assert (copy / "etc/hk-file").stat().st_size == 0


DEV_SCRIPT = r"""
for d in null zero full random urandom tty; do stat -L -c "$d %F %t:%T" /dev/$d; done
for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
[ -e /dev/ptmx ] && echo ptmx-ok
[ -d /dev/fd/ ] && echo fd-dir-ok
echo discard > /dev/null && echo null-ok
[ "$(head -c 16 /dev/zero | od -An -tx1 | tr -d ' \n')" = "00000000000000000000000000000000" ] && echo zero-ok
[ "$(head -c 16 /dev/urandom | wc -c)" = 16 ] && echo urandom-ok
echo x 2>/dev/null > /dev/full || echo full-ok
echo "block: $(find /dev -type b | wc -l)"
"""


def test_dev(hk):
    out = _run(hk, DEV_SCRIPT)
    lines = out.splitlines()
    assert lines[:6] == [
        "null character special file 1:3",
        "zero character special file 1:5",
        "full character special file 1:7",
        "random character special file 1:8",
        "urandom character special file 1:9",
        "tty character special file 5:0",
    ]
    links = dict(l.split(" -> ") for l in lines[6:11])
    assert links["fd"] == "/proc/self/fd"
    assert links["stdin"] == "/proc/self/fd/0"
    assert links["stdout"] == "/proc/self/fd/1"
    assert links["stderr"] == "/proc/self/fd/2"
    for ok in ("ptmx-ok", "fd-dir-ok", "null-ok", "zero-ok", "urandom-ok", "full-ok"):
        assert ok in lines, out
    # no host block device leaks into the container's /dev
    assert "block: 0" in lines


def test_proc_is_the_containers(hk):
    out = _run(hk, "grep ' /proc ' /proc/self/mounts; ls /proc | grep -c '^[0-9]'")
    lines = out.splitlines()
    assert lines[0].split()[2] == "proc"
    assert int(lines[1]) <= 3  # sh, grep/ls, maybe one more: not the host's


def test_cwd(hk):
    assert _run(hk, "pwd", cwd="/usr/bin") == "/usr/bin\n"
    assert _run(hk, "pwd", cwd="/") == "/\n"


def test_env(hk):
    os.environ["HK_HOST_ONLY"] = "leak"
    try:
        out = _run(hk, 'echo "$FOO|$EMPTY|$PATH"; env',
                   env=["PATH=/bin:/sbin", "FOO=bar baz=qux", "EMPTY="])
    finally:
        del os.environ["HK_HOST_ONLY"]
    lines = out.splitlines()
    assert lines[0] == "bar baz=qux||/bin:/sbin"
    assert "FOO=bar baz=qux" in lines
    assert not any(l.startswith("HK_HOST_ONLY=") for l in lines), out


@pytest.mark.parametrize("uid,gid,extra", [(0, 0, []), (1000, 1001, [5, 2000])])
def test_user(hk, uid, gid, extra):
    user = {"uid": uid, "gid": gid}
    if extra:
        user["additionalGids"] = extra
    out = _run(hk, "id -u; id -g; id -G", user=user)
    lines = out.splitlines()
    assert lines[0] == str(uid)
    assert lines[1] == str(gid)
    assert set(map(int, lines[2].split())) == {gid, *extra}


def test_user_from_outside(hk):
    out = hk.dir("out")
    b = hk.bundle(["sh", "-c", "touch /mnt/rw/ready; exec sleep 1000"],
                  user={"uid": 1000, "gid": 1001},
                  extra_mounts=[bind(out, "/mnt/rw")])
    os.chmod(out, 0o777)
    cid = hk.run_detached(b)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    st = (out / "ready").stat()
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    pid = hk.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as f:
        ids = {l.split(":")[0]: l.split()[1:] for l in f}
    assert ids["Uid"] == ["1000"] * 4
    assert ids["Gid"] == ["1001"] * 4


def test_relative_rootfs_path(hk):
    """root.path "rootfs" is relative to the bundle.  (A symlink there is not
    used: runc refuses a rootfs path that is a symlink.)"""
    b = hk.bundle(["sh", "-c", "echo $$; cat /etc/hostname"])
    hk.rootfs_copy(name=b.path.name + "/rootfs")
    b.config["root"]["path"] = "rootfs"
    b.write()
    r = hk.run_fg(b)
    assert r.rc == 0, str(r)
    assert r.out == "1\nbusybox\n"
    # run from elsewhere with a relative --bundle too
    r = hk.call("run", "--bundle", b.path.name, hk.new_id(), cwd=b.path.parent)
    assert r.rc == 0, str(r)
    assert r.out == "1\nbusybox\n"


def test_tmpcopyup_fills_the_tmpfs(hk):
    """tmpcopyup (podman's --tmpfs and --read-only use it): the tmpfs starts
    with a copy of what it covers (files, directories, symlinks as links,
    modes and owners); writes stay in the tmpfs."""
    copy = hk.rootfs_copy()
    data = copy / "data"
    (data / "sub").mkdir(parents=True)
    (data / "f").write_text("file content\n")
    (data / "sub" / "g").write_text("deep\n")
    os.chmod(data / "sub" / "g", 0o604)
    os.chown(data / "sub" / "g", 1234, 5678)
    os.symlink("/etc/passwd", data / "link")
    out = _run(hk, "cat /data/f /data/sub/g; stat -c '%a %u %g' /data/sub/g;"
                   " readlink /data/link; echo new > /data/f; cat /data/f;"
                   " grep ' /data ' /proc/self/mounts | cut -d' ' -f3",
               rootfs=copy, extra_mounts=[tmpfs("/data", "tmpcopyup", "size=64k")])
    assert out.splitlines() == ["file content", "deep", "604 1234 5678", "/etc/passwd",
                                "new", "tmpfs"], out
    assert (data / "f").read_text() == "file content\n"     # the rootfs is untouched


def test_tmpcopyup_read_only(hk):
    copy = hk.rootfs_copy()
    (copy / "data").mkdir()
    (copy / "data" / "f").write_text("x\n")
    out = _run(hk, "cat /data/f; touch /data/y 2>/dev/null || echo ro",
               rootfs=copy, extra_mounts=[tmpfs("/data", "tmpcopyup", "ro")])
    assert out.splitlines() == ["x", "ro"], out
