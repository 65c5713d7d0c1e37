"""Helpers of the systemd VM's tests (test_systemd*.py): a command with a
timeout, a unit's properties, a unit's end."""

import subprocess
import time

TIMEOUT = 120  # s for one call: daemons and everything else are slow under TCG


def run(*argv, check=True, **kw):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL, **kw)
    assert not check or r.returncode == 0, f"{argv}: exit {r.returncode}\n{r.stderr}"
    return r


def show(unit, *props):
    """systemctl show's NAME=VALUE lines as a dict."""
    r = run("systemctl", "show", unit, "-p", ",".join(props))
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def unit_gone(unit, timeout=20):
    """Not loaded any more (a transient unit is forgotten once stopped)."""
    deadline = time.monotonic() + timeout
    while show(unit, "LoadState")["LoadState"] != "not-found":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
