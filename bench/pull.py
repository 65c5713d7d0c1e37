#!/usr/bin/python3
"""husk pull against podman pull and skopeo copy (issue 19, point 6): the
same image from the same registry, Debian's docker-registry started here on
127.0.0.1 (nothing leaves the machine). The image: busybox's rootfs, a
layer of 16 MiB of random bytes (gzip cannot shrink it) and a small one.

  cold   an empty cache / storage / directory each round
  warm   the image already there (the manifest is fetched again)

podman runs with --root and --runroot of its own in a temp directory (the
host's storage is never touched). Then `husk launch --rm --net none` of
`true` by name (the store) and from the same image as a layout directory.
Medians of BENCH_N rounds (default 7). Usage: HUSK=build/husk bench/pull.py
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import test_registry as T  # noqa: E402  (Registry, busybox_image)
from ocimage import Image, tar_of, tar_of_dir  # noqa: E402

HUSK = os.environ.get("HUSK", str(ROOT / "build" / "husk"))
N = int(os.environ.get("BENCH_N", "7"))


def timed(argv, **kw):
    t = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=300, **kw)
    return (time.monotonic() - t) * 1000


def rootfs(tmp):
    r = tmp / "rootfs"
    (r / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", r / "bin" / "busybox")
    for n in ("sh", "true"):
        os.symlink("busybox", r / "bin" / n)
    return r


def main():
    tmp = Path(tempfile.mkdtemp(prefix="husk-bench-pull-"))
    reg = T.Registry(tmp / "reg")
    try:
        big = tar_of([("big", os.urandom(16 << 20))])
        img = Image([(tar_of_dir(rootfs(tmp)), "gzip"), (big, "gzip"),
                     (tar_of([("x", b"x\n")]), "gzip")], {"Cmd": ["/bin/true"]})
        lay = img.layout(tmp / "layout")
        ref = reg.push(f"oci:{lay}", "bench/img:1")
        subjects = {
            "husk pull": lambda d: [HUSK, "pull", "-q", "--cache-dir", str(d), ref],
            "podman pull": lambda d: ["podman", "--root", str(d / "root"), "--runroot",
                                      str(d / "run"), "pull", "-q", "--tls-verify=false",
                                      ref],
            "skopeo copy": lambda d: ["skopeo", "--insecure-policy", "copy", "-q",
                                      "--src-tls-verify=false", f"docker://{ref}",
                                      f"oci:{d}/oci:img"],
        }
        res = {}
        for name, argv in subjects.items():
            cold, warm = [], []
            for i in range(N):
                d = tmp / f"{name.split()[0]}-{i}"
                d.mkdir()
                cold.append(timed(argv(d)))
                warm.append(timed(argv(d)))
                if name.startswith("podman"):
                    subprocess.run(["podman", "--root", str(d / "root"), "--runroot",
                                    str(d / "run"), "system", "reset", "-f"],
                                   capture_output=True, timeout=120)
                shutil.rmtree(d, ignore_errors=True)
            res[name] = (statistics.median(cold), statistics.median(warm))
        cache, data = tmp / "cache", tmp / "data"
        subprocess.run([HUSK, "pull", "-q", "--cache-dir", str(cache), ref], check=True,
                       capture_output=True)
        base = [HUSK, "--root", str(tmp / "state"), "launch", "--rm", "--net", "none",
                "--data-dir", str(data), "--cache-dir", str(cache)]
        launches = {"by name": [], "layout": []}
        for _ in range(N * 3):
            launches["by name"].append(timed(base + [ref, "true"]))
            launches["layout"].append(timed(base + [str(lay), "true"]))
        print(f"image: 3 layers, {sum(l['size'] for l in img.layers) / 1e6:.1f} MB "
              f"compressed; medians of {N} rounds (launch: {N * 3}), ms")
        print(f"| {'subject':<14} | {'cold':>8} | {'warm':>8} |")
        print(f"|{'-' * 16}|{'-' * 10}|{'-' * 10}|")
        for name, (c, w) in res.items():
            print(f"| {name:<14} | {c:8.1f} | {w:8.1f} |")
        for k, v in launches.items():
            print(f"launch {k}: {statistics.median(v):.1f}")
    finally:
        reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
