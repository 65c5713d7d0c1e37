"""The `series` section of bench/run: a figure that cannot flatter.

`run` of `true` is measured BENCH_SERIES times in a row (default 3), each a
fresh set of BENCH_SERIES_N interleaved rounds (default 60), then once
more with two busy loops of our own spinning on the CPUs (pinned nowhere,
for every runtime alike), plus `husk launch --rm --net none` of the same
rootfs. Each series reports median, p90 and p99 per runtime and the
husk/crun ratios of the medians and of the p90s, against issue 21's
targets: <= 0.6 at the median and at p90 in every series, contention
included; launch <= 1.5x husk's run.
"""
import math
import os
import signal
import statistics
import subprocess
import sys
import time

TARGET = 0.6
LAUNCH_TARGET = 1.5


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]


class BusyLoops:
    """n processes spinning until stopped (their own process group)."""

    def __init__(self, n=2):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                       stdin=subprocess.DEVNULL, start_new_session=True)
                      for _ in range(n)]

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


class LaunchSubject:
    """`husk launch --rm --net none ROOTFS true` with data and cache dirs of
    the benchmark's own, from the private copy the run series times (its
    companions copied beside it: launch execs husk-launch from there)."""

    name = "husk launch"

    def __init__(self, husk, rootfs, tmp, prefix):
        self.husk, self.rootfs, self.cwd = husk, rootfs, None
        self.prefix, self.count = prefix, 0
        self.root = os.path.join(tmp, "state-launch")
        self.data = os.path.join(tmp, "launch-data")
        self.cache = os.path.join(tmp, "launch-cache")

    def command(self):
        self.count += 1
        return [self.husk, "--root", self.root, "launch", "--rm", "--net", "none",
                "--name", f"{self.prefix}launch{self.count}",
                "--data-dir", self.data, "--cache-dir", self.cache, self.rootfs, "true"]

    def after(self):
        """Untimed: wait for launch's after-care to have emptied DATA/.trash
        (cmd/husk-launch/aftercare.c). launch returns before its writable
        layer is removed; left to overlap with the next subject (husk run,
        in three rounds of four), that removal would be timed as theirs."""
        trash = os.path.join(self.data, ".trash")
        deadline = time.monotonic() + 5
        while os.path.exists(trash) and time.monotonic() < deadline:
            time.sleep(0.001)


def names(cfg_repeats):
    return [f"series {i + 1}" for i in range(cfg_repeats)] + ["under contention"]


def measure(rounds, data, time_once, failed_cls, subjects, n, warmup, repeats, log):
    """Fill data[(series name, subject)]."""
    for label in names(repeats):
        busy = BusyLoops() if label == "under contention" else None
        log(f"series: {label}, {warmup}+{n} rounds")
        try:
            def one(s, keep, label=label):
                cmd = s.command()
                ms, r = time_once(cmd, s.cwd)
                s.after()
                if r.returncode != 0:
                    err = r.stderr.decode(errors="replace") if isinstance(r.stderr, bytes) \
                        else str(r.stderr)
                    raise failed_cls(f"`{' '.join(cmd)}` exited {r.returncode}:\n{err}")
                if keep:
                    data[(label, s.name)].append(ms)
            rounds("series", subjects, n, warmup, one)
        finally:
            if busy:
                busy.stop()


def report(add, data, repeats, runtimes):
    add("")
    add("## `run` of `true`: series, tails and contention")
    add("")
    add(f"{repeats} consecutive series of interleaved runs, then one with two busy loops"
        " spinning (pinned nowhere, for all alike); `husk launch --rm --net none` of the"
        " same rootfs in each. ms:")
    add("")
    add("| series | subject | n | median | p90 | p99 | max |")
    add("|---|---|---:|---:|---:|---:|---:|")
    verdicts = []
    for label in names(repeats):
        for name in list(runtimes) + [LaunchSubject.name]:
            v = data.get((label, name))
            if v:
                add(f"| {label} | {name} | {len(v)} | {statistics.median(v):.2f} |"
                    f" {pct(v, 90):.2f} | {pct(v, 99):.2f} | {max(v):.2f} |")
    add("")
    add("| series | husk/crun medians | husk/crun p90s | launch/run medians |")
    add("|---|---:|---:|---:|")
    for label in names(repeats):
        h, c = data.get((label, "husk")), data.get((label, "crun"))
        ln = data.get((label, LaunchSubject.name))
        rm = rp = lr = None
        if h and c:
            rm = statistics.median(h) / statistics.median(c)
            rp = pct(h, 90) / pct(c, 90)
            verdicts += [rm <= TARGET, rp <= TARGET]
        if h and ln:
            lr = statistics.median(ln) / statistics.median(h)
            verdicts.append(lr <= LAUNCH_TARGET)
        add(f"| {label} | {fmt(rm)} | {fmt(rp)} | {fmt(lr)} |")
    add("")
    met = verdicts and all(verdicts)
    add(f"Targets (husk/crun <= {TARGET} at the median and at p90 in every series,"
        f" launch <= {LAUNCH_TARGET}x run): **{'met' if met else 'missed'}**"
        f" ({sum(verdicts)} of {len(verdicts)} checks).")


def fmt(v):
    return "n/a" if v is None else f"{v:.2f}"
