"""Helpers of test_features.py and test_features_mounts.py."""

from conftest import bind, wait_for

def _run(hk, script, *extra, **kw):
    """Run sh -c script in the foreground; its stdout."""
    r = hk.run_fg(hk.bundle(["sh", "-c", script], **kw), None, *extra)
    assert r.rc == 0, str(r)
    return r.out


def _start_waiting(hk, body, *extra, bundle_edit=None, **kw):
    """Run body detached with /mnt/rw bound to a fresh host dir; wait until
    it is done (it then sleeps).  Returns (cid, host pid, out dir)."""
    out = hk.dir(f"out{len(hk.ids)}")
    mounts = list(kw.pop("extra_mounts", ())) + [bind(out, "/mnt/rw")]
    b = hk.bundle(["sh", "-c", f"{body}\ntouch /mnt/rw/ready; exec sleep 1000"],
                  extra_mounts=mounts, **kw)
    if bundle_edit:
        bundle_edit(b.config)
        b.write()
    cid = hk.run_detached(b, None, *extra)
    wait_for(lambda: (out / "ready").exists(), what="container to be ready")
    return cid, hk.state(cid)["pid"], out


def _mountinfo(text):
    """{mount point: (optional fields, fstype, per-mount options, super
    options)} of a mountinfo dump; the last mount wins for a mount point."""
    res = {}
    for line in text.splitlines():
        pre, post = line.split(" - ", 1)
        f, g = pre.split(), post.split()
        res[f[4]] = (f[6:], g[0], set(f[5].split(",")), set(g[2].split(",")))
    return res


def _read_only(entry):
    """A _mountinfo entry is read-only, as a mount or as a filesystem."""
    return "ro" in entry[2] or "ro" in entry[3]


def _propagation(optional):
    """The shared:/master: fields of a mountinfo line, without the ids."""
    return sorted(o.split(":")[0] for o in optional
                  if o.startswith(("shared:", "master:")))



def _status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f}


def _read(path):
    with open(path) as f:
        return f.read().strip()
