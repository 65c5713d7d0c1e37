"""A case: a config.json made from the base one by a few edits, and how it
is run. The base is what `runc spec` writes, with terminal false, the
probe as the process and the hostname "hkdiff".

Strings in flags, exec_args and probe arguments may name the run's places:
{host} {rootfs} {bundle} {run} {id} (formatted per run, so each runtime
gets its own).
"""

import copy
import os
import subprocess
from dataclasses import dataclass, field

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
HOST_ID = 100000  # the first host id of a user namespace's mapping
MAP_SIZE = 65536


@dataclass
class Case:
    name: str
    edits: list = field(default_factory=list)      # fn(cfg, ctx)
    setup: list = field(default_factory=list)      # fn(ctx), before config.json
    mode: str = "run"                              # run | create | exec
    flags: list = field(default_factory=list)      # of run/create/exec
    exec_args: list = field(default_factory=lambda: ["/probe"])
    before_exec: object = None                     # fn(ctx), exec mode
    probe: list = field(default_factory=list)      # the probe's arguments
    args: list = None                              # process.args instead of the probe
    host_files: list = field(default_factory=list)  # read from {host} afterwards
    issue: str = ""                                # "A4": a case of issue 16
    timeout: float = 0                             # of the run, when not the usual

    def fmt(self, ctx, s):
        return str(s).format(host=ctx.host, rootfs=ctx.rootfs, bundle=ctx.bundle,
                             run=ctx.run, id=ctx.id)


def base_config(ctx, case):
    mark = ctx.mark
    args = case.args if case.args is not None else ["/probe", *case.probe]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": [case.fmt(ctx, a) for a in args],
            "env": [PATH, "TERM=xterm", mark],
            "cwd": "/",
            "capabilities": {k: list(CAPS) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(ctx.rootfs), "readonly": True},
        "hostname": "hkdiff",
        "mounts": default_mounts(),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def default_mounts():
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


def make_config(ctx, case):
    cfg = base_config(ctx, case)
    for fn in case.edits:
        fn(cfg, ctx)
    return cfg


# --------------------------------------------------------------------------
# edits: each returns fn(cfg, ctx)

def _walk(cfg, path, create=True):
    keys = path.split(".")
    d = cfg
    for k in keys[:-1]:
        if k not in d:
            if not create:
                return None, None
            d[k] = {}
        d = d[k]
    return d, keys[-1]


def put(path, value):
    """Set a dotted path ("process.user.uid"); strings are formatted."""
    def edit(cfg, ctx):
        d, k = _walk(cfg, path)
        v = copy.deepcopy(value)
        d[k] = v(ctx) if callable(v) else v
    return edit


def drop(path):
    def edit(cfg, ctx):
        d, k = _walk(cfg, path, create=False)
        if d is not None:
            d.pop(k, None)
    return edit


def append(path, *items):
    def edit(cfg, ctx):
        d, k = _walk(cfg, path)
        d.setdefault(k, [])
        for it in items:
            d[k].append(copy.deepcopy(it(ctx) if callable(it) else it))
    return edit


def mount(dst, typ, src, *opts, **extra):
    """A mount appended to the list; a source starting with "{" is a
    place of the run ("{host}/src")."""
    def edit(cfg, ctx):
        m = {"destination": dst, "type": typ,
             "source": src.format(host=ctx.host, rootfs=ctx.rootfs) if src else src}
        if opts:
            m["options"] = list(opts)
        m.update(copy.deepcopy(extra))
        if typ is None:
            del m["type"]
        cfg["mounts"].append(m)
    return edit


def without_ns(*types):
    def edit(cfg, ctx):
        ns = cfg["linux"]["namespaces"]
        cfg["linux"]["namespaces"] = [n for n in ns if n["type"] not in types]
        if "uts" in types:
            cfg.pop("hostname", None)
    return edit


def with_ns(typ, path=None):
    def edit(cfg, ctx):
        ns = cfg["linux"]["namespaces"]
        ns[:] = [n for n in ns if n["type"] != typ]
        n = {"type": typ}
        if path:
            n["path"] = path.format(host=ctx.host)
        ns.append(n)
    return edit


def userns(host_id=HOST_ID, size=MAP_SIZE):
    """A user namespace: 0..size-1 inside = host_id.. outside."""
    def edit(cfg, ctx):
        with_ns("user")(cfg, ctx)
        m = [{"containerID": 0, "hostID": host_id, "size": size}]
        cfg["linux"]["uidMappings"] = copy.deepcopy(m)
        cfg["linux"]["gidMappings"] = copy.deepcopy(m)
        # /sys/fs/cgroup is the host's cgroupfs: not mountable from a
        # user namespace without a cgroup namespace of its own
        with_ns("cgroup")(cfg, ctx)
    return edit


def process(**kv):
    def edit(cfg, ctx):
        for k, v in kv.items():
            cfg["process"][k] = copy.deepcopy(v)
    return edit


def resources(**kv):
    def edit(cfg, ctx):
        r = cfg["linux"].setdefault("resources", {})
        for k, v in kv.items():
            r[k] = copy.deepcopy(v)
    return edit


def linux(**kv):
    def edit(cfg, ctx):
        for k, v in kv.items():
            cfg["linux"][k] = copy.deepcopy(v)
    return edit


# --------------------------------------------------------------------------
# setups: fn(ctx), run before config.json is written

def sh(script):
    """A shell script run on the host with RUN, HOST, ROOTFS set."""
    def setup(ctx):
        env = dict(os.environ, RUN=str(ctx.run), HOST=str(ctx.host), ROOTFS=str(ctx.rootfs))
        subprocess.run(["/bin/sh", "-ec", script], check=True, env=env, timeout=30,
                       capture_output=True)
    return setup


def on_teardown(script):
    def setup(ctx):
        env = dict(os.environ, RUN=str(ctx.run), HOST=str(ctx.host), ROOTFS=str(ctx.rootfs))
        ctx.cleanup.append(lambda: subprocess.run(["/bin/sh", "-c", script], env=env,
                                                  timeout=30, capture_output=True))
    return setup


def ns_file(kind, label):
    """A namespace of `kind` (unshare's option name: net, ipc, uts, mount,
    cgroup) kept by a bind mount at {host}/ns-<kind>, removed afterwards;
    the observation calls it `label` when the container is in it."""
    def setup(ctx):
        d = ctx.host / "ns"
        if not d.exists():
            d.mkdir()
            # a mount namespace can only be kept on a private mount
            subprocess.run(["mount", "--bind", str(d), str(d)], check=True, timeout=10)
            subprocess.run(["mount", "--make-private", str(d)], check=True, timeout=10)
            ctx.cleanup.insert(0, lambda: subprocess.run(["umount", "-l", str(d)],
                                                         timeout=10))
        f = d / kind
        f.touch()
        subprocess.run(["unshare", f"--{kind}={f}", "true"], check=True, timeout=10)
        ctx.cleanup.append(lambda: subprocess.run(["umount", "-l", str(f)], timeout=10))
        ctx.ns_labels[os.stat(f).st_ino] = label
    return setup


def runtime_prefix(*argv):
    def setup(ctx):
        ctx.prefix = [a.format(host=ctx.host) for a in argv]
    return setup


def runtime_env(**kv):
    def setup(ctx):
        ctx.env = dict(ctx.env or {})
        ctx.env.update({k: v.format(host=ctx.host) for k, v in kv.items()})
    return setup
