"""Running one case under one runtime and collecting what it saw.

A run gets a directory of its own, WORK/<case number>/<runtime>/, with a
fresh copy of the base rootfs, the bundle's config.json, a directory for
host-side files (bind sources, hook logs) and nothing else; so both
runtimes start from identical trees and the paths that differ between them
are all below that one directory, which normalisation replaces by <RUN>.

The observation is a dict: field -> list of strings. Most fields come from
the probe (tests/diff/probe.c) inside the container; the rest the harness
reads from the host while the probe waits: the cgroup files, which
namespaces are new, shared with the harness or joined by path, then the
state after the run and what the runtime left behind.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CALL_TIMEOUT = 20  # any single runtime invocation
PROBE_IN_ROOTFS = "/probe"
NS_TYPES = ("pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time")

# The cgroup files compared, per v1 controller; cgroup2 (hybrid or pure).
CGROUP_FILES = {
    "memory": ["memory.limit_in_bytes", "memory.soft_limit_in_bytes",
               "memory.memsw.limit_in_bytes", "memory.swappiness", "memory.oom_control",
               "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
               "memory.use_hierarchy"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us",
            "cpu.rt_runtime_us", "cpu.rt_period_us", "cpu.idle"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
    "pids": ["pids.max"],
    "blkio": ["blkio.weight", "blkio.leaf_weight", "blkio.weight_device",
              "blkio.bfq.weight", "blkio.throttle.read_bps_device",
              "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
              "blkio.throttle.write_iops_device"],
    "devices": ["devices.list"],
    "freezer": ["freezer.state"],
    "hugetlb": ["hugetlb.2MB.limit_in_bytes"],
    "net_cls": ["net_cls.classid"],
    "net_prio": ["net_prio.ifpriomap"],
    "": ["cgroup.controllers", "cgroup.subtree_control", "memory.max", "memory.low",
         "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "cpuset.cpus", "io.max"],
}


@dataclass
class Runtime:
    name: str   # "husk" or "runc": the directory and id suffix
    path: str
    state: Path


@dataclass
class Ctx:
    """What a case's edit, setup and teardown functions may use."""
    run: Path        # this run's directory (normalised to <RUN>)
    rootfs: Path     # run/rootfs, a fresh copy of the base
    bundle: Path     # run/bundle (config.json)
    host: Path       # run/host: bind sources, hook scripts and logs
    id: str          # the container id (normalised to <ID>)
    rt: Runtime
    mark: str        # environment marker of the harness session
    probe_host: str  # the probe binary on the host (hooks, caller wrapper)
    ns_labels: dict = field(default_factory=dict)  # ns inode -> label
    prefix: list = field(default_factory=list)     # argv before the runtime
    pass_fds: tuple = ()
    env: dict = None                               # the runtime's environment
    cleanup: list = field(default_factory=list)    # callables, run in reverse


def _reader(stream, lines, done):
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        lines.append(line)
        if line == "probe: end":
            done.set()
    done.set()


def call(ctx, *args, timeout=CALL_TIMEOUT, out=None, err=None):
    """One runtime call; (rc, stdout, stderr). A call that leaves a
    process behind (run -d) must be given files for out and err: that
    process would keep a pipe open."""
    argv = list(ctx.prefix) + [ctx.rt.path, "--root", str(ctx.rt.state)] + [str(a) for a in args]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out or subprocess.PIPE,
                           stderr=err or subprocess.PIPE, timeout=timeout, env=ctx.env)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout}s"
    return (p.returncode, (p.stdout or b"").decode(errors="replace"),
            (p.stderr or b"").decode(errors="replace"))


def container_pid(ctx):
    rc, out, _ = call(ctx, "state", ctx.id)
    if rc != 0:
        return None
    try:
        return json.loads(out).get("pid") or None
    except ValueError:
        return None


def _ino(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def observe_namespaces(ctx, pid, obs):
    for ns in NS_TYPES:
        mine, theirs = _ino(f"/proc/self/ns/{ns}"), _ino(f"/proc/{pid}/ns/{ns}")
        if theirs is None:
            what = "gone"
        elif theirs == mine:
            what = "the harness's"
        elif theirs in ctx.ns_labels:
            what = f"joined {ctx.ns_labels[theirs]}"
        else:
            what = "new"
        obs.setdefault(f"ns.{ns}", []).append(what)


def _cgroup_mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstype, _src, sopts = post.split()[:3]
            if fstype in ("cgroup", "cgroup2"):
                out.append((pre.split()[4], fstype, set(sopts.split(","))))
    return out


def cgroup_dirs(pid):
    """{controllers ("" for cgroup2): host directory} of pid's cgroups."""
    dirs = {}
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return dirs
    mounts = _cgroup_mounts()
    for line in text.splitlines():
        hid, ctrls, path = line.split(":", 2)
        want = set(filter(None, ctrls.split(",")))
        for mp, fstype, sopts in mounts:
            if (hid == "0" and fstype == "cgroup2") or (
                    fstype == "cgroup" and want and want <= sopts):
                dirs[ctrls] = os.path.join(mp, path.lstrip("/"))
    return dirs


def observe_cgroup_files(pid, obs):
    for ctrls, d in sorted(cgroup_dirs(pid).items()):
        obs.setdefault("cgroup.path", []).append(f"{ctrls or 'cgroup2'} {d}")
        names = set()
        for c in ctrls.split(",") if ctrls else [""]:
            names.update(CGROUP_FILES.get(c, []))
        for n in sorted(names):
            try:
                v = Path(d, n).read_text().strip()
            except OSError:
                continue
            if n == "memory.oom_control":
                v = v.splitlines()[0]
            obs.setdefault(f"cgroup.{n}", []).extend(v.splitlines() or [""])


def observe_outside(ctx, pid, obs):
    if not pid:
        obs["outside"] = ["no pid in the state"]
        return
    observe_namespaces(ctx, pid, obs)
    observe_cgroup_files(pid, obs)


def _watch(proc, ctx, obs, timeout):
    """Read the probe's lines; while it waits on stdin, look from outside."""
    lines, done = [], threading.Event()
    t = threading.Thread(target=_reader, args=(proc.stdout, lines, done), daemon=True)
    t.start()
    done.wait(timeout)
    if "probe: end" in lines and proc.poll() is None:
        observe_outside(ctx, container_pid(ctx), obs)
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
        obs["timeout"] = ["the runtime did not finish"]
    t.join(5)
    return rc, lines


def _popen(ctx, argv, stderr):
    return subprocess.Popen(list(ctx.prefix) + argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr, env=ctx.env,
                            pass_fds=ctx.pass_fds)


def _runtime_argv(ctx, *args):
    return [ctx.rt.path, "--root", str(ctx.rt.state)] + [str(a) for a in args]


def run_foreground(ctx, case, obs):
    err = ctx.run / "stderr"
    with open(err, "wb") as e:
        proc = _popen(ctx, _runtime_argv(ctx, "run", *case.flags, "--bundle", ctx.bundle,
                                         ctx.id), e)
        rc, lines = _watch(proc, ctx, obs, case.timeout or CALL_TIMEOUT)
    return rc, lines, err.read_text(errors="replace")


def run_create_start(ctx, case, obs):
    """create (its stdio is the container's), then start."""
    err = ctx.run / "stderr"
    with open(err, "wb") as e:
        proc = _popen(ctx, _runtime_argv(ctx, "create", *case.flags, "--bundle", ctx.bundle,
                                         ctx.id), e)
        lines, done = [], threading.Event()
        t = threading.Thread(target=_reader, args=(proc.stdout, lines, done), daemon=True)
        t.start()
        try:
            rc = proc.wait(CALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        if rc == 0:
            src, _, serr = call(ctx, "start", ctx.id)
            if src != 0:
                rc = src
                e.write(serr.encode())
        done.wait(CALL_TIMEOUT if rc == 0 else 0.5)
        if "probe: end" in lines:
            observe_outside(ctx, container_pid(ctx), obs)
        try:
            proc.stdin.close()
        except OSError:
            pass
        wait_stopped(ctx)
        t.join(5)
    return rc, lines, err.read_text(errors="replace")


def wait_stopped(ctx, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, out, _ = call(ctx, "state", ctx.id)
        if rc != 0 or json.loads(out or "{}").get("status") == "stopped":
            return
        time.sleep(0.02)


def run_exec(ctx, case, obs):
    """A container running sleep, then exec of the probe into it."""
    out, err = ctx.run / "container.out", ctx.run / "container.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        rc, _, _ = call(ctx, "run", "-d", "--bundle", ctx.bundle, ctx.id, out=o, err=e)
    if rc != 0:
        return rc, [], err.read_text(errors="replace")
    if case.before_exec:
        case.before_exec(ctx)
    errf = ctx.run / "stderr"
    with open(errf, "wb") as e:
        proc = _popen(ctx, _runtime_argv(ctx, "exec", *case.flags, ctx.id,
                                         *case.exec_args), e)
        rc, lines = _watch(proc, ctx, obs, CALL_TIMEOUT)
    return rc, lines, errf.read_text(errors="replace")


MODES = {"run": run_foreground, "create": run_create_start, "exec": run_exec}

# Docker's reading of a runtime's error (daemon/start.go): these words
# decide between 127, 126 and 125; everything else is one class.
ERROR_CLASSES = (("executable file not found", "executable not found in $PATH"),
                 ("no such file or directory", "no such file or directory"),
                 ("permission denied", "permission denied"))


def error_class(stderr):
    """The class of the error a runtime printed; its warnings (runc's
    level=warning lines, husk's "warning:") do not count."""
    lines = [l for l in stderr.splitlines()
             if "level=warning" not in l and not l.startswith("husk: warning:")]
    low = "\n".join(lines).lower()
    for needle, cls in ERROR_CLASSES:
        if needle in low:
            return cls
    return "other"


def parse_probe(lines, obs):
    """The probe's lines as fields; anything the runtime printed on the
    same stdout (a usage text) is kept aside, not compared."""
    inside = False
    for line in lines:
        if line == "probe: begin":
            inside = True
        if not inside:
            obs.setdefault("_stdout", []).append(line)
            continue
        k, sep, v = line.partition(": ")
        if not sep:
            k, v = line.rstrip(":"), ""
        obs.setdefault(k, []).append(v)


def observe_after(ctx, case, obs):
    rc, out, _ = call(ctx, "state", ctx.id)
    obs["after.state"] = [json.loads(out)["status"] if rc == 0 else "no container"]
    if rc == 0:
        call(ctx, "delete", "--force", ctx.id)
    for name in case.host_files:
        p = ctx.host / name
        try:
            obs[f"host.{name}"] = p.read_text(errors="replace").splitlines()
        except OSError as e:
            obs[f"host.{name}"] = [f"error {e.strerror}"]


def outcome(rc, lines, stderr, obs):
    if "probe: end" in lines:
        obs["outcome"] = ["ran"]
    elif "probe: begin" in lines:
        obs["outcome"] = ["ran, cut short"]
    else:
        obs["outcome"] = ["did not run"]
        obs["error.class"] = [error_class(stderr)]
    obs["exit"] = [str(rc)]
    obs["_stderr"] = [stderr.strip()]


def prepare(ctx, case, base_rootfs, make_config):
    ctx.run.mkdir(parents=True)
    ctx.host.mkdir()
    ctx.bundle.mkdir()
    subprocess.run(["cp", "-a", str(base_rootfs), str(ctx.rootfs)], check=True, timeout=60)
    for fn in case.setup:
        fn(ctx)
    cfg = make_config(ctx, case)
    own_rootfs(ctx, cfg)
    (ctx.bundle / "config.json").write_text(json.dumps(cfg, indent=1))


def mapped_root(lx, key):
    for m in lx.get(key) or []:
        if isinstance(m, dict) and m.get("containerID") == 0:
            return m.get("hostID")
    return None


def own_rootfs(ctx, cfg):
    """With a user namespace of its own the rootfs belongs to the
    container's root, as engines give it (chown or idmapped layers): the
    runtime makes mount points in it as that user."""
    lx = cfg.get("linux") or {}
    new_user = any(n.get("type") == "user" and not n.get("path")
                   for n in lx.get("namespaces") or [] if isinstance(n, dict))
    uid, gid = mapped_root(lx, "uidMappings"), mapped_root(lx, "gidMappings")
    if new_user and isinstance(uid, int) and isinstance(gid, int):
        subprocess.run(["chown", "-R", f"{uid}:{gid}", str(ctx.rootfs)], check=True,
                       timeout=60)


def run_case(ctx, case, base_rootfs, make_config):
    """The observation of one case under ctx.rt."""
    obs = {}
    try:
        prepare(ctx, case, base_rootfs, make_config)
        rc, lines, stderr = MODES[case.mode](ctx, case, obs)
        parse_probe(lines, obs)
        outcome(rc, lines, stderr, obs)
        observe_after(ctx, case, obs)
    except Exception as e:  # a broken setup is a result too, not a crash of the run
        obs["harness.error"] = [f"{type(e).__name__}: {e}"]
        call(ctx, "delete", "--force", ctx.id)
    finally:
        for fn in reversed(ctx.cleanup):
            try:
                fn()
            except Exception as e:
                obs.setdefault("harness.cleanup", []).append(f"{type(e).__name__}: {e}")
    obs.update(leftovers(ctx))
    return obs


def leftovers(ctx):
    """What the runtime left on the host once the container was deleted:
    cgroup directories and mounts (removed here, so nothing leaks on)."""
    found = {}
    cg = []
    for root, dirs, _files in os.walk("/sys/fs/cgroup"):
        for d in list(dirs):
            if ctx.id in d:
                cg.append(os.path.join(root, d))
                dirs.remove(d)
    procs = set()
    for d in cg:
        for sub, _dirs, _files in os.walk(d):
            try:
                procs.update(int(p) for p in Path(sub, "cgroup.procs").read_text().split())
            except OSError:
                pass
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if procs:
        # the runtime's, in the container's cgroup after delete: runc's
        # init whose main thread a seccomp KILL (a thread's) ended
        found["after.processes_left"] = [f"{len(procs)} process(es)"]
        time.sleep(0.3)
    for d in sorted(cg, key=len, reverse=True):
        for sub, _dirs, _files in sorted(os.walk(d), key=lambda w: -len(w[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass
    if cg:
        found["after.cgroups_left"] = [
            "/".join(p.split("/")[:5]) + " ..." for p in sorted(cg)]
    mounts = [l.split()[4] for l in Path("/proc/self/mountinfo").read_text().splitlines()
              if str(ctx.run) in l.split()[4]]
    for mp in reversed(mounts):
        subprocess.run(["umount", "-l", mp], timeout=10, capture_output=True)
    if mounts:
        found["after.mounts_left"] = mounts
    if not mounts:
        shutil.rmtree(ctx.run, ignore_errors=True)
    return found


def caller_wrapper(probe_host, ignore=(), block=()):
    """argv that starts the runtime with the given signals ignored and
    blocked, as an engine that ignores SIGPIPE would (probe --caller)."""
    argv = [probe_host, "--caller"]
    if ignore:
        argv += ["--ignore", ",".join(str(int(s)) for s in ignore)]
    if block:
        argv += ["--block", ",".join(str(int(s)) for s in block)]
    return argv + ["--"]


