#!/usr/bin/python3
"""The differential harness: every case under husk and under runc, the two
observations normalised and compared, the differences judged against the
allow-list in README.md (Differences from runc). Exit status 1 when a
difference is not on the list, or an entry of the list no longer matches
anything it names.

    tests/diff/run.py [--subset] [-j N] [-k PATTERN] [--show] [--list]
                      [--self RUNTIME] [--husk PATH] [--runc PATH]

--subset runs every SUBSET_EVERY-th case and every case of issue 16 (what
`make test` runs); -k runs the cases whose name contains PATTERN; --show
prints both observations of each case run; --self compares RUNTIME with
itself (what is left after normalisation must be stable: no differences).
"""

import argparse
import fnmatch
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import cases_linux  # noqa: E402
import cases_mounts  # noqa: E402
import cases_process  # noqa: E402
from case import make_config  # noqa: E402
from compare import compare, judge, load_allow_list, normalise, show_diff  # noqa: E402
from runner import Ctx, Runtime, run_case  # noqa: E402

SUBSET_EVERY = 7
RUNTIME_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": "/root", "LANG": "C.UTF-8"}
PASSWD = "user:x:1000:1000:user:/home/user:/bin/sh\n"
GROUP = "user:x:1000:\n"


def all_cases():
    cs = cases_process.cases() + cases_mounts.cases() + cases_linux.cases()
    seen = set()
    for c in cs:
        if c.name in seen:
            raise SystemExit(f"two cases named {c.name!r}")
        seen.add(c.name)
    return cs


def select(cs, args):
    chosen = []
    for i, c in enumerate(cs):
        if args.k and not any(k in c.name for k in args.k):
            continue
        if args.subset and i % SUBSET_EVERY and not c.issue:
            continue
        chosen.append((i, c))
    return chosen


def make_base(work, probe):
    base = work / "base"
    subprocess.run([str(REPO / "tests" / "mkrootfs.sh"), str(base)], check=True,
                   timeout=120, capture_output=True)
    shutil.copy(probe, base / "probe")
    (base / "probe").chmod(0o755)
    with open(base / "etc" / "passwd", "a") as f:
        f.write(PASSWD)
    with open(base / "etc" / "group", "a") as f:
        f.write(GROUP)
    for d in ("mnt", "home/user"):
        (base / d).mkdir(parents=True, exist_ok=True)
    return base


class Session:
    def __init__(self, args):
        self.token = secrets.token_hex(3)
        self.work = Path(f"/tmp/hk-diff-{self.token}")
        self.work.mkdir(mode=0o755)
        self.state = Path(f"/run/hk-diff-{self.token}")
        self.state.mkdir(mode=0o700)
        self.mark = f"HKDIFF_SESSION={self.token}"
        self.probe = args.probe
        self.base = make_base(self.work, args.probe)
        names = ("a", "b") if args.self else ("husk", "runc")
        paths = (args.self, args.self) if args.self else (args.husk, args.runc)
        self.rts = []
        for n, p in zip(names, paths):
            (self.state / n).mkdir(mode=0o700)
            self.rts.append(Runtime(n, p, self.state / n))

    def run_one(self, i, case, rt):
        d = self.work / f"{i:03d}" / rt.name
        ctx = Ctx(run=d, rootfs=d / "rootfs", bundle=d / "bundle", host=d / "host",
                  id=f"hkdiff-{self.token}-{i:03d}{rt.name[0]}", rt=rt, mark=self.mark,
                  probe_host=str(self.probe), env=dict(RUNTIME_ENV))
        t = time.monotonic()
        obs = run_case(ctx, case, self.base, make_config)
        obs = normalise(obs, d, ctx.id, rt.state)
        return obs, time.monotonic() - t

    def run(self, i, case):
        (a, ta), (b, tb) = (self.run_one(i, case, rt) for rt in self.rts)
        shutil.rmtree(self.work / f"{i:03d}", ignore_errors=True)
        return a, b, ta, tb

    def leaks(self):
        problems = []
        for rt in self.rts:
            left = os.listdir(rt.state)
            if left:
                problems.append(f"{rt.name} state entries: {left}")
        mi = [l for l in Path("/proc/self/mountinfo").read_text().splitlines()
              if str(self.work) in l]
        if mi:
            problems.append(f"mounts: {mi}")
        tag = f"hkdiff-{self.token}"
        for root, dirs, _files in os.walk("/sys/fs/cgroup"):
            for d in dirs:
                if tag in d:
                    problems.append(f"cgroup {os.path.join(root, d)}")
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                env = Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if self.mark.encode() in env:
                problems.append(f"process {p}")
        return problems

    def close(self):
        if not any(str(self.work) in l for l in Path("/proc/self/mountinfo").read_text()
                   .splitlines()):
            shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)


def report(results, allow, names, args, elapsed, all_names):
    """Print the figures, the allow-list as used, and every difference it
    does not cover; True when all is as listed. An entry is stale when
    none of the cases it names differs where it says; it is judged only
    when every case it names has run (a subset runs some)."""
    agree = listed = 0
    bad = []
    for i, case, a, b, ta, tb in results:
        diffs = compare(a, b)
        if args.show:
            print(f"== [{i}] {case.name}")
            for line in sorted(set(a) | set(b)):
                for l in show_diff(a.get(line, []), b.get(line, []), names):
                    print(f"  {line}: {l.strip()}")
        if not diffs:
            agree += 1
            continue
        unexpected = judge(case.name, diffs, allow) if not args.self else diffs
        if unexpected:
            bad.append((i, case, unexpected, a, b))
        else:
            listed += 1
    ran = {case.name for _, case, _, _, _, _ in results}
    stale = [e for e in allow if e.matched_cases and not e.used
             and {n for n in all_names if fnmatch.fnmatchcase(n, e.cases)} <= ran]
    if args.self:
        stale = []
    n = len(results)
    print(f"\ndifferential harness: {n} cases, {agree} agree, {listed} differ only as "
          f"the allow-list says, {len(bad)} differ otherwise ({elapsed:.0f} s)")
    if not args.self:
        print("\nallow-list (README.md, Differences from runc), as used by this run:")
        for e in allow:
            if e.matched_cases:
                cases = len({c for c, _ in e.used})
                print(f"  {e.cases} / {e.fields}: {cases} case(s) -- {e.reason}")
    for i, case, unexpected, a, b in bad:
        print(f"\nDIFFERENCE [{i}] {case.name}")
        for fld, (va, vb) in unexpected.items():
            print(f"  {fld}:")
            for line in show_diff(va, vb, names):
                print(line)
        for nm, o in zip(names, (a, b)):
            err = o.get("_stderr", [""])[0]
            if err:
                print(f"  ({nm} said: {err[:300]})")
    for e in stale:
        print(f"\nSTALE allow-list entry {e.cases} / {e.fields}: the cases it names "
              f"({len(e.matched_cases)}) no longer differ there; remove it ({e.reason})")
    return not bad and not stale


def default_glibc_signals():
    """Signals 32 and 33 back to SIG_DFL, through the system call (glibc,
    and so Python, refuses them): a caller that ignores them (CI's runner
    does) would otherwise be compared instead of the runtimes (runc 1.1.5
    passes them on ignored, husk resets them: test_tail.py shows it)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for sig in (32, 33):
        ksa = (ctypes.c_ulong * 4)(0, 0, 0, 0)  # SIG_DFL, flags, restorer, mask
        if libc.syscall(13, sig, ctypes.byref(ksa), None, 8) != 0:  # x86-64 rt_sigaction
            raise OSError(ctypes.get_errno(), f"rt_sigaction({sig}, SIG_DFL)")


def main():
    default_glibc_signals()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subset", action="store_true")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("-k", action="append")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--self")
    ap.add_argument("--husk", default=os.environ.get("HUSK", str(REPO / "build" / "husk")))
    ap.add_argument("--runc", default=os.environ.get("RUNC", shutil.which("runc")
                                                     or "/usr/sbin/runc"))
    ap.add_argument("--probe", default=str(REPO / "build" / "tests" / "diff-probe"))
    ap.add_argument("--json", help="write every observation and difference here")
    args = ap.parse_args()
    cs = all_cases()
    chosen = select(cs, args)
    if args.list:
        for i, c in chosen:
            print(f"{i:3d} {c.issue or '-':4s} {c.name}")
        print(f"{len(chosen)} of {len(cs)} cases")
        return 0
    if os.geteuid() != 0:
        raise SystemExit("the differential harness runs containers: run it as root")
    allow = load_allow_list(REPO / "README.md")
    sess = Session(args)
    names = tuple(rt.name for rt in sess.rts)
    print(f"{names[0]}: {sess.rts[0].path}\n{names[1]}: {sess.rts[1].path}\n"
          f"{len(chosen)} of {len(cs)} cases, {args.j} at a time, in {sess.work}")
    t0 = time.monotonic()
    results = []
    try:
        with ThreadPoolExecutor(args.j) as ex:
            futs = [(i, c, ex.submit(sess.run, i, c)) for i, c in chosen]
            for i, c, f in futs:
                a, b, ta, tb = f.result()
                results.append((i, c, a, b, ta, tb))
                print(f"  [{i:3d}] {ta:5.2f} {tb:5.2f}  {c.name}", flush=True)
        ok = report(results, allow, names, args, time.monotonic() - t0, [c.name for c in cs])
        leaks = sess.leaks()
        if leaks:
            print("\nLEAKED:\n  " + "\n  ".join(leaks))
            ok = False
    finally:
        sess.close()
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"i": i, "case": c.name, "issue": c.issue, names[0]: a, names[1]: b,
              "differences": sorted(compare(a, b))} for i, c, a, b, _, _ in results],
            indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
