"""Cases from the spec's `mounts`: every type the kernel has here, their
options, bind sources and destinations of every kind."""

from case import Case, append, mount, on_teardown, put, sh, userns, without_ns

SRC = sh("mkdir -p $HOST/src/sub && echo content > $HOST/src/file && "
         "echo hostfile > $HOST/file && mkfifo $HOST/fifo")
LINKS = sh("mkdir -p $ROOTFS/mnt && ln -s /etc $ROOTFS/mnt/toetc && "
           "ln -s ../../../.. $ROOTFS/mnt/up && ln -s /nowhere/x $ROOTFS/mnt/dangling && "
           "echo f > $ROOTFS/mnt/afile && mkdir -m 700 $ROOTFS/mnt/m700 && "
           "mkdir -m 750 $ROOTFS/mnt/m750")
SUBMOUNT = [sh("mkdir -p $HOST/src/sub && mount -t tmpfs -o size=1m tmpfs $HOST/src/sub && "
               "echo below > $HOST/src/sub/below"),
            on_teardown("umount -l $HOST/src/sub")]


def tmpfs_cases():
    out = []
    for opts in ((), ("mode=700",), ("mode=1777",), ("size=1m",), ("nr_inodes=100",),
                 ("uid=1000", "gid=1000"), ("ro",), ("noexec", "nosuid", "nodev"),
                 ("size=1m", "mode=0750", "noatime"), ("tmpcopyup",), ("rprivate",),
                 ("nosymfollow",), ("strictatime",), ("relatime",), ("lazytime",),
                 ("sync", "dirsync"), ("noswap",), ("huge=never",), ("nosuchoption",)):
        out.append(Case(f"mounts: tmpfs {','.join(opts) or 'no options'}",
                        [mount("/mnt/t", "tmpfs", "tmpfs", *opts)], probe=["/mnt/t"]))
    out.append(Case("mounts: tmpfs over a 0700 directory without mode= (A13)",
                    [mount("/mnt/m700", "tmpfs", "tmpfs")], setup=[LINKS],
                    probe=["/mnt/m700"], issue="A13"))
    out.append(Case("mounts: tmpfs over a 0750 directory with mode=",
                    [mount("/mnt/m750", "tmpfs", "tmpfs", "mode=711")], setup=[LINKS],
                    probe=["/mnt/m750"]))
    out.append(Case("mounts: tmpfs tmpcopyup over /etc",
                    [mount("/etc", "tmpfs", "tmpfs", "tmpcopyup")], probe=["/etc/passwd"]))
    out.append(Case("mounts: tmpfs at a destination that does not exist",
                    [mount("/new/dir", "tmpfs", "tmpfs")], probe=["/new", "/new/dir"]))
    out.append(Case("mounts: tmpfs twice on one destination",
                    [mount("/mnt/t", "tmpfs", "tmpfs", "size=1m"),
                     mount("/mnt/t", "tmpfs", "tmpfs", "size=2m")], probe=["/mnt/t"]))
    return out


def bind_cases():
    out = []
    for opts in (("bind",), ("rbind",), ("bind", "ro"), ("rbind", "ro"), ("bind", "rw"),
                 ("bind", "nosuid", "nodev", "noexec"), ("rbind", "rro"),
                 ("rbind", "rnosuid", "rnodev", "rnoexec"), ("bind", "noatime"),
                 ("bind", "strictatime"), ("bind", "nodiratime"), ("bind", "relatime"),
                 ("bind", "nosymfollow"), ("bind", "shared"), ("bind", "slave"),
                 ("bind", "private"), ("bind", "unbindable"), ("rbind", "rshared"),
                 ("rbind", "rslave"), ("rbind", "rprivate"), ("rbind", "runbindable"),
                 ("bind", "ro", "remount"), ("bind", "suid", "dev", "exec"),
                 ("bind", "ro", "rw"), ("bind", "mand"), ("bind", "silent"),
                 ("bind", "norelatime"), ("bind", "noiversion")):
        out.append(Case(f"mounts: bind dir {','.join(opts)}",
                        [mount("/mnt/b", "bind", "{host}/src", *opts)], setup=[SRC],
                        probe=["/mnt/b", "/mnt/b/file"]))
    for opts in (("bind",), ("rbind",), ("rbind", "rro"), ("bind", "ro")):
        out.append(Case(f"mounts: bind of a source with a submount, {','.join(opts)}",
                        [mount("/mnt/b", "bind", "{host}/src", *opts)],
                        setup=[SRC] + SUBMOUNT, probe=["/mnt/b/sub/below"]))
    for name, dst, src, setup in (
            ("a file onto a file", "/etc/hostname", "{host}/file", []),
            ("a file, destination missing", "/mnt/newfile", "{host}/file", []),
            ("a dir, destination missing", "/mnt/new/deeper", "{host}/src", []),
            ("a file onto a directory", "/mnt", "{host}/file", []),
            ("a dir onto a file", "/mnt/afile", "{host}/src", [LINKS]),
            ("onto a symlink to /etc", "/mnt/toetc", "{host}/src", [LINKS]),
            ("onto a symlink that climbs out", "/mnt/up/x", "{host}/src", [LINKS]),
            ("onto a dangling symlink (A2)", "/mnt/dangling", "{host}/file", [LINKS]),
            ("a source that does not exist", "/mnt/b", "{host}/nonexistent", []),
            ("a fifo", "/mnt/fifo", "{host}/fifo", []),
            ("/dev/null", "/mnt/null", "/dev/null", []),
            ("a relative source (from the bundle)", "/mnt/b", "../host/src", []),
            ("a relative destination", "mnt/b", "{host}/src", []),
            ("a destination with ..", "/mnt/../mnt/b", "{host}/src", []),
            ("a destination through /proc", "/proc/mine", "{host}/src", []),
            ("onto /proc/cpuinfo", "/proc/cpuinfo", "{host}/file", []),
            ("onto /sys/kernel", "/sys/kernel", "{host}/src", []),
            ("onto /dev/mydir", "/dev/mydir", "{host}/src", []),
            ("onto /", "/", "{host}/src", [])):
        issue = "A2" if "(A2)" in name else ""
        out.append(Case(f"mounts: bind {name}", [mount(dst, "bind", src, "rbind")],
                        setup=[SRC] + setup, probe=[dst], issue=issue))
    out.append(Case("mounts: bind onto resolv.conf, a dangling link in the image (A2)",
                    [mount("/etc/resolv.conf", "bind", "{host}/file", "rbind", "ro")],
                    setup=[SRC, sh("mkdir -p $ROOTFS/run && ln -sf "
                                   "../run/systemd/resolve/stub-resolv.conf "
                                   "$ROOTFS/etc/resolv.conf")],
                    probe=["/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf"],
                    issue="A2"))
    out.append(Case("mounts: bind with type none", [mount("/mnt/b", "none", "{host}/src",
                                                          "bind")], setup=[SRC],
                    probe=["/mnt/b/file"]))
    out.append(Case("mounts: bind with no type", [mount("/mnt/b", None, "{host}/src", "rbind")],
                    setup=[SRC], probe=["/mnt/b/file"]))
    out.append(Case("mounts: type bind without a bind option",
                    [mount("/mnt/b", "bind", "{host}/src")], setup=[SRC], probe=["/mnt/b"]))
    return out


def other_type_cases():
    out = []
    for name, m, probe in (
            ("a second proc", ("/mnt/proc", "proc", "proc"), ["/mnt/proc/self"]),
            ("proc hidepid=2", ("/mnt/proc", "proc", "proc", "hidepid=2"), []),
            ("proc subset=pid", ("/mnt/proc", "proc", "proc", "subset=pid"), []),
            ("a second sysfs, rw", ("/mnt/sys", "sysfs", "sysfs"), []),
            ("mqueue again", ("/mnt/mq", "mqueue", "mqueue"), []),
            ("devpts without newinstance", ("/mnt/pts", "devpts", "devpts"), []),
            ("devpts ptmxmode=000", ("/mnt/pts", "devpts", "devpts", "newinstance",
                                     "ptmxmode=000"), []),
            ("cgroup rw", ("/mnt/cg", "cgroup", "cgroup", "rw"), []),
            ("cgroup2", ("/mnt/cg2", "cgroup2", "cgroup2"), []),
            ("an unknown type", ("/mnt/x", "nosuchfs", "none"), []),
            ("ramfs", ("/mnt/r", "ramfs", "ramfs"), ["/mnt/r"]),
            ("overlay of host directories", ("/mnt/ov", "overlay", "overlay",
                                             "lowerdir={host}/src",
                                             "upperdir={host}/up", "workdir={host}/work"),
             ["/mnt/ov/file"])):
        dst, typ, src, *opts = m

        def edit(cfg, ctx, dst=dst, typ=typ, src=src, opts=opts):
            m = {"destination": dst, "type": typ, "source": src}
            if opts:
                m["options"] = [o.format(host=ctx.host) for o in opts]
            cfg["mounts"].append(m)
        out.append(Case(f"mounts: {name}", [edit],
                        setup=[SRC, sh("mkdir -p $HOST/up $HOST/work")], probe=probe))
    return out


def default_mount_cases():
    def without(dst):
        def edit(cfg, ctx):
            cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != dst]
        return edit

    def opts_of(dst, opts):
        def edit(cfg, ctx):
            for m in cfg["mounts"]:
                if m["destination"] == dst:
                    m["options"] = list(opts)
        return edit
    out = [Case("mounts: none at all", [put("mounts", [])]),
           Case("mounts: no /dev tmpfs", [without("/dev")]),
           Case("mounts: no /dev/pts", [without("/dev/pts")]),
           Case("mounts: no /sys", [without("/sys"), without("/sys/fs/cgroup")]),
           Case("mounts: no /sys/fs/cgroup", [without("/sys/fs/cgroup")]),
           Case("mounts: /sys/fs/cgroup rw", [opts_of("/sys/fs/cgroup",
                                                      ["nosuid", "noexec", "nodev"])]),
           Case("mounts: /sys rw", [opts_of("/sys", ["nosuid", "noexec", "nodev"])]),
           Case("mounts: sysfs without a network namespace", [without_ns("network")]),
           Case("mounts: mqueue without an ipc namespace", [without_ns("ipc")]),
           Case("mounts: cgroup with a cgroup namespace", [append(
               "linux.namespaces", {"type": "cgroup"})]),
           Case("mounts: /dev tmpfs without mode=", [opts_of("/dev", ["nosuid"])])]
    return out


def userns_mount_cases():
    """Bind sources seen from a user namespace (issue 16 A6)."""
    private = sh("mkdir -m 700 $HOST/private && mkdir $HOST/private/vol && "
                 "echo secret > $HOST/private/vol/f && echo f > $HOST/private/file && "
                 "chmod 755 $RUN $HOST")
    return [
        Case("user namespace: bind from a 0700 root-owned directory (A6)",
             [userns(), mount("/mnt/vol", "bind", "{host}/private/vol", "rbind")],
             setup=[private], probe=["/mnt/vol", "/mnt/vol/f"], issue="A6"),
        Case("user namespace: bind a file, destination missing (A6)",
             [userns(), mount("/mnt/newfile", "bind", "{host}/private/file", "rbind")],
             setup=[private], probe=["/mnt/newfile"], issue="A6"),
        Case("user namespace: bind of a readable directory",
             [userns(), mount("/mnt/b", "bind", "{host}/src", "rbind")],
             setup=[SRC, sh("chmod 755 $RUN $HOST")], probe=["/mnt/b/file"]),
        Case("user namespace: tmpfs", [userns(), mount("/mnt/t", "tmpfs", "tmpfs")],
             probe=["/mnt/t"]),
        Case("user namespace: no network namespace (sysfs)",
             [userns(), without_ns("network")]),
    ]


def b_mount_cases():
    """Issue 16 B: idmapped mounts."""
    idm = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    out = []
    for name, edits in (
            ("bind with uidMappings/gidMappings",
             [userns(), mount("/mnt/b", "bind", "{host}/src", "rbind",
                              uidMappings=idm, gidMappings=idm)]),
            ("bind with idmap", [userns(), mount("/mnt/b", "bind", "{host}/src", "rbind",
                                                 "idmap")]),
            ("bind with ridmap", [userns(), mount("/mnt/b", "bind", "{host}/src", "rbind",
                                                  "ridmap")]),
            ("idmap without a user namespace", [mount("/mnt/b", "bind", "{host}/src", "rbind",
                                                      "idmap")])):
        out.append(Case(f"mounts: idmapped, {name} (B)", edits,
                        setup=[SRC, sh("chmod 755 $RUN $HOST")],
                        probe=["/mnt/b", "/mnt/b/file"], issue="B"))
    return out


def cases():
    return (tmpfs_cases() + bind_cases() + other_type_cases() + default_mount_cases()
            + userns_mount_cases() + b_mount_cases())
