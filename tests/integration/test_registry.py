"""husk pull and husk launch IMAGE against a real registry (issue 19):
Debian's docker-registry (the distribution registry) started here on
127.0.0.1 with a private storage directory, filled by skopeo with images
the tests build (busybox rootfs, 2 layers) as an OCI manifest, a Docker
v2.2 manifest and a multi-arch index; a second one with htpasswd (Basic)
auth; a small proxy of ours in front of one to corrupt a blob. Nothing here
reaches beyond 127.0.0.1."""
import base64
import http.client
import http.server
import json
import os
import pty
import select
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import HUSK, MARK_ENV
from ocimage import OCI_INDEX, OCI_MANIFEST, Image, sha, tar_of, tar_of_dir

pytestmark = pytest.mark.husk_only

REGISTRY = shutil.which("docker-registry")
SKOPEO = shutil.which("skopeo")
HTPASSWD = shutil.which("htpasswd")
INIT = Path(HUSK).parent / "husk-init"
PULL = Path(HUSK).parent / "husk-pull"
TIMEOUT = 60
# credentials go over plain http (these registries, on 127.0.0.1) only
# with it
INSECURE = "--tls-verify=false"

CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo $GREETING from $(cat /arch)"],
          "Env": ["PATH=/bin:/usr/bin:/sbin", "GREETING=hello"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """docker-registry serving dir/storage on 127.0.0.1:port (htpasswd
    Basic auth when users is given; TLS with tls, (cert, key, ca), and
    then client certificates signed by ca required with client, (cert,
    key) of one, for the tests' own requests)."""

    def __init__(self, dir, users=None, tls=None, client=None):
        self.dir = Path(dir)
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        auth = ""
        if users:
            lines = [subprocess.run([HTPASSWD, "-Bbn", u, p], capture_output=True, check=True,
                                    text=True).stdout.strip() for u, p in users.items()]
            (self.dir / "htpasswd").write_text("\n".join(lines) + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: husk-test\n    path: {self.dir}/htpasswd\n"
        (self.dir / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.dir}/storage\n"
            f"http:\n  addr: {self.host}\n" +
            (f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n" if tls else "") +
            (f"    clientcas:\n      - {tls[2]}\n" if client else "") + auth)
        self.log = open(self.dir / "log", "wb")
        self.proc = subprocess.Popen([REGISTRY, "serve", str(self.dir / "config.yml")],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        ctx = ssl.create_default_context(cafile=tls[2]) if tls else None
        if client:
            ctx.load_cert_chain(client[0], client[1])
        while True:
            try:
                urllib.request.urlopen(f"{'https' if tls else 'http'}://{self.host}/v2/",
                                       timeout=2, context=ctx)
                break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for credentials
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("docker-registry did not start: " +
                                         (self.dir / "log").read_text(errors="replace"))
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def push(self, src, repo, *args, creds=None):
        argv = [SKOPEO, "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", *args]
        if creds:
            argv += ["--dest-creds", creds]
        p = subprocess.run(argv + [src, f"docker://{self.host}/{repo}"],
                           capture_output=True, timeout=60, text=True)
        assert p.returncode == 0, f"skopeo copy to {repo}: {p.stderr}"
        return f"{self.host}/{repo}"


def busybox_image(rootfs, arch):
    l1 = tar_of_dir(rootfs, [("srv", None)])
    l2 = tar_of([("arch", arch.encode() + b"\n"), ("layer2", b"two\n")])
    img = Image([(l1, "gzip"), (l2, "gzip")], CONFIG)
    if arch != "amd64":  # Image's config says amd64
        cfg = json.loads(img.config)
        cfg["architecture"] = arch
        del img.blobs[sha(img.config)]
        del img.blobs[sha(img.manifest)]
        img.config = json.dumps(cfg).encode()
        img.blobs[sha(img.config)] = img.config
        m = json.loads(img.manifest)
        m["config"]["digest"], m["config"]["size"] = "sha256:" + sha(img.config), len(img.config)
        img.manifest = json.dumps(m).encode()
        img.blobs[sha(img.manifest)] = img.manifest
    return img


def multi_layout(path, images):
    """One layout with every image and an index naming each platform."""
    path = Path(path)
    mans = []
    for arch, img in images.items():
        for name, data in img.files().items():
            if name.startswith("blobs/"):
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                (path / name).write_bytes(data)
        mans.append({"mediaType": OCI_MANIFEST, "digest": "sha256:" + sha(img.manifest),
                     "size": len(img.manifest),
                     "platform": {"architecture": arch, "os": "linux"}})
    inner = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": mans}).encode()
    (path / "blobs" / "sha256" / sha(inner)).write_bytes(inner)
    # skopeo's oci: transport copies an index that index.json names
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (path / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_INDEX, "digest": "sha256:" + sha(inner), "size": len(inner),
             "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
    return path


@pytest.fixture(scope="module")
def world(session_env, tmp_path_factory):
    """The plain registry with hk/oci:1 (OCI), hk/docker:1 (Docker v2.2),
    hk/multi:1 (an index: amd64 and arm64)."""
    for tool, what in ((REGISTRY, "docker-registry"), (SKOPEO, "skopeo"),
                       (HTPASSWD, "htpasswd (apache2-utils)")):
        if not tool:
            pytest.skip(f"{what} not installed (scripts/setup.sh installs it)")
    if not os.access(PULL, os.X_OK) or not os.access(INIT, os.X_OK):
        pytest.skip("husk-pull or husk-init not built")
    if os.uname().machine != "x86_64":
        pytest.skip("the multi-arch image assumes amd64")
    tmp = tmp_path_factory.mktemp("registry")
    reg = Registry(tmp / "reg")
    try:
        w = type("World", (), {})()
        w.reg = reg
        w.img = busybox_image(session_env.rootfs, "amd64")
        other = busybox_image(session_env.rootfs, "arm64")
        lay = w.img.layout(tmp / "layout")
        w.oci = reg.push(f"oci:{lay}", "hk/oci:1")
        w.docker = reg.push(f"oci:{lay}", "hk/docker:1", "--format", "v2s2")
        multi = multi_layout(tmp / "multi", {"amd64": w.img, "arm64": other})
        w.multi = reg.push(f"oci:{multi}", "hk/multi:1", "--all")
        w.tmp = tmp
        yield w
    finally:
        reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


class Puller:
    def __init__(self, hk):
        self.hk = hk
        self.cache = hk.dir("cache")
        self.data = hk.dir("data")

    def pull(self, ref, *args, env=None):
        return self.hk.call("pull", "--cache-dir", self.cache, *args, ref, env=env,
                            timeout=TIMEOUT)

    def launch(self, ref, *cmd, opts=(), env=None):
        return self.hk.call("launch", "--rm", "--net", "none", "--name", self.hk.new_id(),
                            "--data-dir", self.data, "--cache-dir", self.cache, "-e",
                            MARK_ENV, *opts, ref, *cmd, env=env, timeout=TIMEOUT)

    def refs(self):
        d = self.cache / "refs"
        return sorted(os.listdir(d)) if d.exists() else []

    def layers(self):
        d = self.cache / "sha256"
        return sorted(os.listdir(d)) if d.exists() else []

    def tmp_empty(self):
        d = self.cache / "tmp"
        return not d.exists() or os.listdir(d) == []


@pytest.fixture
def puller(hk, world):
    return Puller(hk)


def one_line_error(r, *words):
    if os.environ.get("HK_SHOW"):
        print("\n" + r.err.strip().splitlines()[-1])
    assert r.rc == 125, str(r)
    # the error is one line, after the layers it downloaded
    lines = [l for l in r.err.strip().splitlines() if not l.startswith("Copying blob")]
    assert len(lines) == 1 and lines[0] == r.err.strip().splitlines()[-1], str(r)
    for w in words:
        assert w in lines[0], str(r)


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_pull_then_launch_by_name(puller, world, kind):
    ref = getattr(world, kind)
    r = puller.pull(ref)
    assert r.rc == 0, str(r)
    # podman's: the image id (the config's digest), bare
    assert r.out == world.img.id + "\n", str(r)
    assert r.err.count("Copying blob") == 2, str(r)
    assert puller.layers() == sorted(world.img.layer_hex(i) for i in range(2))
    assert len(puller.refs()) == 1 and puller.tmp_empty()
    # the store has it: --pull never launches it, no registry asked
    r = puller.launch(ref, opts=("--pull", "never"))
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    r = puller.launch(ref, "cat /layer2; test -d /srv && echo srv", opts=("--pull", "never"))
    assert r.rc == 0 and r.out == "two\nsrv\n", str(r)
    # a second pull finds the layers cached
    r = puller.pull(ref)
    assert r.rc == 0 and "Copying blob" not in r.err, str(r)


def test_images_and_rmi(puller, world):
    cache = ("--cache-dir", puller.cache)
    assert puller.hk.ok("images", *cache).out.splitlines()[1:] == []
    for ref in (world.oci, world.docker):
        assert puller.pull(ref, "-q").rc == 0
    lines = puller.hk.ok("images", *cache).out.splitlines()
    assert lines[0].split()[:4] == ["REPOSITORY", "TAG", "IMAGE", "ID"], lines
    rows = [l.split() for l in lines[1:]]
    assert [(r[0], r[1]) for r in rows] == [(world.docker.rsplit(":", 1)[0], "1"),
                                            (world.oci.rsplit(":", 1)[0], "1")], lines
    assert rows[1][2] == world.img.id[:12]
    assert rows[1][3] == "sha256:" + sha(world.img.manifest)[:12], lines
    ids = puller.hk.ok("images", "-q", *cache).out.split()
    assert len(ids) == 2 and world.img.id[:12] in ids
    r = puller.hk.ok("rmi", *cache, world.oci)
    assert r.out == f"Untagged: {world.oci}\n"
    lines = puller.hk.ok("images", *cache).out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(world.docker.rsplit(":", 1)[0]), lines
    r = puller.launch(world.oci, opts=("--pull", "never"))
    one_line_error(r, "--pull never")
    r = puller.hk.call("rmi", *cache, world.oci)
    assert r.rc == 1 and world.oci in r.err and len(r.err.splitlines()) == 1, str(r)
    # the layers stay (until a prune): the other image uses them
    assert len(puller.layers()) == 2 and puller.tmp_empty()


def test_launch_pulls_when_missing(puller, world):
    # --pull never: not there, nothing asked
    r = puller.launch(world.oci, opts=("--pull", "never"))
    one_line_error(r, world.oci.split("/")[0], "--pull never")
    # default (missing): pulled, then run
    r = puller.launch(world.oci)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    assert r.err.count("Copying blob") == 2, str(r)
    r = puller.launch(world.oci)
    assert r.rc == 0 and "Copying blob" not in r.err, str(r)
    # always: the manifest again, the layers from the cache
    r = puller.launch(world.oci, opts=("--pull", "always"))
    assert r.rc == 0 and r.out == "hello from amd64\n" and "Copying blob" not in r.err, str(r)
    # a layer removed by hand: pulled again
    shutil.rmtree(puller.cache / "sha256" / world.img.layer_hex(1))
    r = puller.launch(world.oci)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    assert r.err.count("Copying blob") == 1, str(r)
    r = puller.launch(world.oci, opts=("--pull", "sometimes"))
    one_line_error(r, "--pull sometimes")
    assert len(puller.refs()) == 1 and puller.tmp_empty()


def test_short_name_alias(puller, world, tmp_path):
    """Aliases come from a file alone ($HUSK_REGISTRIES_CONF here, podman's
    [aliases] table)."""
    aliases = tmp_path / "registries.conf"
    aliases.write_text(f'# test\n[aliases]\nhkapp = "{world.oci.rsplit(":", 1)[0]}"\n')
    env = dict(os.environ, HUSK_REGISTRIES_CONF=str(aliases))
    r = puller.launch("hkapp:1", env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    lines = puller.hk.ok("images", "--cache-dir", puller.cache).out.splitlines()
    assert lines[1].split()[:2] == [world.oci.rsplit(":", 1)[0], "1"], lines
    puller.hk.ok("rmi", "--cache-dir", puller.cache, "hkapp:1", env=env)
    assert puller.refs() == []


def test_multi_arch_index_picks_this_machine(puller, world):
    r = puller.launch(world.multi)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    assert r.err.count("Copying blob") == 2, str(r)


def test_digest_reference(puller, world):
    digest = "sha256:" + sha(world.img.manifest)
    repo = world.oci.rsplit(":", 1)[0]
    r = puller.launch(f"{repo}@{digest}")
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    # a digest the registry does not have: refused, nothing stored
    other = "sha256:" + "0" * 64
    r = puller.launch(f"{repo}@{other}", "true")
    one_line_error(r, f"{repo}@{other}", "HTTP 404")
    assert len(puller.refs()) == 1 and puller.tmp_empty()


def test_unknown_image_or_tag(puller, world):
    for ref in (f"{world.reg.host}/hk/nosuch:1", world.oci.rsplit(":", 1)[0] + ":nosuch"):
        r = puller.launch(ref, "true")
        one_line_error(r, ref, "HTTP 404")
        r = puller.pull(ref)
        one_line_error(r, ref, "HTTP 404")
    assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()


def test_bad_references(puller, world):
    for ref in ("UPPER/case", "a//b", "host:99999999/x", "x:bad tag"):
        r = puller.pull(ref)
        one_line_error(r, "image reference")


def test_registry_down(puller, world):
    ref = f"127.0.0.1:{free_port()}/hk/oci:1"
    r = puller.launch(ref, "true")
    one_line_error(r, ref)
    assert puller.refs() == [] and puller.tmp_empty()


class Proxy:
    """A registry of our own in front of the real one: it may flip a byte
    in the middle of one blob (corrupt), send half of one and hang up
    (truncate), answer every manifest with a document of ours (manifest:
    (bytes, content type)), or ask for Bearer tokens from a token server
    of its own (bearer: None, "anonymous" or (user, password)), or send
    every blob GET elsewhere (redirect: a 307 to redirect.format(path));
    delay: seconds each blob (of slow, when given) waits, to see how many
    are asked for at once; tls: (cert, key, ca) to serve https, its token
    realm https too unless realm_scheme says otherwise; token_uses: each
    token it gives good for that many requests; token: the token it gives
    (its own by default); trickle: manifests sent a byte every 0.3 s. It
    keeps the names of the headers it was sent (seen)."""

    TOKEN = "hk-test-token-4711"

    def __init__(self, upstream, corrupt=None, truncate=None, manifest=None, bearer=None,
                 redirect=None, delay=0, slow=None, tls=None, realm_scheme=None,
                 token_uses=None, token=None, trickle=False):
        proxy = self
        self.seen = set()
        self.token_auths = []  # the Authorization of each token request
        self.corrupted = 0
        self.blob_gets = 0
        self.scopes = []
        self.issued = 0
        self.uses = {}
        self.active = self.most_active = 0
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def token(self):
                proxy.token_auths.append(self.headers.get("Authorization"))
                want = None if bearer == "anonymous" else "Basic " + base64.b64encode(
                    f"{bearer[0]}:{bearer[1]}".encode()).decode()
                if want and self.headers.get("Authorization") != want:
                    return self.reply(401, b'{"errors":[{"message":"who are you"}]}')
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                proxy.scopes.append((q.get("service"), q.get("scope")))
                proxy.issued += 1
                given = token or (Proxy.TOKEN if not token_uses
                                  else f"{Proxy.TOKEN}-{proxy.issued}")
                self.reply(200, json.dumps({"token": given}).encode(),
                           [("Content-Type", "application/json")])

            def do_GET(self):
                proxy.seen.update(k.lower() for k in self.headers.keys())
                if self.path.startswith("/token"):
                    return self.token()
                got = self.headers.get("Authorization") or ""
                if token_uses and got.startswith("Bearer "):
                    # each token good for token_uses requests: then expired
                    proxy.uses[got] = proxy.uses.get(got, 0) + 1
                    if proxy.uses[got] > token_uses:
                        got = ""
                elif bearer and got != "Bearer " + Proxy.TOKEN:
                    got = ""
                if bearer and not got:
                    scheme = realm_scheme or ("https" if tls else "http")
                    ch = f'Bearer realm="{scheme}://{proxy.host}/token",service="hk-test"'

                    return self.reply(401, b'{"errors":[{"message":"token please"}]}',
                                      [("WWW-Authenticate", ch)])
                if redirect and "/blobs/" in self.path:
                    # a CDN's way: the blob is elsewhere (a format: the path)
                    proxy.blob_gets += 1
                    return self.reply(307, b"", [("Location", redirect.format(self.path))])
                if manifest and "/manifests/" in self.path:
                    return self.reply(200, manifest[0], [("Content-Type", manifest[1])])
                if trickle and "/manifests/" in self.path:
                    self.send_response(200)
                    self.send_header("Content-Type", OCI_MANIFEST)
                    self.send_header("Content-Length", "4096")
                    self.end_headers()
                    try:
                        for _ in range(4096):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.3)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                conn = http.client.HTTPConnection(upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "authorization")}
                conn.request("GET", self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                headers = [(k, v) for k, v in resp.getheaders()
                           if k.lower() not in ("transfer-encoding", "connection",
                                                "content-length")]
                if "/blobs/" in self.path:
                    proxy.blob_gets += 1
                    with lock:
                        proxy.active += 1
                        proxy.most_active = max(proxy.most_active, proxy.active)
                    if not slow or any(self.path.endswith(d) for d in slow):
                        time.sleep(delay)
                    with lock:
                        proxy.active -= 1
                if corrupt and self.path.endswith("/blobs/" + corrupt) and resp.status == 200:
                    body = bytearray(body)
                    body[len(body) // 2] ^= 0xff
                    body = bytes(body)
                    proxy.corrupted += 1
                if truncate and self.path.endswith("/blobs/" + truncate):
                    self.send_response(resp.status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.reply(resp.status, body, headers)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:  # (cert, key, ca)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("layer", [0, 1])
def test_corrupt_blob_refused(puller, world, layer):
    bad = world.img.layer_hex(layer)
    with Proxy(world.reg.host, corrupt="sha256:" + bad) as proxy:
        ref = proxy.host + "/hk/oci:1"
        r = puller.launch(ref, "true")
        one_line_error(r, ref, f"does not match its digest sha256:{bad}")
        assert proxy.corrupted == 1
    # the other layer is whole and checked: it may stay; the bad one not
    assert bad not in puller.layers()
    assert puller.refs() == [] and puller.tmp_empty()


def test_truncated_blob_refused(puller, world):
    bad = world.img.layer_hex(0)
    with Proxy(world.reg.host, truncate="sha256:" + bad) as proxy:
        ref = proxy.host + "/hk/oci:1"
        r = puller.pull(ref)
        one_line_error(r, ref, "sha256:" + bad, "remaining")
    assert bad not in puller.layers()
    assert puller.refs() == [] and puller.tmp_empty()


def test_blob_redirects(puller, world):
    """Blobs behind a redirect, as registries on a CDN serve them; a
    redirect to anything but http(s) is not followed."""
    with Proxy(world.reg.host, redirect="http://" + world.reg.host + "{}") as proxy:
        r = puller.pull(proxy.host + "/hk/oci:1")
        assert r.rc == 0 and r.err.count("Copying blob") == 2, str(r)
    with Proxy(world.reg.host, redirect="file:///etc/passwd#{}") as proxy:
        ref = proxy.host + "/hk/docker:1"
        r = puller.pull(ref)
        one_line_error(r, ref, "file")
    assert len(puller.refs()) == 1 and puller.tmp_empty()


def test_manifest_not_matching_its_digest(puller, world):
    """By digest, the manifest must be that digest's: one byte more is
    refused before anything else is asked for."""
    digest = "sha256:" + sha(world.img.manifest)
    with Proxy(world.reg.host, manifest=(world.img.manifest + b" ", OCI_MANIFEST)) as proxy:
        ref = f"{proxy.host}/hk/oci@{digest}"
        r = puller.launch(ref, "true")
        one_line_error(r, ref, "does not match its digest")
        assert proxy.blob_gets == 0
    assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()


def hostile_manifest(layers):
    cfg = {"mediaType": "application/vnd.oci.image.config.v1+json",
           "digest": "sha256:" + "1" * 64, "size": 100}
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                       "layers": layers}).encode()


@pytest.mark.parametrize("case", ["10000 layers", "100 GB layer", "8 MiB manifest"])
def test_manifest_limits(puller, world, case):
    """A hostile registry's manifest is refused before any blob is asked
    for: no allocation or write husk did not bound."""
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": "sha256:" + "2" * 64, "size": 1000}
    doc, want = {
        "10000 layers": (hostile_manifest([layer] * 10000), "10000 layers (at most 128)"),
        "100 GB layer": (hostile_manifest([dict(layer, size=100 << 30)]), "107374182400 bytes"),
        "8 MiB manifest": (hostile_manifest([layer]) + b" " * (8 << 20), "more than"),
    }[case]
    with Proxy(world.reg.host, manifest=(doc, OCI_MANIFEST)) as proxy:
        ref = proxy.host + "/hk/oci:1"
        r = puller.launch(ref, "true")
        one_line_error(r, ref, want)
        assert proxy.blob_gets == 0 and "Copying blob" not in r.err
    assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()


def test_layers_download_in_parallel(puller, world):
    with Proxy(world.reg.host, delay=1) as proxy:
        r = puller.pull(proxy.host + "/hk/oci:1")
        assert r.rc == 0, str(r)
        assert proxy.most_active == 2  # both layers at once


def test_interrupted_pull_leaves_nothing(puller, world):
    """Ctrl-C (SIGINT) in the middle of the layers: no store entry; what
    it left in the cache's tmp/ goes with the next pull."""
    layers = ["sha256:" + world.img.layer_hex(i) for i in range(2)]
    with Proxy(world.reg.host, delay=30, slow=layers) as proxy:
        argv = [HUSK, "pull", "--cache-dir", str(puller.cache), proxy.host + "/hk/oci:1"]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until = time.monotonic() + 20
            while proxy.active < 2 and time.monotonic() < wait_until:
                time.sleep(0.05)
            assert proxy.active == 2
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=10) != 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert puller.refs() == [] and puller.layers() == []
        assert not puller.tmp_empty()  # a dead pull's directory
    r = puller.pull(world.oci)
    assert r.rc == 0, str(r)
    assert len(puller.refs()) == 1 and len(puller.layers()) == 2 and puller.tmp_empty()


def test_progress_on_a_terminal(puller, world):
    """stderr a terminal: a bar per layer, redrawn in place, ending at 100%."""
    layers = ["sha256:" + world.img.layer_hex(i) for i in range(2)]
    master, slave = pty.openpty()
    try:
        with Proxy(world.reg.host, delay=1, slow=layers) as proxy:
            p = subprocess.run([HUSK, "pull", "--cache-dir", str(puller.cache),
                                proxy.host + "/hk/oci:1"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=slave, timeout=TIMEOUT)
        os.close(slave)
        slave = -1
        out = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0 and p.stdout.decode() == world.img.id + "\n"
    text = out.decode(errors="replace")
    assert "\x1b[2A" in text and "Copying blob" not in text, text  # redrawn in place
    last = text.rsplit("\x1b[2A", 1)[1]
    if os.environ.get("HK_SHOW"):
        print(repr(text[-600:]))
    for i in range(2):
        line = next(l for l in last.splitlines() if world.img.layer_hex(i)[:12] in l)
        assert "100%" in line and "MB/s" in line, line


def test_two_pulls_at_once_download_each_layer_once(puller, world):
    with Proxy(world.reg.host) as proxy:
        ref = proxy.host + "/hk/oci:1"
        argv = [HUSK, "pull", "--cache-dir", str(puller.cache), ref]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert outs[0][0] == outs[1][0]
        # each layer once, the config once per pull
        assert proxy.blob_gets == 2 + 2, outs
    assert len(puller.refs()) == 1 and len(puller.layers()) == 2 and puller.tmp_empty()
