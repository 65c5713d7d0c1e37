#!/usr/bin/python3
"""Write the hostile config.json corpus and its manifest.

    tests/data/hostile/make.py          # (re)writes cases/ and manifest.json

Each case is one config.json in cases/, named NNN-slug.json, and one entry of
manifest.json:

    {"file": "cases/042-uid-max.json",
     "expect": "error" | "ok" | "either",
     "message": "process.user.uid: 4294967295 out of range",   # not for "ok"
     "why": "what the case is about",
     "finding": "F2"}   # optional: the finding of the report this case showed
                        # (fixed since; a finding still open is also listed in
                        # test_hostile.py's KNOWN, and the test xfails)

"error" means `husk create` exits 1 with exactly one line on stderr that
contains `message`; "ok" means the container is created (and then deleted);
"either" is for what depends on the host (a capability the test runs
without, a kernel limit): a container, or one line containing `message`.
The files are templates: the test replaces the placeholder strings below
(byte-wise, so even files that are not valid JSON or not UTF-8 keep their
point) before writing them into a bundle.

Everything here is deterministic: running the script again gives the same
bytes. Huge inputs (a 17 MB config) are made by the test itself instead.
"""

import copy
import json
import shutil
from pathlib import Path

ROOTFS = "@ROOTFS@"   # -> the session's busybox rootfs (absolute)
MARK = "@MARK_ENV@"   # -> HK_TEST_SESSION=<session>, for the leak checks

HERE = Path(__file__).resolve().parent
OUT = HERE / "cases"

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def base():
    """`runc spec` with terminal=false, as conftest.make_config writes it.
    Mount destinations all exist in the test rootfs (or in /dev's tmpfs), so
    an accepted case never creates anything in the shared rootfs."""
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", "true"],
            "env": [DEFAULT_PATH, MARK],
            "cwd": "/",
            "capabilities": {k: list(CAPS) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": ROOTFS, "readonly": True},
        "hostname": "hostile",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


CASES = []


def dump(cfg):
    """Indented like runc's output; compact once it is big (nothing to read)."""
    text = json.dumps(cfg, indent=1, ensure_ascii=False)
    if len(text) > 32768:
        text = json.dumps(cfg, ensure_ascii=False, separators=(",", ":"))
    return text.encode()


def case(slug, data, expect, message=None, why="", finding=None):
    """data: a config dict (JSON-encoded here) or the raw bytes of the file."""
    if isinstance(data, dict) or isinstance(data, list):
        data = dump(data)
    assert expect in ("ok", "error", "either")
    assert (message is not None) == (expect != "ok"), slug
    CASES.append((slug, data, expect, message, why, finding))


def with_(path, value, cfg=None):
    """A copy of cfg (default: base()) with the dotted path set to value;
    value DELETE removes the key."""
    cfg = copy.deepcopy(cfg) if cfg is not None else base()
    keys = path.split(".")
    d = cfg
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d.setdefault(k, {})
    last = keys[-1]
    if value is DELETE:
        if isinstance(d, list):
            del d[int(last)]
        else:
            d.pop(last, None)
    elif isinstance(d, list):
        d[int(last)] = value
    else:
        d[last] = value
    return cfg


DELETE = object()


def err(slug, path, value, message, why="", finding=None):
    case(slug, with_(path, value), "error", message, why, finding)


def ok(slug, path, value, why=""):
    case(slug, with_(path, value), "ok", None, why)


def either(slug, path, value, message, why=""):
    case(slug, with_(path, value), "either", message, why)


def raw_replace(old, new, cfg=None):
    """Base JSON text with one literal substring replaced (for things json.dumps
    cannot write: duplicate keys, bad numbers, invalid UTF-8)."""
    text = dump(cfg if cfg is not None else base())
    assert text.count(old) == 1, old
    return text.replace(old, new)


# values of every JSON type but the wanted one
WRONG = {
    "string": [5, True, None, [], {}],
    "bool": ["true", 1, [], {}],
    "int": ["1", 1.5, True, [], {}],
    "array": ["x", 1, {}],
    "object": ["x", 1, []],
}
TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer",
              float: "a number", list: "an array", dict: "an object",
              type(None): "null"}


def json_path(path):
    """"mounts.1.options" -> "mounts[1].options", as husk names it."""
    out = ""
    for k in path.split("."):
        out += f"[{k}]" if k.isdigit() else (f".{k}" if out else k)
    return out


def wrong_types(slug, path, want, expect_word):
    """One case per JSON type other than the wanted one (null is left out:
    it counts as absent)."""
    for v in WRONG[want]:
        if v is None:
            continue
        tn = TYPE_NAMES[type(v)]
        err(f"{slug}-{tn.split()[-1]}", path, v,
            f"{json_path(path)}: expected {expect_word}, got {tn}", f"{path} as {tn}")


# ---------------------------------------------------------------------------
# 1. not JSON, or not a JSON object

def syntax():
    good = dump(base())
    case("empty-file", b"", "error", "config.json: invalid JSON",
         "an empty config.json")
    case("only-whitespace", b" \n\t\r\n ", "error", "config.json: invalid JSON",
         "whitespace only")
    case("json-null", b"null\n", "error", "config.json",
         "the document is null: must be an error naming config.json", finding="F5")
    case("json-null-bare", b"null", "error", "config.json", "null without a newline")
    case("json-array", b"[]\n", "error", "config.json",
         "top level is an array")
    case("json-string", b'"config"\n', "error", "config.json",
         "top level is a string")
    case("json-number", b"42\n", "error", "config.json",
         "top level is a number")
    case("json-number-bare", b"42", "error", "config.json", "a number, no newline")
    case("json-true", b"true\n", "error", "config.json",
         "top level is a boolean")
    case("truncated", good[: len(good) // 2], "error", "config.json: invalid JSON",
         "cut in the middle")
    case("trailing-garbage", good + b" x", "error", "config.json: invalid JSON",
         "text after the object")
    case("two-objects", good + good, "error", "config.json: invalid JSON", "two documents")
    case("trailing-nul", good + b"\0", "error", "trailing data",
         "a NUL byte after the object")
    case("nul-inside", good[:10] + b"\0" + good[10:], "error", "config.json: invalid JSON",
         "a raw NUL byte between tokens")
    case("utf8-bom", b"\xef\xbb\xbf" + good, "error", "config.json: invalid JSON",
         "a UTF-8 byte order mark")
    case("utf16", ("{}").encode("utf-16"), "error", "config.json: invalid JSON",
         "UTF-16 with BOM")
    case("comment", b"// config\n" + good, "error", "config.json: invalid JSON",
         "a // comment (strict mode)")
    case("block-comment", b"/* x */" + good, "error", "config.json: invalid JSON",
         "a /* */ comment (strict mode)")
    case("trailing-comma", raw_replace(b'"noNewPrivileges": true', b'"noNewPrivileges": true,'),
         "error", "config.json: invalid JSON", "a trailing comma in an object")
    case("single-quotes", raw_replace(b'"ociVersion"', b"'ociVersion'"), "error",
         "config.json: invalid JSON", "a single-quoted key (json-c's strict mode takes it)",
         finding="F7")
    case("unquoted-key", raw_replace(b'"ociVersion"', b"ociVersion"), "error",
         "config.json: invalid JSON", "a bare key")
    case("nan", raw_replace(b'"uid": 0', b'"uid": NaN'), "error", "config.json: invalid JSON",
         "NaN is not JSON (json-c's strict mode took it as a double)", finding="F7")
    case("nan-unknown-key", raw_replace(b'"hostname": "hostile"',
                                        b'"hostname": "hostile", "x": NaN'),
         "error", "config.json: invalid JSON", "NaN where it is not looked at", finding="F7")
    case("infinity", raw_replace(b'"uid": 0', b'"uid": Infinity'), "error",
         "config.json: invalid JSON", "Infinity", finding="F7")
    case("neg-infinity", raw_replace(b'"uid": 0', b'"uid": -Infinity'), "error",
         "config.json: invalid JSON", "-Infinity", finding="F7")
    case("trailing-dot", raw_replace(b'"uid": 0', b'"uid": 1.'), "error",
         "config.json: invalid JSON", "1. is no JSON number (json-c took it as a double)",
         finding="F7")
    case("hex-number", raw_replace(b'"uid": 0', b'"uid": 0x10'), "error",
         "config.json: invalid JSON", "a hex literal")
    case("leading-zero", raw_replace(b'"uid": 0', b'"uid": 010'), "error",
         "config.json: invalid JSON", "a leading zero")
    case("plus-sign", raw_replace(b'"uid": 0', b'"uid": +1'), "error",
         "config.json: invalid JSON", "a + sign")
    case("bare-dot", raw_replace(b'"uid": 0', b'"uid": .5'), "error",
         "config.json: invalid JSON", "a number starting with .")
    case("true-caps", raw_replace(b'"terminal": false', b'"terminal": False'), "error",
         "config.json: invalid JSON", "Python's False")
    case("unterminated-string", b'{"ociVersion": "1.0.2', "error", "config.json: invalid JSON",
         "a string never closed")
    case("bad-escape", raw_replace(b'"hostile"', b'"host\\qile"'), "error",
         "config.json: invalid JSON", "an unknown escape \\q")
    case("short-unicode-escape", raw_replace(b'"hostile"', b'"host\\u12"'), "error",
         "config.json: invalid JSON", "\\u with two digits")
    case("raw-newline-in-string", raw_replace(b'"hostile"', b'"host\nile"'), "error",
         "config.json: invalid JSON", "a raw newline inside a string", finding="F7")
    case("raw-tab-in-string", raw_replace(b'"hostile"', b'"host\tile"'), "error",
         "config.json: invalid JSON", "a raw tab inside a string", finding="F7")
    case("raw-ctrl-in-string", raw_replace(b'"hostile"', b'"host\x01ile"'), "error",
         "config.json: invalid JSON", "a raw U+0001 inside a string", finding="F7")


# ---------------------------------------------------------------------------
# 2. invalid UTF-8, NUL and control characters in strings

def encoding():
    for slug, bad in [("utf8-ff", b"\xff"), ("utf8-continuation", b"\x80"),
                      ("utf8-overlong-slash", b"\xc0\xaf"),
                      ("utf8-overlong-nul", b"\xc0\x80"),
                      ("utf8-surrogate", b"\xed\xa0\x80"),
                      ("utf8-truncated", b"\xe2\x82"),
                      ("utf8-past-10ffff", b"\xf4\x90\x80\x80"),
                      ("utf8-5-byte", b"\xf8\x88\x80\x80\x80")]:
        # json-c's VALIDATE_UTF8 checks the byte pattern only
        lax = slug in ("utf8-overlong-slash", "utf8-overlong-nul", "utf8-surrogate",
                       "utf8-past-10ffff")
        case(f"{slug}-hostname", raw_replace(b'"hostile"', b'"host' + bad + b'ile"'), "error",
             "config.json: invalid JSON", f"invalid UTF-8 {bad!r} in hostname",
             finding="F7" if lax else None)
    case("utf8-invalid-in-key", raw_replace(b'"hostname"', b'"host\xffname"'), "error",
         "config.json: invalid JSON", "invalid UTF-8 in an (unknown) key")
    case("utf8-invalid-in-args", raw_replace(b'"true"\n', b'"tr\xc3ue"\n'), "error",
         "config.json: invalid JSON", "invalid UTF-8 in process.args")
    case("utf8-valid-multibyte-hostname", with_("hostname", "h\u00f6st\u2603"), "ok",
         why="valid multi-byte UTF-8 in hostname (9 bytes, under 64)")
    case("lone-surrogate-escape", raw_replace(b'"hostile"', b'"host\\ud800ile"'), "either",
         "config.json: invalid JSON",
         "an escaped lone surrogate: refused, or (json-c) turned into U+FFFD")
    for path, slug in [("hostname", "hostname"), ("root.path", "root-path"),
                       ("process.cwd", "cwd"), ("process.args.0", "args0"),
                       ("process.env.0", "env0"), ("mounts.0.destination", "mount-dest"),
                       ("mounts.1.options.0", "mount-option"),
                       ("linux.maskedPaths.0", "masked-path")]:
        jpath = path.replace(".0", "[0]").replace(".1", "[1]")
        text = raw_replace(b'"@NULSLOT@"', b'"a\\u0000b"', with_(path, "@NULSLOT@"))
        case(f"nul-in-{slug}", text, "error", f"{jpath}: string contains a NUL byte",
             f"an escaped NUL byte in {jpath}")
    case("nul-in-annotation-value",
         raw_replace(b'"@NULSLOT@"', b'"a\\u0000b"', with_("annotations", {"k": "@NULSLOT@"})),
         "error", "annotations.k: string contains a NUL byte", "NUL in an annotation")
    case("nul-in-hook-path",
         raw_replace(b'"@NULSLOT@"', b'"/bin/true\\u0000x"',
                     with_("hooks", {"prestart": [{"path": "@NULSLOT@"}]})),
         "error", "hooks.prestart[0].path: string contains a NUL byte", "NUL in a hook path")
    case("newline-in-cwd-message", with_("process.cwd", "rel\nline2"), "error",
         "process.cwd", "a value with a newline echoed in the error: must stay one line",
         finding="F4")
    case("newline-in-env-message", with_("process.env", ["NOEQUALS\nhusk: fake line"]), "error",
         "process.env[0]", "an error line forged through a newline in the config", finding="F4")
    case("escape-seq-in-env-message", with_("process.env", ["NOEQ\u001b[2J\rboom"]), "error",
         "process.env[0]", "terminal escapes echoed to stderr", finding="F4")


# ---------------------------------------------------------------------------
# 3. duplicate keys, deep nesting, huge documents

def structure():
    case("dup-key-ociversion-last-bad",
         raw_replace(b'"ociVersion": "1.0.2-dev"', b'"ociVersion": "1.0.2-dev", "ociVersion": "2.0.0"'),
         "error", "ociVersion: unsupported version \"2.0.0\"",
         "duplicate key: json-c keeps the last value, the error must name it")
    case("dup-key-ociversion-last-good",
         raw_replace(b'"ociVersion": "1.0.2-dev"', b'"ociVersion": 7, "ociVersion": "1.0.2"'),
         "ok", why="duplicate key: the last (valid) value wins")
    case("dup-key-root",
         raw_replace(b'"root": {', b'"root": {"path": "/nonexistent-dup"}, "root": {'),
         "ok", why="duplicate root object, the last one is the real one")
    case("dup-key-uid",
         raw_replace(b'"uid": 0', b'"uid": 0, "uid": 4294967295'), "error",
         "process.user.uid: 4294967295 out of range", "duplicate uid, last out of range")
    for depth in (33, 10000):
        nest = b"[" * depth + b"]" * depth
        case(f"nest-array-{depth}", raw_replace(b'"hostname": "hostile"',
                                                b'"hostname": "hostile", "x": ' + nest),
             "error", "config.json: invalid JSON", f"{depth} nested arrays in an unknown key")
        nest = b'{"a":' * depth + b"1" + b"}" * depth
        case(f"nest-object-{depth}", raw_replace(b'"hostname": "hostile"',
                                                 b'"hostname": "hostile", "x": ' + nest),
             "error", "config.json: invalid JSON", f"{depth} nested objects in an unknown key")
    nest = b"[" * 20 + b"]" * 20
    case("nest-array-20-unknown", raw_replace(b'"hostname": "hostile"',
                                              b'"hostname": "hostile", "x": ' + nest),
         "ok", why="moderate nesting under an unknown key is ignored")
    case("nest-10000-unclosed", b"[" * 10000, "error", "config.json: invalid JSON",
         "10000 open brackets, never closed")
    case("nest-in-args", with_("process.args", ["sh", [["x"]]]), "error",
         "process.args[1]: expected a string, got an array", "an array inside args")
    mb = 1 << 20
    case("long-hostname-1mb", with_("hostname", "h" * mb), "error",
         "hostname: longer than 64 characters", "a 1 MiB hostname")
    case("long-env-1mb", with_("process.env", [DEFAULT_PATH, MARK, "BIG=" + "v" * mb]), "ok",
         why="a 1 MiB environment value")
    case("long-arg0-64k", with_("process.args", ["a" * 65536]), "error",
         "process.args[0]: exec: \"aaaa", "a 64 KiB program name: PATH search fails cleanly")
    case("hostname-64", with_("hostname", "h" * 64), "ok", why="hostname of exactly 64")
    case("hostname-65", with_("hostname", "h" * 65), "error",
         "hostname: longer than 64 characters", "hostname of 65")
    case("domainname-65", with_("domainname", "d" * 65), "error",
         "domainname: longer than 64 characters", "domainname of 65")
    case("many-annotations", with_("annotations", {f"k{i}": "v" * 10 for i in range(2000)}),
         "ok", why="2000 annotations")
    case("many-mount-options", with_("mounts.1.options",
                                     ["nosuid"] * 5000 + ["mode=755"]), "ok",
         why="5000 repeated mount options")
    case("many-args", with_("process.args", ["sh", "-c", "true"] + ["x"] * 10000), "ok",
         why="10000 arguments")
    case("many-masked-paths", with_("linux.maskedPaths",
                                    [f"/nonexistent/{i}" for i in range(1000)]), "ok",
         why="1000 masked paths that do not exist")
    case("unknown-keys-everywhere", {**base(), "windows": {"x": 1}, "vm": [],
                                     "solaris": None, "zzz": {"a": [1, 2, {"b": None}]}},
         "ok", why="unknown top-level keys are ignored")


# ---------------------------------------------------------------------------
# 4. numbers past every range

BIG_U64 = 18446744073709551615
BIG = [("u64max-plus1", b"18446744073709551616", "out of range"),
       ("i64min-minus1", b"-9223372036854775809", "out of range"),
       ("40-digits", b"1" * 40, "out of range"),
       ("neg-40-digits", b"-" + b"9" * 40, "out of range")]


def numbers():
    for slug, lit, msg in BIG:
        case(f"uid-{slug}", raw_replace(b'"uid": 0', b'"uid": ' + lit), "error", msg,
             f"uid {lit[:24]!r}: json-c would saturate it")
        case(f"rlimit-hard-{slug}", raw_replace(b'"hard": 1024', b'"hard": ' + lit), "error",
             msg, "an rlimit past uint64")
    ok("rlimit-u64max", "process.rlimits", [{"type": "RLIMIT_CORE", "hard": BIG_U64,
                                             "soft": 1024}],
       "hard = UINT64_MAX = RLIM_INFINITY")
    err("rlimit-nofile-infinity", "process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": BIG_U64,
                                                       "soft": 1024}],
        "process.rlimits[0]", "NOFILE's hard limit cannot pass fs.nr_open")
    case("exponent-int", raw_replace(b'"uid": 0', b'"uid": 1e3'), "error",
         "process.user.uid: expected an integer, got a number", "1e3 is a double")
    case("huge-double", raw_replace(b'"uid": 0', b'"uid": 1e400'), "error",
         "process.user.uid", "1e400 overflows a double")
    case("neg-zero", raw_replace(b'"uid": 0', b'"uid": -0'), "ok", why="-0 is 0")
    case("float-zero", raw_replace(b'"uid": 0', b'"uid": 0.0'), "error",
         "process.user.uid: expected an integer, got a number", "0.0 is a double")
    case("digits-in-string-key", raw_replace(b'"hostname": "hostile"',
                                             b'"hostname": "hostile", "99999999999999999999999999999999999": 1'),
         "ok", why="a huge number inside a key is no number")
    case("digits-in-string-value", with_("annotations", {"n": "9" * 50}), "ok",
         why="a huge number inside a string is no number")
    case("big-number-unknown-key", raw_replace(b'"hostname": "hostile"',
                                               b'"hostname": "hostile", "x": 99999999999999999999'),
         "error", "out of range", "a number past uint64 anywhere is refused (json-c saturates)")


# ---------------------------------------------------------------------------
# 5. the top level and root

def top():
    err("ociversion-missing", "ociVersion", DELETE, "ociVersion: missing")
    wrong_types("ociversion", "ociVersion", "string", "a string")
    err("ociversion-empty", "ociVersion", "", "ociVersion: \"\" is not a version")
    err("ociversion-2", "ociVersion", "2.0.0", "ociVersion: unsupported version")
    err("ociversion-0", "ociVersion", "0.9.0", "ociVersion: unsupported version")
    err("ociversion-v1", "ociVersion", "v1.0.0", "is not a version")
    err("ociversion-huge-major", "ociVersion", "99999999999999999999999.0", "ociVersion")
    ok("ociversion-1", "ociVersion", "1", "a bare major")
    ok("ociversion-1-2-0", "ociVersion", "1.2.0")
    err("ociversion-signed", "ociVersion", "-18446744073709551615.0", "ociVersion",
        "strtoul takes a sign: -(2^64-1) wraps to 1", finding="F6")
    err("ociversion-space", "ociVersion", " 1.0.2", "ociVersion",
        "strtoul skips leading white space", finding="F6")
    err("root-missing", "root", DELETE, "root: missing")
    wrong_types("root", "root", "object", "an object")
    err("root-path-missing", "root.path", DELETE, "root.path: missing")
    err("root-path-empty", "root.path", "", "root.path: missing")
    wrong_types("root-path", "root.path", "string", "a string")
    err("root-path-relative-missing", "root.path", "no-such-rootfs",
        "root.path: ", "relative: resolved against the bundle, where it does not exist")
    err("root-path-nonexistent", "root.path", "/nonexistent/hk-rootfs",
        "root.path: /nonexistent/hk-rootfs: No such file or directory")
    err("root-path-file", "root.path", ROOTFS + "/etc/passwd", "is not a directory")
    err("root-path-dev-null", "root.path", "/dev/null", "root.path: /dev/null is not a directory")
    err("root-path-long", "root.path", "/" + "x" * 5000, "root.path: ",
        "a 5000-character root path (ENAMETOOLONG)")
    wrong_types("root-readonly", "root.readonly", "bool", "a boolean")
    ok("root-readonly-absent", "root.readonly", DELETE)
    err("root-path-dotdot-to-file", "root.path", ROOTFS + "/bin/../etc/passwd",
        "is not a directory")
    wrong_types("hostname", "hostname", "string", "a string")
    ok("hostname-empty", "hostname", "")
    ok("hostname-null", "hostname", None, "null counts as absent")
    err("hostname-without-uts", "linux.namespaces",
        [{"type": t} for t in ("pid", "network", "ipc", "mount")],
        "hostname: needs a uts namespace")
    wrong_types("domainname", "domainname", "string", "a string")
    wrong_types("annotations", "annotations", "object", "an object")
    err("annotation-value-int", "annotations", {"a": 1}, "annotations.a: expected a string")
    err("annotation-value-object", "annotations", {"a": {}}, "annotations.a: expected a string")
    ok("annotation-empty-key", "annotations", {"": ""})


# ---------------------------------------------------------------------------
# 6. mounts

def mounts():
    wrong_types("mounts", "mounts", "array", "an array")
    for v, tn in (("x", "a string"), (1, "an integer"), ([], "an array"), (None, "null")):
        err(f"mount-element-{tn.split()[-1]}", "mounts.0", v,
            f"mounts[0]: expected an object, got {tn}")
    err("mount-dest-missing", "mounts.0.destination", DELETE, "mounts[0].destination: missing")
    err("mount-dest-empty", "mounts.0.destination", "", "mounts[0].destination: missing")
    wrong_types("mount-dest", "mounts.0.destination", "string", "a string")
    wrong_types("mount-type", "mounts.0.type", "string", "a string")
    wrong_types("mount-source", "mounts.0.source", "string", "a string")
    wrong_types("mount-options", "mounts.1.options", "array", "an array")
    err("mount-option-int", "mounts.1.options", ["nosuid", 7], "mounts[1].options[1]: expected a string")
    # idmapped mounts: bind mounts only (mounts[1] is /dev's tmpfs)
    err("mount-uidmappings", "mounts.1.uidMappings", [{"containerID": 0, "hostID": 100000, "size": 1}],
        "mounts[1]: only a bind mount can be idmapped")
    err("mount-gidmappings", "mounts.1.gidMappings", [{"containerID": 0}],
        "mounts[1].gidMappings[0].hostID: missing")
    err("mount-option-garbage", "mounts.1.options", ["nosuid", "no-such-option-xyz"],
        "no-such-option-xyz", "an unknown filesystem option reaches fsconfig and fails there")
    err("mount-option-bad-value", "mounts.1.options", ["mode=notoctal"], "mode=notoctal")
    err("mount-option-size-garbage", "mounts.1.options", ["size=-1x"], "size=-1x")
    err("mount-option-idmap", "mounts.1.options", ["idmap"], "mounts[1]: only a bind mount can be idmapped")
    err("mount-option-empty", "mounts.1.options", [""], "/dev",
        "an empty option string reaches fsconfig as a flag with an empty key")
    err("mount-option-equals-only", "mounts.1.options", ["="], "/dev")
    err("mount-option-100k", "mounts.1.options", ["mode=755", "x" * 100000],
        "/dev", "a 100000-byte option")
    err("mount-type-unknown", "mounts.1.type", "no-such-fs", "no-such-fs")
    err("mount-type-empty-not-bind", "mounts.1.type", "", "no type and not a bind mount")
    err("mount-type-none", "mounts.1.type", "none", "no type and not a bind mount")
    err("mount-type-missing-not-bind", "mounts.1.type", DELETE, "no type and not a bind mount")
    err("mount-bind-no-source", "mounts.1", {"destination": "/mnt/rw", "type": "bind",
                                             "options": ["rbind"]},
        "bind mount without a source")
    err("mount-bind-source-missing", "mounts.1", {"destination": "/mnt/rw", "type": "bind",
                                                  "source": "/nonexistent/hk-src",
                                                  "options": ["rbind"]},
        "/nonexistent/hk-src")
    err("mount-bind-relative-source", "mounts.1", {"destination": "/mnt/rw", "type": "none",
                                                   "source": "no-such-dir",
                                                   "options": ["bind"]},
        "no-such-dir", "a relative bind source is resolved against the bundle")
    m = base()
    m["mounts"].append({"destination": "mnt/tmpfs", "type": "tmpfs", "source": "tmpfs"})
    case("mount-dest-relative", m, "ok", why="a relative destination is taken from /")
    m = base()
    m["mounts"].append({"destination": "/../../../../mnt/tmpfs", "type": "tmpfs",
                        "source": "tmpfs"})
    case("mount-dest-dotdot", m, "ok", why="\"..\" stops at the container's /")
    m = base()
    m["mounts"].append({"destination": "/etc/passwd", "type": "tmpfs", "source": "tmpfs"})
    case("mount-dest-is-file", m, "error", "/etc/passwd",
         "a tmpfs on an existing file: the directory walk must fail cleanly")
    m = base()
    m["mounts"].append({"destination": "/mnt/tmpfs", "type": "tmpfs", "source": "tmpfs",
                        "options": ["ro", "rw", "nosuid", "suid", "rnoexec", "rexec",
                                    "noatime", "strictatime", "relatime", "defaults",
                                    "async", "private", "rslave", "unbindable"]})
    case("mount-options-contradicting", m, "ok", why="every attribute and its opposite")
    m = base()
    m["mounts"].append({"destination": "/mnt/tmpfs", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nr_inodes=18446744073709551616"]})
    case("mount-option-number-overflow", m, "either", "nr_inodes",
         "a number option past 2^64: the kernel's parser decides")
    m = base()
    m["mounts"].append({"destination": "/mnt/tmpfs", "type": "proc", "source": "proc",
                        "options": ["hidepid=7"]})
    case("mount-proc-bad-hidepid", m, "error", "hidepid=7")
    m = base()
    m["mounts"].append({"destination": "/mnt/tmpfs", "type": "cgroup2", "source": "x",
                        "options": ["nosuid"]})
    case("mount-cgroup2-extra", m, "ok", why="a second cgroup mount")
    m = base()
    m["mounts"][0] = {"destination": "/proc", "type": "sysfs", "source": "sysfs"}
    case("mount-sysfs-on-proc", m, "ok", why="a sysfs where proc would be: odd but harmless")
    m = base()
    m["mounts"].append({"destination": "/mnt/tmpfs", "type": "tmpfs", "source": "s" * 100000})
    case("mount-source-100k", m, "error", "/mnt/tmpfs",
         "a 100000-byte tmpfs source (fsconfig refuses it)")


# ---------------------------------------------------------------------------
# 7. process

def process():
    err("process-missing", "process", DELETE, "process: missing")
    wrong_types("process", "process", "object", "an object")
    wrong_types("terminal", "process.terminal", "bool", "a boolean")
    err("terminal-without-socket", "process.terminal", True,
        "process.terminal: needs --console-socket")
    wrong_types("console-size", "process.consoleSize", "object", "an object")
    for k in ("height", "width"):
        err(f"console-{k}-neg", f"process.consoleSize.{k}", -1,
            f"process.consoleSize.{k}: -1 out of range [0, 65535]")
        err(f"console-{k}-65536", f"process.consoleSize.{k}", 65536,
            f"process.consoleSize.{k}: 65536 out of range [0, 65535]")
        ok(f"console-{k}-65535", f"process.consoleSize.{k}", 65535)
        err(f"console-{k}-string", f"process.consoleSize.{k}", "80",
            f"process.consoleSize.{k}: expected an integer, got a string")
    err("args-missing", "process.args", DELETE, "process.args: must name a program")
    err("args-empty", "process.args", [], "process.args: must name a program")
    err("args-empty-string", "process.args", [""], "executable file not found in $PATH")
    wrong_types("args", "process.args", "array", "an array")
    err("args-int", "process.args", [1], "process.args[0]: expected a string, got an integer")
    err("args-null", "process.args", ["sh", None], "process.args[1]: expected a string, got null")
    # runc's words, which engines map to exit codes (issue 16 A5)
    err("args-not-found", "process.args", ["no-such-program-hk"],
        "exec: \"no-such-program-hk\": executable file not found in $PATH")
    err("args-abs-missing", "process.args", ["/nonexistent/prog"],
        "exec: \"/nonexistent/prog\": stat /nonexistent/prog: no such file or directory")
    err("args-directory", "process.args", ["/tmp/"], "exec: \"/tmp/\": permission denied")
    err("args-not-executable", "process.args", ["/etc/passwd"],
        "exec: \"/etc/passwd\": permission denied")
    err("args-dev-null", "process.args", ["/dev/null"], "exec: \"/dev/null\": permission denied")
    ok("args-relative-path", "process.args", ["./bin/sh", "-c", "true"],
       "a relative path with a slash, from cwd /")
    wrong_types("env", "process.env", "array", "an array")
    err("env-int", "process.env", [DEFAULT_PATH, 3], "process.env[1]: expected a string")
    err("env-no-equals", "process.env", ["NOEQUALS"], "process.env[0]: \"NOEQUALS\" is not NAME=VALUE")
    err("env-leading-equals", "process.env", ["=value"], "process.env[0]: \"=value\" is not NAME=VALUE")
    ok("env-empty-value", "process.env", [DEFAULT_PATH, MARK, "EMPTY="])
    ok("env-empty-list", "process.env", [MARK], "no PATH: husk's default PATH is used")
    ok("env-duplicates", "process.env", [DEFAULT_PATH, "PATH=/nonexistent", DEFAULT_PATH, MARK])
    err("env-bad-path", "process.env", ["PATH=/nonexistent:/also/not", MARK],
        "exec: \"sh\": executable file not found in $PATH", "PATH without the program")
    err("cwd-missing", "process.cwd", DELETE, "process.cwd: missing")
    err("cwd-empty", "process.cwd", "", "process.cwd: \"\" is not an absolute path")
    err("cwd-relative", "process.cwd", "tmp", "process.cwd: \"tmp\" is not an absolute path")
    wrong_types("cwd", "process.cwd", "string", "a string")
    err("cwd-is-file", "process.cwd", "/etc/passwd", "process.cwd")
    err("cwd-missing-on-ro-mount", "process.cwd", "/sys/nonexistent/deeper", "process.cwd",
        "a missing cwd on a read-only mount cannot be made (on a read-only root it is "
        "made first, as runc makes it)")
    ok("cwd-dotdot", "process.cwd", "/../../../../tmp", "\"..\" at the root stays there")
    wrong_types("user", "process.user", "object", "an object")
    for k in ("uid", "gid"):
        err(f"{k}-neg", f"process.user.{k}", -1, f"process.user.{k}: -1 out of range [0, 4294967294]")
        err(f"{k}-u32max", f"process.user.{k}", 4294967295,
            f"process.user.{k}: 4294967295 out of range [0, 4294967294]",
            "(uid_t)-1 means \"no change\" to setresuid")
        err(f"{k}-u64max", f"process.user.{k}", BIG_U64, f"process.user.{k}: 18446744073709551615 out of range")
        err(f"{k}-i64max", f"process.user.{k}", 9223372036854775807, f"process.user.{k}")
        err(f"{k}-i64min", f"process.user.{k}", -9223372036854775808, f"process.user.{k}")
        ok(f"{k}-u32max-minus1", f"process.user.{k}", 4294967294)
        ok(f"{k}-65534", f"process.user.{k}", 65534)
        wrong_types(k, f"process.user.{k}", "int", "an integer")
    err("umask-neg", "process.user.umask", -1, "process.user.umask: -1 out of range [0, 4095]")
    err("umask-4096", "process.user.umask", 4096, "process.user.umask: 4096 out of range")
    ok("umask-4095", "process.user.umask", 4095)
    err("umask-string", "process.user.umask", "022", "process.user.umask: expected an integer")
    err("username", "process.user.username", "root", "process.user.username: not supported yet")
    wrong_types("additional-gids", "process.user.additionalGids", "array", "an array")
    err("additional-gid-neg", "process.user.additionalGids", [5, -1],
        "process.user.additionalGids[1]: -1 out of range")
    err("additional-gid-u32max", "process.user.additionalGids", [4294967295],
        "process.user.additionalGids[0]: 4294967295 out of range")
    err("additional-gid-string", "process.user.additionalGids", ["5"],
        "process.user.additionalGids[0]: expected an integer, got a string")
    ok("additional-gid-max", "process.user.additionalGids", [4294967294, 0, 0])
    err("additional-gids-65537", "process.user.additionalGids", list(range(65537)),
        "process.user.additionalGids", "more groups than NGROUPS_MAX (65536)")
    wrong_types("caps", "process.capabilities", "object", "an object")
    for s in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        err(f"caps-{s}-string", f"process.capabilities.{s}", "CAP_KILL",
            f"process.capabilities.{s}: expected an array, got a string")
    err("caps-unknown", "process.capabilities.bounding", ["CAP_KILL", "CAP_NOPE"],
        "process.capabilities.bounding[1]: unknown capability \"CAP_NOPE\"")
    err("caps-lowercase", "process.capabilities.effective", ["cap_kill"],
        "process.capabilities.effective[0]: unknown capability")
    err("caps-int", "process.capabilities.permitted", [5],
        "process.capabilities.permitted[0]: expected a string")
    err("caps-number-name", "process.capabilities.permitted", ["CAP_63"], "unknown capability")
    err("caps-ambient-unknown-after-good", "process.capabilities.ambient",
        ["CAP_KILL", "CAP_SYS_ADMINX"], "process.capabilities.ambient[1]")
    ok("caps-empty", "process.capabilities", {})
    ok("caps-dup", "process.capabilities.bounding", ["CAP_KILL"] * 1000)
    ok("caps-last", "process.capabilities.bounding", ["CAP_CHECKPOINT_RESTORE", "CAP_BPF"])
    wrong_types("rlimits", "process.rlimits", "array", "an array")
    err("rlimit-element-string", "process.rlimits", ["RLIMIT_NOFILE"],
        "process.rlimits[0]: expected an object, got a string")
    err("rlimit-type-missing", "process.rlimits", [{"hard": 1, "soft": 1}],
        "process.rlimits[0].type: missing")
    err("rlimit-type-unknown", "process.rlimits", [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}],
        "process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\"")
    err("rlimit-type-int", "process.rlimits", [{"type": 7, "hard": 1, "soft": 1}],
        "process.rlimits[0].type: expected a string")
    err("rlimit-no-soft", "process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1}],
        "process.rlimits[0]: soft and hard are required")
    err("rlimit-soft-above-hard", "process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}],
        "process.rlimits[0]: soft limit 2 above hard limit 1")
    err("rlimit-soft-neg", "process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": -1}],
        "process.rlimits[0].soft: must not be negative")
    err("rlimit-hard-double", "process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1.0, "soft": 1}],
        "process.rlimits[0].hard: expected an integer, got a number")
    err("rlimit-dup", "process.rlimits", [{"type": "RLIMIT_CORE", "hard": 1, "soft": 1},
                                          {"type": "RLIMIT_CORE", "hard": 2, "soft": 2}],
        "process.rlimits[1].type: duplicate rlimit")
    err("rlimit-nofile-too-high", "process.rlimits",
        [{"type": "RLIMIT_NOFILE", "hard": 1 << 40, "soft": 1 << 40}],
        "process.rlimits[0]", "above fs.nr_open: setrlimit fails in the container")
    ok("rlimit-zero", "process.rlimits", [{"type": "RLIMIT_CORE", "hard": 0, "soft": 0}])
    either("rlimit-all", "process.rlimits",
       [{"type": t, "hard": BIG_U64, "soft": BIG_U64} for t in
        ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
         "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_RSS",
         "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK")],
       "process.rlimits", "every rlimit unlimited (needs CAP_SYS_RESOURCE)")
    wrong_types("nnp", "process.noNewPrivileges", "bool", "a boolean")
    for v in (1000, 0):
        ok(f"oom-{v}", "process.oomScoreAdj", v)
    either("oom--1000", "process.oomScoreAdj", -1000, "process.oomScoreAdj",
           "lowering the score needs CAP_SYS_RESOURCE")
    for v in (-1001, 1001, -2147483649, BIG_U64):
        err(f"oom-{v}", "process.oomScoreAdj", v, "process.oomScoreAdj: ")
    wrong_types("oom", "process.oomScoreAdj", "int", "an integer")
    # not there yet, or being added: the checks need only the JSON path
    for k in ("apparmorProfile", "selinuxLabel"):
        err(f"{k}-bogus", f"process.{k}", "hk-no-such-profile\u00ff", f"process.{k}")
        ok(f"{k}-empty", f"process.{k}", "", "empty means unset")
        err(f"{k}-int", f"process.{k}", 5, f"process.{k}")
    err("iopriority", "process.ioPriority", {"class": "IOPRIO_CLASS_BOGUS"}, "process.ioPriority")
    err("scheduler", "process.scheduler", {"policy": "SCHED_BOGUS"}, "process.scheduler")


# ---------------------------------------------------------------------------
# 8. hooks

def hooks():
    wrong_types("hooks", "hooks", "object", "an object")
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer",
                 "poststart", "poststop"):
        err(f"hooks-{kind}-object", f"hooks.{kind}", {}, f"hooks.{kind}: expected an array")
    err("hook-element-string", "hooks.prestart", ["/bin/true"],
        "hooks.prestart[0]: expected an object, got a string")
    err("hook-path-missing", "hooks.createRuntime", [{}], "hooks.createRuntime[0].path: must be an absolute path")
    err("hook-path-relative", "hooks.createRuntime", [{"path": "bin/true"}],
        "hooks.createRuntime[0].path: must be an absolute path")
    err("hook-path-empty", "hooks.createRuntime", [{"path": ""}],
        "hooks.createRuntime[0].path: must be an absolute path")
    err("hook-path-int", "hooks.createRuntime", [{"path": 1}],
        "hooks.createRuntime[0].path: expected a string")
    err("hook-args-string", "hooks.prestart", [{"path": "/bin/true", "args": "true"}],
        "hooks.prestart[0].args: expected an array")
    err("hook-env-no-equals", "hooks.prestart", [{"path": "/bin/true", "env": ["X"]}],
        "hooks.prestart[0].env[0]: \"X\" is not NAME=VALUE")
    for v in (0, -1, 2147483648, BIG_U64):
        err(f"hook-timeout-{v}", "hooks.prestart", [{"path": "/bin/true", "timeout": v}],
            "hooks.prestart[0].timeout: ")
    err("hook-timeout-string", "hooks.prestart", [{"path": "/bin/true", "timeout": "1"}],
        "hooks.prestart[0].timeout: expected an integer")
    err("hook-nonexistent", "hooks.createRuntime", [{"path": "/nonexistent/hk-hook"}],
        "hooks.createRuntime[0]: /nonexistent/hk-hook exited with status 127")
    err("hook-directory", "hooks.createRuntime", [{"path": "/"}],
        "hooks.createRuntime[0]: / exited with status 127")
    err("hook-not-executable", "hooks.prestart", [{"path": "/etc/hostname"}],
        "hooks.prestart[0]: /etc/hostname exited with status 127")
    err("hook-fails", "hooks.createRuntime", [{"path": "/bin/false"}],
        "hooks.createRuntime[0]: /bin/false exited with status 1")
    err("hook-fails-multiline-output", "hooks.createRuntime",
        [{"path": "/bin/sh", "args": ["sh", "-c", "printf 'first\\nsecond\\n'; exit 3"]}],
        "exited with status 3: first", "only the hook's first line is quoted")
    err("hook-killed", "hooks.createRuntime",
        [{"path": "/bin/sh", "args": ["sh", "-c", "kill -9 $$"]}],
        "killed by signal 9")
    err("hook-timeout", "hooks.createRuntime",
        [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}],
        "hooks.createRuntime[0]: /bin/sleep timed out after 1 s")
    err("hook-container-fails", "hooks.createContainer",
        [{"path": "/bin/false"}], "hooks.createContainer[0]")
    err("hook-big-output", "hooks.createRuntime",
        [{"path": "/bin/sh", "args": ["sh", "-c", "head -c 200000 /dev/zero; exit 1"]}],
        "hooks.createRuntime[0]",
        "a hook writing more than a pipe holds, with no timeout: husk must not hang",
        finding="F3")
    ok("hook-empty-lists", "hooks", {k: [] for k in ("prestart", "createRuntime",
                                                     "createContainer", "startContainer",
                                                     "poststart", "poststop")})
    ok("hook-unknown-kind", "hooks", {"preStart": [{"path": "relative"}], "x": 1},
       "unknown hook kinds are ignored")
    ok("hook-true", "hooks.createRuntime", [{"path": "/bin/true", "args": ["true"],
                                             "env": ["A=B"], "timeout": 2147483}],
       "the largest timeout whose milliseconds fit an int")
    case("hook-timeout-int-max", with_("hooks.createRuntime",
                                       [{"path": "/bin/true", "timeout": 2147483647}]),
         "ok", why="timeout * 1000 overflows an int: UBSan reports it, a release build "
         "polls forever (harmless for a hook that ends)", finding="F10")
    case("hook-timeout-wraps", with_("hooks.createRuntime",
                                     [{"path": "/bin/sleep", "args": ["sleep", "2"],
                                       "timeout": 4294968}]),
         "ok", why="4294968 s * 1000 wraps to 704 ms: a 2 s hook is killed as timed out",
         finding="F10")
    ok("hook-poststop-bad-path", "hooks.poststop", [{"path": "/nonexistent/hk-hook"}],
       "poststop only runs at delete, and its failure is a warning there")


# ---------------------------------------------------------------------------
# 9. linux

NS5 = ("pid", "network", "ipc", "uts", "mount")


def linux():
    err("linux-missing", "linux", DELETE, "linux: missing")
    wrong_types("linux", "linux", "object", "an object")
    # no namespaces at all: the host's are shared (config-linux.md); the
    # base config's hostname needs a uts namespace of its own
    err("ns-missing", "linux.namespaces", DELETE, "hostname: needs a uts namespace")
    err("ns-empty", "linux.namespaces", [], "hostname: needs a uts namespace")
    wrong_types("ns", "linux.namespaces", "array", "an array")
    err("ns-element-string", "linux.namespaces", ["mount"],
        "linux.namespaces[0]: expected an object, got a string")
    err("ns-type-missing", "linux.namespaces", [{}], "linux.namespaces[0].type: missing")
    err("ns-type-unknown", "linux.namespaces", [{"type": "mount"}, {"type": "net"}],
        "linux.namespaces[1].type: unknown namespace type \"net\"")
    err("ns-type-int", "linux.namespaces", [{"type": 1}], "linux.namespaces[0].type: expected a string")
    err("ns-dup", "linux.namespaces", [{"type": t} for t in NS5 + ("pid",)],
        "linux.namespaces[5].type: duplicate namespace \"pid\"")
    err("ns-path-relative", "linux.namespaces", [{"type": "mount"}, {"type": "network",
                                                                    "path": "proc/1/ns/net"}],
        "linux.namespaces[1].path: \"proc/1/ns/net\" is not an absolute path")
    err("ns-path-missing", "linux.namespaces", [{"type": "mount"}, {"type": "uts"},
                                                                   {"type": "network",
                                                                    "path": "/nonexistent/ns"}],
        "linux.namespaces[2].path: /nonexistent/ns")
    err("ns-path-not-ns", "linux.namespaces", [{"type": "mount"}, {"type": "uts"},
                                                                  {"type": "ipc",
                                                                   "path": "/etc/hostname"}],
        "/etc/hostname", "a regular file as a namespace")
    err("ns-path-wrong-type", "linux.namespaces", [{"type": "mount"}, {"type": "uts"},
                                                                      {"type": "ipc",
                                                                       "path": "/proc/self/ns/net"}],
        "ipc", "a network namespace file given as ipc")
    err("ns-mount-path", "linux.namespaces", [{"type": "mount", "path": "/proc/self/ns/mnt"},
                                              {"type": "uts"}],
        "linux.namespaces[0].path: /proc/self/ns/mnt is the host's mount namespace",
        "husk's own: its root would be pivoted")
    ok("ns-path-empty", "linux.namespaces", [{"type": t, "path": ""} for t in NS5],
       "an empty path means a new namespace")
    err("ns-user-no-maps", "linux.namespaces", [{"type": t} for t in NS5 + ("user",)],
        "a new user namespace needs uid and gid mappings")
    ok("ns-time-cgroup", "linux.namespaces", [{"type": t} for t in NS5 + ("time", "cgroup")])
    c = with_("linux.namespaces", [{"type": "mount"}])
    del c["hostname"]
    case("ns-only-mount", c, "ok", why="only a mount namespace (no hostname)")
    # devices
    wrong_types("devices", "linux.devices", "array", "an array")
    dev = {"type": "c", "path": "/dev/hk0", "major": 1, "minor": 3}

    def d(**kw):
        return [{**dev, **kw}]
    err("dev-element-int", "linux.devices", [1], "linux.devices[0]: expected an object")
    err("dev-type-missing", "linux.devices", [{k: v for k, v in dev.items() if k != "type"}],
        "linux.devices[0].type: must be one of c, b, u, p")
    for t in ("x", "cc", "", "C"):
        err(f"dev-type-{t or 'empty'}", "linux.devices", d(type=t),
            "linux.devices[0].type: must be one of c, b, u, p")
    err("dev-type-int", "linux.devices", d(type=99), "linux.devices[0].type: expected a string")
    err("dev-path-missing", "linux.devices", [{"type": "c", "major": 1, "minor": 3}],
        "linux.devices[0].path: must be an absolute path")
    err("dev-path-relative", "linux.devices", d(path="dev/hk0"), "linux.devices[0].path: must be an absolute path")
    # outside /dev is allowed (config-linux.md), made inside the root; a
    # file of the rootfs there is never replaced (the shared rootfs stays
    # as it is: only paths that exist in it are used here)
    err("dev-path-outside", "linux.devices", d(path="/etc/passwd"),
        "device /etc/passwd: a file that is not c 1:3 is already there")
    err("dev-path-dotdot", "linux.devices", d(path="/dev/../etc/group"),
        "device /etc/group: a file that is not c 1:3 is already there")
    err("dev-path-dev", "linux.devices", d(path="/dev/"), "\"/dev\" is a directory, not a device")
    err("dev-no-major", "linux.devices", [{"type": "c", "path": "/dev/hk0", "minor": 1}],
        "linux.devices[0]: major and minor are required for type c")
    for k in ("major", "minor"):
        err(f"dev-{k}-neg", "linux.devices", d(**{k: -1}), f"linux.devices[0].{k}: -1 out of range [0, 4294967295]")
        err(f"dev-{k}-u32max-plus1", "linux.devices", d(**{k: 4294967296}),
            f"linux.devices[0].{k}: 4294967296 out of range")
        err(f"dev-{k}-u32max", "linux.devices", d(**{k: 4294967295}), "/dev/hk0",
            "fits the range but not a dev_t: mknod must fail cleanly")
        err(f"dev-{k}-string", "linux.devices", d(**{k: "1"}), f"linux.devices[0].{k}: expected an integer")
    ok("dev-max-valid", "linux.devices", d(major=4095, minor=1048575),
       "the largest major/minor a dev_t holds")
    err("dev-minor-too-big-for-devt", "linux.devices", d(minor=1048576), "/dev/hk0")
    err("dev-mode-4096", "linux.devices", d(fileMode=4096), "linux.devices[0].fileMode: 4096 out of range")
    err("dev-mode-neg", "linux.devices", d(fileMode=-1), "linux.devices[0].fileMode: -1 out of range")
    ok("dev-mode-7777", "linux.devices", d(fileMode=0o7777))
    err("dev-uid-u32max", "linux.devices", d(uid=4294967295), "linux.devices[0].uid: 4294967295 out of range")
    err("dev-gid-neg", "linux.devices", d(gid=-1), "linux.devices[0].gid: -1 out of range")
    ok("dev-uid-gid-max", "linux.devices", d(uid=4294967294, gid=4294967294))
    ok("dev-fifo", "linux.devices", [{"type": "p", "path": "/dev/hkfifo"}])
    ok("dev-deep-path", "linux.devices", d(path="/dev/a/b/c/d/e/hk0"))
    ok("dev-replace-null", "linux.devices", d(path="/dev/null"), "a device at a default's path")
    ok("dev-dup", "linux.devices", d() + d(), "the same device twice")
    err("dev-over-pts", "linux.devices", d(path="/dev/pts"), "/dev/pts",
        "a device where a mount is: unlink of the mount point fails (EBUSY)")
    # device cgroup rules
    wrong_types("resources", "linux.resources", "object", "an object")
    for k in ("memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"):
        err(f"resources-{k}", f"linux.resources.{k}", "bogus", f"linux.resources.{k}")
    rule = {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}

    def r(**kw):
        return [{**rule, **kw}]
    err("rule-allow-missing", "linux.resources.devices", [{"access": "rwm"}],
        "linux.resources.devices[0].allow: missing")
    err("rule-allow-string", "linux.resources.devices", r(allow="yes"),
        "linux.resources.devices[0].allow: expected a boolean")
    err("rule-type-x", "linux.resources.devices", r(type="x"),
        "linux.resources.devices[0].type: must be one of a, c, b")
    err("rule-access-x", "linux.resources.devices", r(access="rwx"),
        "linux.resources.devices[0].access: \"rwx\" is not a subset of rwm")
    err("rule-access-long", "linux.resources.devices", r(access="rwmrwm"),
        "is not a subset of rwm")
    err("rule-major-minus2", "linux.resources.devices", r(major=-2),
        "linux.resources.devices[0].major: -2 out of range [-1, 4294967295]")
    err("rule-minor-big", "linux.resources.devices", r(minor=4294967296),
        "linux.resources.devices[0].minor: 4294967296 out of range")
    ok("rule-wildcards", "linux.resources.devices", r(major=-1, minor=-1))
    ok("rule-type-absent", "linux.resources.devices", [{"allow": False}])
    # paths, propagation, cgroupsPath, sysctl
    for key in ("maskedPaths", "readonlyPaths"):
        wrong_types(key.lower(), f"linux.{key}", "array", "an array")
        err(f"{key.lower()}-relative", f"linux.{key}", ["proc/kcore"],
            f"linux.{key}[0]: \"proc/kcore\" is not an absolute path")
        err(f"{key.lower()}-int", f"linux.{key}", [1], f"linux.{key}[0]: expected a string")
        ok(f"{key.lower()}-dotdot", f"linux.{key}", ["/../../../../etc"],
           "\"..\" stops at the container's /")
        ok(f"{key.lower()}-root", f"linux.{key}", ["/"], "the whole root")
    ok("masked-dev-null-itself", "linux.maskedPaths", ["/dev/null"])
    wrong_types("propagation", "linux.rootfsPropagation", "string", "a string")
    err("propagation-unknown", "linux.rootfsPropagation", "rwhatever",
        "linux.rootfsPropagation: unknown propagation \"rwhatever\"")
    ok("propagation-empty", "linux.rootfsPropagation", "")
    for p in ("private", "rslave", "rshared"):
        ok(f"propagation-{p}", "linux.rootfsPropagation", p)
    err("propagation-runbindable", "linux.rootfsPropagation", "runbindable", "readonlyPaths",
        "an unbindable root: the binds of readonlyPaths fail (EINVAL), one line")
    wrong_types("cgroupspath", "linux.cgroupsPath", "string", "a string")
    err("cgroupspath-dotdot", "linux.cgroupsPath", "../../escape",
        "linux.cgroupsPath: \"../../escape\" must not contain \"..\"")
    err("cgroupspath-abs-dotdot", "linux.cgroupsPath", "/a/../../b", "must not contain \"..\"")
    wrong_types("sysctl", "linux.sysctl", "object", "an object")
    err("sysctl-not-namespaced", "linux.sysctl", {"kernel.randomize_va_space": "0"},
        "linux.sysctl.kernel.randomize_va_space: not a namespaced sysctl")
    err("sysctl-slash", "linux.sysctl", {"net/../../kernel/x": "1"}, "not a namespaced sysctl")
    err("sysctl-dotdot", "linux.sysctl", {"net...kernel.x": "1"}, "not a namespaced sysctl")
    err("sysctl-int", "linux.sysctl", {"net.ipv4.ip_forward": 1},
        "linux.sysctl.net.ipv4.ip_forward: expected a string, got an integer")
    err("sysctl-unknown-net", "linux.sysctl", {"net.hk.nonexistent": "1"},
        "linux.sysctl.net.hk.nonexistent")
    err("sysctl-bad-value", "linux.sysctl", {"net.ipv4.ip_forward": "abc"},
        "linux.sysctl.net.ipv4.ip_forward")
    err("sysctl-dir", "linux.sysctl", {"net.ipv4": "1"}, "linux.sysctl.net.ipv4")
    ok("sysctl-ok", "linux.sysctl", {"net.ipv4.ip_forward": "1", "kernel.shmmni": "4096"})
    err("sysctl-host-net", "linux", {**base()["linux"], "namespaces": [
        {"type": t} for t in ("pid", "ipc", "uts", "mount")], "sysctl": {"net.ipv4.ip_forward": "1"}},
        "linux.sysctl.net.ipv4.ip_forward: needs a new network namespace")
    # unsupported linux keys
    for k, v in (("intelRdt", {"closID": 5}), ("personality", {"domain": "HK_BOGUS"}),
                 ("mountLabel", "hk_bogus_u:x"), ("memoryPolicy", {"mode": "HK_BOGUS"}),
                 ("netDevices", {"hk-bogus": 5})):
        err(f"linux-{k}", f"linux.{k}", v, f"linux.{k}")
    ok("mountlabel-empty", "linux.mountLabel", "")


# ---------------------------------------------------------------------------
# 10. user and time namespaces

def userns():
    ns = [{"type": t} for t in NS5 + ("user",)]
    m = [{"containerID": 0, "hostID": 100000, "size": 65536}]

    def u(uid=None, gid=None, namespaces=ns):
        c = with_("linux.namespaces", namespaces)
        c["linux"]["uidMappings"] = m if uid is None else uid
        c["linux"]["gidMappings"] = m if gid is None else gid
        return c
    case("idmap-no-userns", with_("linux.uidMappings", m), "error",
         "linux.uidMappings: needs a user namespace")
    case("idmap-only-uid", with_("linux.gidMappings", DELETE, u()), "error",
         "linux.gidMappings: a new user namespace needs uid and gid mappings")
    wrong_types("uidmappings", "linux.uidMappings", "array", "an array")
    case("idmap-size-0", u(uid=[{"containerID": 0, "hostID": 100000, "size": 0}]), "error",
         "linux.uidMappings[0].size: must be at least 1")
    case("idmap-size-missing", u(gid=[{"containerID": 0, "hostID": 100000}]), "error",
         "linux.gidMappings[0].size: missing")
    case("idmap-container-neg", u(uid=[{"containerID": -1, "hostID": 100000, "size": 1}]),
         "error", "linux.uidMappings[0].containerID: -1 out of range [0, 4294967295]")
    case("idmap-host-u32max-plus1", u(uid=[{"containerID": 0, "hostID": 4294967296, "size": 1}]),
         "error", "linux.uidMappings[0].hostID: 4294967296 out of range")
    case("idmap-end-past", u(uid=[{"containerID": 0, "hostID": 4294967295, "size": 1}]),
         "error", "linux.uidMappings[0]: range ends past 4294967294")
    case("idmap-size-u32max", u(uid=[{"containerID": 0, "hostID": 0, "size": 4294967295}]),
         "ok", why="the whole id space, as init_user_ns maps it")
    case("idmap-size-u32max-plus-offset",
         u(uid=[{"containerID": 1, "hostID": 0, "size": 4294967295}]),
         "error", "linux.uidMappings[0]: range ends past 4294967294")
    case("idmap-overlap-container", u(uid=[{"containerID": 0, "hostID": 100000, "size": 10},
                                           {"containerID": 5, "hostID": 200000, "size": 10}]),
         "error", "linux.uidMappings[1].containerID: overlaps range 0")
    case("idmap-overlap-host", u(gid=[{"containerID": 0, "hostID": 100000, "size": 10},
                                      {"containerID": 50, "hostID": 100009, "size": 1}]),
         "error", "linux.gidMappings[1].hostID: overlaps range 0")
    case("idmap-341", u(uid=[{"containerID": i, "hostID": 100000 + i, "size": 1}
                             for i in range(341)]),
         "error", "linux.uidMappings[340]: more than 340 ranges")
    case("idmap-string", u(uid=[{"containerID": "0", "hostID": 100000, "size": 1}]), "error",
         "linux.uidMappings[0].containerID: expected an integer")
    case("idmap-joined-userns-with-maps",
         u(namespaces=[{"type": t} for t in NS5] + [{"type": "user", "path": "/proc/1/ns/user"}]),
         "error", "linux.uidMappings: not allowed when joining a user namespace by path")
    t = NS5 + ("time",)
    off = {"monotonic": {"secs": 10, "nanosecs": 5}}

    def tm(offsets, namespaces=t):
        c = with_("linux.namespaces", [{"type": x} for x in namespaces])
        c["linux"]["timeOffsets"] = offsets
        return c
    case("time-no-timens", tm(off, NS5), "error",
         "linux.timeOffsets: needs a new time namespace")
    case("time-realtime", tm({"realtime": {"secs": 1}}), "error",
         "linux.timeOffsets.realtime: only monotonic and boottime")
    case("time-not-object", tm({"monotonic": 5}), "error",
         "linux.timeOffsets.monotonic: expected an object, got an integer")
    case("time-offsets-array", tm([]), "error", "linux.timeOffsets: expected an object")
    case("time-nanosecs-1e9", tm({"boottime": {"nanosecs": 1000000000}}), "error",
         "linux.timeOffsets.boottime.nanosecs: 1000000000 out of range [0, 999999999]")
    case("time-nanosecs-neg", tm({"boottime": {"nanosecs": -1}}), "error",
         "linux.timeOffsets.boottime.nanosecs: -1 out of range")
    case("time-secs-past-half", tm({"monotonic": {"secs": 4611686018427387904}}), "error",
         "linux.timeOffsets.monotonic.secs: 4611686018427387904 out of range")
    case("time-secs-i64min", tm({"monotonic": {"secs": -9223372036854775808}}), "error",
         "linux.timeOffsets.monotonic.secs")
    case("time-secs-huge-kernel", tm({"monotonic": {"secs": 4611686018427387903}}), "error",
         "linux.timeOffsets", "in husk's range, but the kernel refuses offsets this large",
         finding="F4")
    case("time-secs-neg-huge", tm({"boottime": {"secs": -4611686018427387904}}), "error",
         "linux.timeOffsets", "a huge negative offset: the kernel refuses it", finding="F4")
    case("time-ok", tm({"monotonic": {"secs": 86400, "nanosecs": 999999999},
                        "boottime": {"secs": -1, "nanosecs": 0}}), "ok")
    case("time-empty", tm({}), "ok")


def main():
    for section in (syntax, encoding, structure, numbers, top, mounts, process, hooks,
                    linux, userns):
        section()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    manifest = []
    seen = set()
    for i, (slug, data, expect, message, why, finding) in enumerate(CASES):
        assert slug not in seen, f"duplicate case name {slug}"
        seen.add(slug)
        name = f"cases/{i:03d}-{slug}.json"
        (HERE / name).write_bytes(data)
        entry = {"file": name, "expect": expect}
        if message is not None:
            entry["message"] = message
        if why:
            entry["why"] = why
        if finding:
            entry["finding"] = finding
        manifest.append(entry)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    size = sum(len(c[1]) for c in CASES)
    print(f"{len(CASES)} cases, {size / 1e6:.1f} MB in {OUT}")


if __name__ == "__main__":
    main()
