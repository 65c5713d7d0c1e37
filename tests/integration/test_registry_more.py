"""What issue 19 left for last, against the same local registry as
test_registry.py (its fixtures): a bound on how much a layer may unpack
to against its size (a decompression bomb), TLS client certificates from
a certs.d directory, short-name aliases from registries.conf, and
`husk login`'s prompt on a terminal."""
import base64
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import tarfile
import termios
import time
import zlib
from pathlib import Path

import pytest

from ocimage import Image
from conftest import HUSK
from test_registry import (INSECURE, TIMEOUT, Registry, one_line_error,  # noqa: F401
                           puller, world)
from test_registry_auth import auth_world, make_ca  # noqa: F401
from test_userns_rootless import rootless  # noqa: F401

pytestmark = pytest.mark.husk_only


# --------------------------------------------------------------------------
# a decompression bomb: a layer that unpacks to far more than its size

def zeros_layer_gz(size):
    """A gzip'd tar of one file of size zero bytes (128 MiB in 130 KB),
    made without holding it in memory."""
    ti = tarfile.TarInfo("zeros")
    ti.size, ti.mode = size, 0o644
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(ti.tobuf(format=tarfile.PAX_FORMAT))]
    chunk = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        out.append(z.compress(chunk))
    out.append(z.compress(b"\0" * 1024))
    out.append(z.flush())
    return b"".join(out)


class BlobImage(Image):
    """An image of layers given as blobs (already compressed)."""

    def __init__(self, blobs, config):
        super().__init__([], config)
        cfg = json.loads(self.config)
        for blob in blobs:
            h = hashlib.sha256(blob).hexdigest()
            self.blobs[h] = blob
            self.layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": "sha256:" + h, "size": len(blob)})
            cfg["rootfs"]["diff_ids"].append("sha256:" + "0" * 64)
        for doc in (self.config, self.manifest):
            del self.blobs[hashlib.sha256(doc).hexdigest()]
        self.config = json.dumps(cfg).encode()
        self.blobs[self.id] = self.config
        man = json.loads(self.manifest)
        man["layers"] = self.layers
        man["config"].update(digest="sha256:" + self.id, size=len(self.config))
        self.manifest = json.dumps(man).encode()
        mh = hashlib.sha256(self.manifest).hexdigest()
        self.blobs[mh] = self.manifest
        idx = json.loads(self.index)
        idx["manifests"][0].update(digest="sha256:" + mh, size=len(self.manifest))
        self.index = json.dumps(idx).encode()


@pytest.fixture(scope="module")
def bomb(world):
    """hk/bomb:1, one layer: 128 MiB of zeros in 130 KB of gzip (a ratio
    of 1000; the default bound is 100 times, 64 MiB at least)."""
    img = BlobImage([zeros_layer_gz(128 << 20)], {"Cmd": ["true"]})
    lay = img.layout(world.tmp / "bomb-layout")
    img.ref = world.reg.push(f"oci:{lay}", "hk/bomb:1")
    img.lay = lay
    return img


def test_decompression_bomb_refused(puller, bomb):
    ref = bomb.ref
    for r in (puller.pull(ref), puller.launch(ref, "true")):
        one_line_error(r, ref, "decompression bomb", "--max-layer-ratio")
        assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()
    # launch's own unpacking (a layout) has the same bound
    r = puller.launch(str(bomb.lay), "true")
    assert r.rc == 125 and "decompression bomb" in r.err, str(r)
    assert len(r.err.strip().splitlines()) == 1, str(r)
    assert puller.layers() == [] and puller.tmp_empty()


def test_decompression_bound_is_an_option(puller, bomb, world):
    r = puller.pull(bomb.ref, "--max-layer-ratio", "abc")
    one_line_error(r, "--max-layer-ratio abc", "expected a number")
    r = puller.launch(bomb.ref, "true", opts=("--max-layer-ratio", "-1"))
    one_line_error(r, "--max-layer-ratio -1", "expected a number")
    # 2000 times: this one passes (and through launch, husk-pull is told);
    # the image has no program to run: husk-init's 127
    r = puller.launch(bomb.ref, "true", opts=("--max-layer-ratio", "2000"))
    assert r.rc == 127 and "exec true" in r.err and "bomb" not in r.err, str(r)
    assert puller.layers() == [bomb.layer_hex(0)] and len(puller.refs()) == 1
    # 0: no bound at all
    r = puller.pull(bomb.ref, "--max-layer-ratio", "0")
    assert r.rc == 0 and r.out == bomb.id + "\n", str(r)
    # a real image's layers are far from the default
    r = puller.pull(world.oci)
    assert r.rc == 0, str(r)


# --------------------------------------------------------------------------
# TLS client certificates: --cert-dir and the certs.d directories

def client_pair(dir):
    """A client certificate the CA in dir (make_ca's) signed."""
    def run(*a):
        subprocess.run(["openssl", *a], cwd=dir, check=True, capture_output=True, timeout=30)

    run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=husk test client")
    (dir / "cext").write_text("extendedKeyUsage=clientAuth\n")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "cext", "-out", "client.crt")
    return dir / "client.crt", dir / "client.key"


def certs_dir(dir, ca, pair, names=("ca.crt", "client.cert", "client.key")):
    """ca, the client's certificate and key, as certs.d lays them out."""
    dir.mkdir(parents=True, exist_ok=True)
    for src, name in zip((ca, *pair), names):
        if name:
            shutil.copy(src, dir / name)
    return dir


@pytest.fixture(scope="module")
def mtls(world):
    """A TLS registry that wants a client certificate its CA signed
    (docker-registry's http.tls.clientcas), with hk/mtls:1."""
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    d = world.tmp / "mtls-ca"
    srv = make_ca(d)
    pair = client_pair(d)
    reg = Registry(world.tmp / "mtls", tls=srv, client=pair)
    try:
        reg.ca, reg.pair = srv[2], pair
        reg.certs = certs_dir(world.tmp / "mtls-certs", reg.ca, pair)
        lay = world.img.layout(world.tmp / "mtls-layout")
        reg.ref = reg.push(f"oci:{lay}", "hk/mtls:1", "--dest-cert-dir", str(reg.certs))
        reg.image_id = world.img.id
        yield reg
    finally:
        reg.stop()


def home_env(tmp_path):
    return dict(os.environ, HOME=str(tmp_path / "home"), XDG_RUNTIME_DIR=str(tmp_path / "run"))


def test_client_certificate_from_cert_dir(puller, mtls, tmp_path):
    ref, env = mtls.ref, home_env(tmp_path)
    # the CA alone: the registry refuses the handshake
    only_ca = certs_dir(tmp_path / "ca-only", mtls.ca, mtls.pair, ("ca.crt", None, None))
    for r in (puller.pull(ref, "--cert-dir", only_ca, env=env),
              puller.launch(ref, "true", opts=("--cert-dir", only_ca), env=env)):
        one_line_error(r, ref, "client certificate")
    assert puller.refs() == [] and puller.tmp_empty()
    # podman's layout: *.crt, NAME.cert and NAME.key
    r = puller.launch(ref, opts=("--cert-dir", mtls.certs), env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    r = puller.pull(ref, "--cert-dir", mtls.certs, env=env)
    assert r.rc == 0, str(r)


@pytest.mark.parametrize("names,want", [
    (("ca.crt", "client.cert", None), "client.cert has no key client.key"),
    (("ca.crt", None, "client.key"), "client.key has no client certificate client.cert"),
])
def test_client_certificate_needs_its_key(puller, mtls, tmp_path, names, want):
    d = certs_dir(tmp_path / "half", mtls.ca, mtls.pair, names)
    r = puller.pull(mtls.ref, "--cert-dir", d, env=home_env(tmp_path))
    one_line_error(r, mtls.ref, want)


@pytest.fixture
def made_dirs():
    """Directories a test makes under /etc, removed with what they hold
    (deepest first), and only those."""
    made = []

    def make(path):
        missing = []
        p = Path(path)
        while not p.exists():
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            p.mkdir(mode=0o755)
            made.append(p)
        return Path(path)
    yield make
    for p in reversed(made):
        shutil.rmtree(p, ignore_errors=True)


@pytest.mark.parametrize("where", ["home", "/etc/containers/certs.d", "/etc/docker/certs.d"])
def test_default_certs_dirs(puller, mtls, tmp_path, made_dirs, where):
    """Without --cert-dir: ~/.config/containers/certs.d/HOST:PORT, then
    /etc/containers/certs.d/HOST:PORT, then /etc/docker/certs.d/HOST:PORT
    (the first there is), as podman and docker read them."""
    env = home_env(tmp_path)
    r = puller.pull(mtls.ref, env=env)
    one_line_error(r, mtls.ref, "certificate")
    host_dir = (tmp_path / "home/.config/containers/certs.d" / mtls.host if where == "home"
                else made_dirs(Path(where) / mtls.host))
    certs_dir(host_dir, mtls.ca, mtls.pair)
    r = puller.pull(mtls.ref, env=env)
    assert r.rc == 0, str(r)
    r = puller.launch(mtls.ref, opts=("--pull", "always"), env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)


@pytest.mark.parametrize("plant", ["others-dir", "others-parent", "dir-0777", "others-ca",
                                   "ca-link", "ca-fifo", "key-0666"])
def test_certs_dir_another_user_controls(puller, mtls, tmp_path, plant):
    """Root's pull with $HOME another user's (sudo -E): a certs.d of
    theirs would choose the CAs root trusts (theirs, for a registry they
    impersonate) and the key root proves itself with. Refused, naming
    what and why, never read (a fifo would hang the pull)."""
    env = home_env(tmp_path)
    config = tmp_path / "home/.config"
    d = certs_dir(config / "containers/certs.d" / mtls.host, mtls.ca, mtls.pair)
    want = {"others-dir": "owned by uid 65534", "others-parent": "owned by uid 65534",
            "dir-0777": "writable by others", "others-ca": "owned by uid 65534",
            "ca-link": "symbolic link", "ca-fifo": "not a regular file",
            "key-0666": "writable by others"}[plant]
    if plant == "others-dir":
        os.chown(d, 65534, 65534)
    elif plant == "others-parent":
        os.chown(config, 65534, 65534)
    elif plant == "dir-0777":
        os.chmod(d, 0o777)
    elif plant == "others-ca":
        os.chown(d / "ca.crt", 65534, 65534)
    elif plant == "ca-link":
        os.rename(d / "ca.crt", tmp_path / "elsewhere.crt")
        os.symlink(tmp_path / "elsewhere.crt", d / "ca.crt")
    elif plant == "ca-fifo":
        os.unlink(d / "ca.crt")
        os.mkfifo(d / "ca.crt")
    else:
        os.chmod(d / "client.key", 0o666)
    r = puller.pull(mtls.ref, env=env)
    one_line_error(r, mtls.ref, want)
    assert puller.refs() == [] and puller.tmp_empty()


# --------------------------------------------------------------------------
# short-name aliases: registries.conf's [aliases], the user's or the system's

SYSTEM_CONF = Path("/etc/husk/registries.conf")


def aliases(path, **names):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# husk's test\n[aliases]\n" +
                    "".join(f'  "{k}" = "{v}"  # {k}\n' for k, v in names.items()))
    return path


@pytest.fixture
def system_conf(made_dirs):
    """/etc/husk/registries.conf, the test's (skipped when the host has
    one of its own), removed after."""
    if SYSTEM_CONF.exists():
        pytest.skip("this host has an /etc/husk/registries.conf of its own")
    made_dirs(SYSTEM_CONF.parent)
    yield SYSTEM_CONF
    SYSTEM_CONF.unlink(missing_ok=True)


def test_aliases_user_file_then_system_file(puller, world, tmp_path, system_conf):
    """~/.config/husk/registries.conf when it exists (instead of the
    system's, as podman reads its own), else /etc/husk/registries.conf."""
    env = home_env(tmp_path)
    repo = world.oci.rsplit(":", 1)[0]
    other = world.docker.rsplit(":", 1)[0]
    aliases(system_conf, hksys=repo, hkuser=other)
    r = puller.launch("hksys:1", env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    aliases(tmp_path / "home/.config/husk/registries.conf", hkuser=repo)
    r = puller.pull("hkuser:1", env=env)
    assert r.rc == 0, str(r)
    names = [l.split()[0] for l in puller.hk.ok(
        "images", "--cache-dir", puller.cache).out.splitlines()[1:]]
    assert names == [repo], names  # the user's hkuser, not the system's
    # the system's file is not read at all then: hksys is docker.io's
    r = puller.launch("hksys:1", "true", opts=("--pull", "never"), env=env)
    one_line_error(r, "docker.io/library/hksys:1", "--pull never")


@pytest.mark.parametrize("text,where", [
    ('[[registry]]\nlocation = "quay.io"\n', ":2:"),
    ('[aliases]\nhkapp = "quay.io/x:3"\n', ":3:"),
    ('unqualified-search-registries = ["docker.io"]\n', ":2:"),
])
def test_aliases_file_errors_name_file_and_line(puller, world, tmp_path, text, where):
    env = home_env(tmp_path)
    conf = tmp_path / "home/.config/husk/registries.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("# more TOML than husk reads, or a bad alias\n" + text)
    for r in (puller.pull("hkapp:1", env=env), puller.launch("hkapp:1", "true", env=env)):
        one_line_error(r, f"{conf}{where}")
    assert puller.refs() == [] and puller.tmp_empty()


def test_podmans_short_names_file_reads(puller, tmp_path):
    """Debian's shortnames.conf (podman's [aliases] for the well-known
    images) is within what husk reads: copied, it works as it does for
    podman."""
    deb = Path("/etc/containers/registries.conf.d/shortnames.conf")
    if not deb.exists():
        pytest.skip("no /etc/containers/registries.conf.d/shortnames.conf")
    conf = tmp_path / "home/.config/husk/registries.conf"
    conf.parent.mkdir(parents=True)
    shutil.copy(deb, conf)
    r = puller.launch("fedora:38", "true", opts=("--pull", "never"), env=home_env(tmp_path))
    one_line_error(r, "registry.fedoraproject.org/fedora:38", "--pull never")


@pytest.mark.parametrize("plant", ["others-dir", "others-home", "conf-0666", "conf-link",
                                   "conf-fifo", "others-conf"])
def test_aliases_file_another_user_controls(puller, world, tmp_path, plant):
    """Root's launch with $HOME another user's (sudo -E): an alias of
    theirs would decide what `husk launch alpine` runs as root (their
    image, from their registry). The file is refused, naming it and why,
    never read (a fifo would hang every launch of a short name)."""
    env = home_env(tmp_path)
    home = tmp_path / "home"
    conf = aliases(home / ".config/husk/registries.conf", alpine=world.oci.rsplit(":", 1)[0])
    want = {"others-dir": "owned by uid 65534", "others-home": "owned by uid 65534",
            "conf-0666": "writable by others", "conf-link": "symbolic link",
            "conf-fifo": "not a regular file", "others-conf": "owned by uid 65534"}[plant]
    if plant == "others-dir":
        os.chown(conf.parent, 65534, 65534)
    elif plant == "others-home":
        os.chown(home, 65534, 65534)
    elif plant == "conf-0666":
        os.chmod(conf, 0o666)
    elif plant == "conf-link":
        os.rename(conf, tmp_path / "theirs.conf")
        os.symlink(tmp_path / "theirs.conf", conf)
    elif plant == "conf-fifo":
        conf.unlink()
        os.mkfifo(conf)
    else:
        os.chown(conf, 65534, 65534)
    for r in (puller.pull("alpine:1", env=env), puller.launch("alpine:1", "true", env=env)):
        one_line_error(r, "registries.conf", want)
    assert puller.refs() == [] and puller.tmp_empty()


def test_ordinary_users_aliases_and_certs(rootless, hk, mtls):
    """An ordinary user's pull reads its registries.conf and certs.d on the
    host, as the user, before its user namespace (where they would show
    as nobody's): an alias to the registry that wants a client
    certificate, the pair in ~/.config/containers/certs.d."""
    here, there = Path(HUSK).parent, Path(rootless.runtime).parent
    if there != here:  # the companions go next to the user's copy of husk
        for b in ("husk-pull", "husk-launch", "husk-init"):
            shutil.copy2(here / b, there / b)
    config = Path(rootless.home) / ".config"
    aliases(config / "husk/registries.conf", hkmtls=mtls.ref.rsplit(":", 1)[0])
    certs_dir(config / "containers/certs.d" / mtls.host, mtls.ca, mtls.pair)
    rootless.chown(config, recursive=True)
    r = rootless.call("pull", "hkmtls:1", timeout=TIMEOUT)
    assert r.rc == 0 and r.out == mtls.image_id + "\n", str(r)
    r = rootless.call("launch", "--rm", "--net", "none", "--pull", "always", "hkmtls:1",
                      timeout=TIMEOUT)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    rootless.ok("rmi", "hkmtls:1", timeout=TIMEOUT)
    assert rootless.call("image", "prune", timeout=TIMEOUT).rc == 0


# --------------------------------------------------------------------------
# husk login asks for what it is not given, on a terminal, as podman does

class Terminal:
    """husk login with a pty of its own as stdin, stdout and stderr, and
    its controlling terminal (Ctrl-C is a SIGINT); the test keeps the
    pty's slave end to see its modes after."""

    def __init__(self, argv, env):
        self.master, self.slave = os.openpty()

        def ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave,
                                     stderr=self.slave, env=env, preexec_fn=ctty)
        self.out = b""

    def read_until(self, want, timeout=20):
        end = time.monotonic() + timeout
        while want.encode() not in self.out and time.monotonic() < end:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    break
        assert want.encode() in self.out, self.out

    def type(self, text):
        os.write(self.master, text.encode())

    def finish(self):
        rc = self.proc.wait(timeout=TIMEOUT)
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.out += chunk
        return rc, self.out.decode(errors="replace")

    def echo(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def login_env(tmp_path):
    return dict(home_env(tmp_path), REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))


def stored(env, host):
    with open(env["REGISTRY_AUTH_FILE"]) as f:
        return base64.b64decode(json.load(f)["auths"][host]["auth"]).decode()


def test_login_asks_for_user_and_password(auth_world, login_env):
    """As podman: "Username: " (echoed), then "Password: " with the echo
    off, on the terminal that stdin is; the echo back on after."""
    t = Terminal([HUSK, "login", INSECURE, auth_world.host], login_env)
    try:
        t.read_until("Username: ")
        t.type("hkuser\n")
        t.read_until("Password: ")
        assert not t.echo()  # off while it is typed
        t.type("s3cret\n")
        rc, out = t.finish()
        assert rc == 0 and "Login Succeeded!" in out, out
        assert "hkuser" in out and "s3cret" not in out, out
        assert t.echo()
    finally:
        t.close()
    assert stored(login_env, auth_world.host) == "hkuser:s3cret"


def test_login_asks_for_the_password_only(auth_world, login_env):
    t = Terminal([HUSK, "login", INSECURE, "-u", "hkuser", auth_world.host], login_env)
    try:
        t.read_until("Password: ")
        t.type("wrong\n")
        rc, out = t.finish()
        assert rc == 125 and "refused" in out and "wrong" not in out, out
        assert "Username" not in out and t.echo()
    finally:
        t.close()
    assert not os.path.exists(login_env["REGISTRY_AUTH_FILE"])


def test_login_ctrl_c_at_the_password_gives_the_echo_back(auth_world, login_env):
    t = Terminal([HUSK, "login", INSECURE, "-u", "hkuser", auth_world.host], login_env)
    try:
        t.read_until("Password: ")
        t.type("s3c")
        time.sleep(0.2)
        assert not t.echo()
        t.type("\x03")  # Ctrl-C: SIGINT to husk
        rc, out = t.finish()
        assert rc == -signal.SIGINT, (rc, out)
        assert t.echo(), "the terminal was left with its echo off"
    finally:
        t.close()
    assert not os.path.exists(login_env["REGISTRY_AUTH_FILE"])


def test_login_without_a_terminal_says_so(auth_world, login_env):
    """No terminal to ask on: one line, as podman (which fails reading
    it); --password-stdin needs -u, as podman."""
    argv = [HUSK, "login", INSECURE, "-u", "hkuser", auth_world.host]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=login_env, timeout=TIMEOUT)
    assert p.returncode == 125 and p.stderr.count("\n") == 1, p
    assert "no password" in p.stderr and "terminal" in p.stderr, p
    p = subprocess.run([HUSK, "login", INSECURE, "--password-stdin", auth_world.host],
                       input="s3cret\n", capture_output=True, text=True, env=login_env,
                       timeout=TIMEOUT)
    assert p.returncode == 125 and "needs -u" in p.stderr, p
    # the user on stdin, the password from -p: no terminal needed
    p = subprocess.run([HUSK, "login", INSECURE, "-p", "s3cret", auth_world.host],
                       input="hkuser\n", capture_output=True, text=True, env=login_env,
                       timeout=TIMEOUT)
    assert p.returncode == 0 and p.stdout == "Username: Login Succeeded!\n", p
    assert stored(login_env, auth_world.host) == "hkuser:s3cret"
