"""The CRI tests' plumbing (test_cri.py): the client generated from the
CRI's own API definition, the pause image's program, and the requests
that open a stream of containerd's streaming server (kstream.py speaks
it)."""

import importlib
import sys

import pytest

import kstream
from conftest import REPO
from engines import ensure_packages, run

TIMEOUT = 30

# ../shared beside the main checkout (or beside the worktrees' directory)
PROTO = next((d / "shared" / "cri" / "api.proto" for d in (REPO.parent, REPO.parent.parent)
              if (d / "shared" / "cri" / "api.proto").exists()),
             REPO.parent / "shared" / "cri" / "api.proto")

PAUSE_C = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
/* the pod's first process: sleeps, reaps (PID 1 of a shared pid
 * namespace), ends on TERM or INT */
static void quit(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) ; }
int main(void)
{
	signal(SIGTERM, quit);
	signal(SIGINT, quit);
	signal(SIGCHLD, reap);
	for (;;)
		pause();
}
"""


def gen_client(tmp):
    """api_pb2 and api_pb2_grpc, made by protoc from the CRI's api.proto."""
    if not PROTO.exists():
        pytest.skip(f"{PROTO} not found (the CRI's API definition)")
    ensure_packages("protobuf-compiler", "protobuf-compiler-grpc", "python3-grpcio",
                    "python3-protobuf")
    out = tmp / "cri-client"
    out.mkdir()
    r = run(["protoc", "-I", PROTO.parent, f"--python_out={out}", f"--grpc_out={out}",
             "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", PROTO.name])
    assert r.rc == 0, str(r)
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(str(out))


def pause_tar(tmp):
    d = tmp / "pause-rootfs"
    d.mkdir()
    src = tmp / "pause.c"
    src.write_text(PAUSE_C)
    r = run(["gcc", "-O2", "-static", "-o", d / "pause", src])
    assert r.rc == 0, str(r)
    tar = tmp / "pause.tar"
    r = run(["tar", "-C", d, "-cf", tar, "."])
    assert r.rc == 0, str(r)
    return tar


# streaming: Exec, Attach and PortForward return a URL of containerd's
# streaming server, spoken to over WebSocket as kubelet's clients do;
# the streaming server listens on the node's loopback

V4 = "v4.channel.k8s.io"
EXEC_PROTOCOLS = (V4, "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io")


def stream(cri, url, protocol=V4):
    ws = kstream.WebSocket(url, [protocol], netns=f"/run/netns/{cri.node}", timeout=TIMEOUT)
    assert ws.protocol == protocol
    return kstream.Channels(ws)


def exec_stream(cri, cid, cmd, stdin=False, tty=False, protocol=V4):
    r = cri.rt.Exec(cri.pb.ExecRequest(container_id=cid, cmd=cmd, stdin=stdin, tty=tty,
                                       stdout=True, stderr=not tty), timeout=TIMEOUT)
    return stream(cri, r.url, protocol)
