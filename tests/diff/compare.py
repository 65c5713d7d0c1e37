"""Normalising two observations and comparing them; the allow-list.

Normalisation removes only what differs between any two runs of the same
runtime: the run's directory (<RUN>), the container id (<ID>), the state
root (<STATE>), kernel-chosen numbers (mount ids, anonymous device
numbers, peer group ids, pipe and socket inodes). Everything else is
compared as the container saw it. `run.py --self` runs one runtime against
itself to show that what is left is stable.
"""

import difflib
import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

HIDDEN = ("_stderr", "_stdout")  # kept for the report, never compared


def substitute(obs, repl):
    out = {}
    for k, vals in obs.items():
        new = []
        for v in vals:
            for old, rep in repl:
                v = v.replace(old, rep)
            new.append(v)
        out[k] = new
    return out


def norm_fd(v):
    return re.sub(r"(pipe|socket|net|mnt|user|pid|ipc|uts|cgroup):\[\d+\]", r"\1", v)


def norm_mounts(lines):
    """mountinfo without the kernel's numbers, as {mount point: [mounts
    stacked there, in the kernel's order]}. Each mount names its parent's
    mount point instead of an id; a peer group is named by the other
    mount points of this list in it ("shared:peers=/a,/b", "shared:peers="
    when its peers are all outside), a master by the mount points that
    are its members here, or "outside"."""
    parsed, where, members = [], {}, {}
    for line in lines:
        pre, sep, post = line.partition(" - ")
        f = pre.split()
        if not sep or len(f) < 6:
            parsed.append((line, None, None))
            continue
        parsed.append((line, f, post.split()))
        where[f[0]] = f[4]
        for t in f[6:]:
            if t.startswith("shared:"):
                members.setdefault(t[7:], []).append(f[4])

    def group(tag, mp):
        kind, _, num = tag.partition(":")
        if not num:
            return tag
        peers = [m for m in members.get(num, []) if m != mp]
        if kind == "shared":
            return f"shared:peers={','.join(sorted(peers))}"
        return f"{kind}:{','.join(sorted(peers)) or 'outside'}"

    out = {}
    for line, f, post in parsed:
        if f is None:
            out.setdefault("mount ?", []).append(line)
            continue
        dev = "0:*" if f[2].startswith("0:") else f[2]
        prop = " ".join(group(t, f[4]) for t in f[6:]) or "private"
        parent = where.get(f[1], "(outside)")
        out.setdefault(f"mount {f[4]}", []).append(
            f"root={f[3]} {f[5]} [{prop}] dev={dev} {' '.join(post)} parent={parent}")
    return out


def keyed(obs, name, key=lambda v: v.split(" ", 1)[0]):
    """Split a list field into one field per item ("fd 2", "path /etc"), so
    the allow-list can name one mount point or file, not all of them."""
    for v in obs.pop(name, []):
        obs.setdefault(f"{name} {key(v)}", []).append(v)


def norm_hook_state(v):
    """A hook's state on stdin: the pid only as there or not (a host pid
    differs from run to run)."""
    try:
        st = json.loads(v)
    except ValueError:
        return v
    if "pid" in st:
        st["pid"] = "a pid" if st["pid"] else st["pid"]
    return json.dumps(st, sort_keys=True)


def normalise(obs, run, cid, state):
    obs = substitute(obs, [(str(run), "<RUN>"), (str(state), "<STATE>"), (cid, "<ID>")])
    for k in obs:
        if k.startswith("host.state."):
            obs[k] = [norm_hook_state(v) for v in obs[k]]
    obs.update(norm_mounts(obs.pop("mount", [])))
    if "fd" in obs:
        obs["fd"] = [norm_fd(v) for v in obs["fd"]]
    for k in ("uid_map", "gid_map", "timens_offsets"):
        if k in obs:
            obs[k] = [" ".join(v.split()) for v in obs[k]]
    # the kernel keeps v1 device rules as a set: their order means nothing
    if "cgroup.devices.list" in obs:
        obs["cgroup.devices.list"].sort()
    for name in ("fd", "dev", "path", "path.r", "path.w", "try"):
        keyed(obs, name)
    return obs


# When only one of the two ran the program, the probe's fields say nothing
# more than that: only these are compared.
WHEN_ONE_RAN = ("outcome", "exit", "error.class", "after.", "host.", "timeout", "harness.")


def compare(a, b):
    """{field: (a's lines, b's lines)} of the fields that differ."""
    diffs = {}
    one_ran = a.get("outcome") != b.get("outcome")
    for k in sorted(set(a) | set(b)):
        if k in HIDDEN or (one_ran and not k.startswith(WHEN_ONE_RAN)):
            continue
        va, vb = a.get(k, ["(absent)"]), b.get(k, ["(absent)"])
        if va != vb:
            diffs[k] = (va, vb)
    return diffs


def show_diff(va, vb, names=("husk", "runc")):
    if len(va) == 1 and len(vb) == 1:
        return [f"    {names[0]}: {va[0]}", f"    {names[1]}: {vb[0]}"]
    lines = difflib.unified_diff(va, vb, names[0], names[1], n=0, lineterm="")
    return ["    " + l for l in list(lines)[2:] if not l.startswith("@@")]


# --------------------------------------------------------------------------
# the allow-list: a table in README.md (Differences from runc) between two markers

START, END = "<!-- allow-list start -->", "<!-- allow-list end -->"


@dataclass
class Allowed:
    cases: str   # fnmatch pattern of case names
    fields: str  # fnmatch pattern of observation fields
    reason: str
    matched_cases: set = field(default_factory=set)  # cases run that it names
    used: list = field(default_factory=list)         # (case, field) it excused

    def covers(self, case, fld):
        return fnmatch.fnmatchcase(case, self.cases) and fnmatch.fnmatchcase(fld, self.fields)


def load_allow_list(readme):
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme}: no allow-list between {START} and {END}")
    body = text.split(START, 1)[1].split(END, 1)[0]
    out = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        out.append(Allowed(cells[0].strip("`"), cells[1].strip("`"), cells[2]))
    return out


def judge(case, diffs, allow):
    """The differences no entry of the allow-list covers."""
    for entry in allow:
        if fnmatch.fnmatchcase(case, entry.cases):
            entry.matched_cases.add(case)
    unexpected = {}
    for fld, d in diffs.items():
        entry = next((e for e in allow if e.covers(case, fld)), None)
        if entry:
            entry.used.append((case, fld))
        else:
            unexpected[fld] = d
    return unexpected
