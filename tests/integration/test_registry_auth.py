"""husk pull, login and logout against registries that want credentials
(issue 19): htpasswd (Basic) auth, Bearer tokens, TLS with a CA of the
tests' own, auth files in hostile places. The registries and the proxy
are test_registry.py's; nothing here reaches beyond 127.0.0.1."""
import base64
import http.client
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

from conftest import HUSK
from test_registry import (INSECURE, TIMEOUT, Proxy, Registry, one_line_error,  # noqa: F401
                           puller, world)

pytestmark = pytest.mark.husk_only

@pytest.fixture(scope="module")
def auth_world(world):
    reg = Registry(world.tmp / "auth", users={"hkuser": "s3cret"})
    try:
        lay = world.img.layout(world.tmp / "auth-layout")
        reg.ref = reg.push(f"oci:{lay}", "hk/private:1", creds="hkuser:s3cret")
        yield reg
    finally:
        reg.stop()


def authfile(path, host, user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


def test_basic_auth(puller, auth_world, tmp_path):
    ref = auth_world.ref
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    # no credentials anywhere: one line, nothing stored
    r = puller.launch(ref, "true", env=env)
    one_line_error(r, ref, "credentials")
    # wrong ones
    bad = authfile(tmp_path / "bad.json", auth_world.host, "hkuser", "wrong")
    r = puller.pull(ref, INSECURE, "--authfile", bad, env=env)
    one_line_error(r, ref, "refused")
    assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()
    # --authfile
    good = authfile(tmp_path / "good.json", auth_world.host, "hkuser", "s3cret")
    r = puller.launch(ref, opts=(INSECURE, "--authfile", good), env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    # podman's ${XDG_RUNTIME_DIR}/containers/auth.json
    authfile(tmp_path / "run" / "containers" / "auth.json", auth_world.host, "hkuser", "s3cret")
    r = puller.launch(ref, opts=(INSECURE, "--pull", "always"), env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)


def make_ca(dir):
    """A CA of the test's own and a certificate for 127.0.0.1 it signed:
    (cert, key, ca cert)."""
    dir.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*a):
        subprocess.run(["openssl", *a], cwd=dir, check=True, capture_output=True, timeout=30)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
        "-subj", "/CN=husk test CA")
    run("req", "-new", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (dir / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "ext", "-out", "srv.crt")
    return dir / "srv.crt", dir / "srv.key", dir / "ca.crt"


@pytest.fixture(scope="module")
def ca(world):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    return make_ca(world.tmp / "ca")


@pytest.fixture(scope="module")
def tls_world(world, ca):
    tls = ca
    reg = Registry(world.tmp / "tls", tls=tls)
    try:
        lay = world.img.layout(world.tmp / "tls-layout")
        reg.ref = reg.push(f"oci:{lay}", "hk/tls:1")
        reg.ca = tls[2]
        yield reg
    finally:
        reg.stop()


def test_tls(puller, tls_world, tmp_path):
    ref = tls_world.ref
    # a CA no one trusts: one line, and no falling back to plain http
    r = puller.launch(ref, "true")
    one_line_error(r, ref, "certificate")
    assert puller.refs() == [] and puller.tmp_empty()
    # --cert-dir with the CA (podman's *.crt)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tls_world.ca, certs / "ca.crt")
    r = puller.launch(ref, opts=("--cert-dir", certs))
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    # --tls-verify=false: https, unchecked
    r = puller.pull(ref, "--tls-verify=false")
    assert r.rc == 0, str(r)
    assert len(puller.refs()) == 1 and puller.tmp_empty()


def test_login_logout(puller, auth_world, tmp_path):
    host, ref = auth_world.host, auth_world.ref
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    default = tmp_path / "run" / "containers" / "auth.json"
    hk = puller.hk
    r = hk.call("login", INSECURE, "-u", "hkuser", "-p", "wrong", host, env=env, timeout=TIMEOUT)
    one_line_error(r, host, "refused")
    assert not default.exists()
    # podman's default file, from stdin
    argv = [HUSK, "login", INSECURE, "-u", "hkuser", "--password-stdin", host]
    p = subprocess.run(argv, input="s3cret\n", capture_output=True, text=True, env=env,
                       timeout=TIMEOUT)
    assert p.returncode == 0 and p.stdout == "Login Succeeded!\n", p
    assert default.stat().st_mode & 0o777 == 0o600
    assert json.loads(default.read_text())["auths"][host]["auth"] == \
        base64.b64encode(b"hkuser:s3cret").decode()
    r = puller.launch(ref, opts=(INSECURE,), env=env)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    # --authfile, an entry of another registry kept
    other = authfile(tmp_path / "a.json", "other.example", "x", "y")
    hk.ok("login", INSECURE, "--authfile", other, "-u", "hkuser", "-p", "s3cret", host, env=env,
          timeout=TIMEOUT)
    assert sorted(json.loads(other.read_text())["auths"]) == [host, "other.example"]
    r = hk.ok("logout", "--authfile", other, host, env=env)
    assert r.out == f"Removed login credentials for {host}\n"
    assert sorted(json.loads(other.read_text())["auths"]) == ["other.example"]
    r = hk.call("logout", "--authfile", other, host, env=env)
    one_line_error(r, host, "not logged in")
    hk.ok("logout", "--all", env=env)
    assert json.loads(default.read_text())["auths"] == {}
    r = puller.launch(ref, opts=("--pull", "always"), env=env)
    one_line_error(r, ref, "credentials")


def test_login_bearer(puller, world, tmp_path):
    with Proxy(world.reg.host, bearer=("tokuser", "tokpass")) as proxy:
        f = tmp_path / "auth.json"
        r = puller.hk.call("login", INSECURE, "--authfile", f, "-u", "tokuser", "-p", "nope", proxy.host,
                           timeout=TIMEOUT)
        one_line_error(r, proxy.host, "refused")
        puller.hk.ok("login", INSECURE, "--authfile", f, "-u", "tokuser", "-p", "tokpass", proxy.host,
                     timeout=TIMEOUT)
        assert proxy.scopes[-1] == (["hk-test"], None)  # a token for no repository
        r = puller.pull(proxy.host + "/hk/oci:1", INSECURE, "--authfile", f)
        assert r.rc == 0, str(r)


def test_expired_token_renewed(puller, world):
    """A token good for 2 requests: the manifest, the config and two
    layers (at once) need a new one on the way."""
    with Proxy(world.reg.host, bearer="anonymous", token_uses=2) as proxy:
        r = puller.pull(proxy.host + "/hk/oci:1")
        assert r.rc == 0, str(r)
        assert proxy.issued >= 2
    assert len(puller.layers()) == 2 and puller.tmp_empty()


def test_bearer_over_tls_and_a_clear_realm(puller, world, ca, tmp_path):
    """Credentials go to the token realm: over https from an https
    registry, never to a plain http realm it names."""
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(ca[2], certs / "ca.crt")
    creds = ("tokuser", "tokpass")
    with Proxy(world.reg.host, bearer=creds, tls=ca) as proxy:
        f = authfile(tmp_path / "a.json", proxy.host, *creds)
        r = puller.pull(proxy.host + "/hk/oci:1", "--authfile", f, "--cert-dir", certs)
        assert r.rc == 0, str(r)
    with Proxy(world.reg.host, bearer=creds, tls=ca, realm_scheme="http") as proxy:
        f = authfile(tmp_path / "b.json", proxy.host, *creds)
        ref = proxy.host + "/hk/docker:1"
        r = puller.pull(ref, "--authfile", f, "--cert-dir", certs)
        one_line_error(r, ref, "plain http")
        assert proxy.scopes == []


# -- a hostile registry (outside attack on husk pull: F2-F5) --

def test_token_that_would_split_the_header_refused(puller, world):
    """A token server's token with CR LF in it would end the Authorization
    line and start a header of its choosing: refused, nothing sent."""
    with Proxy(world.reg.host, bearer="anonymous", token="tok\r\nX-Injected: 1") as proxy:
        r = puller.pull(proxy.host + "/hk/oci:1")
        one_line_error(r, "no header value")
        assert "x-injected" not in proxy.seen
    assert puller.refs() == [] and puller.layers() == [] and puller.tmp_empty()


def test_trickled_manifest_times_out(puller, world):
    """A manifest sent a byte at a time never ends: the pull gives up after
    HUSK_PULL_TIMEOUT seconds, not never."""
    env = dict(os.environ, HUSK_PULL_TIMEOUT="2")
    with Proxy(world.reg.host, trickle=True) as proxy:
        t0 = time.monotonic()
        r = puller.pull(proxy.host + "/hk/oci:1", env=env)
        took = time.monotonic() - t0
        one_line_error(r, "/manifests/1", "not answered whole within 2 s")
        assert took < 15, took
    assert puller.refs() == [] and puller.tmp_empty()


@pytest.mark.parametrize("value", ["0", "abc", "90000", ""])
def test_pull_timeout_must_be_seconds(puller, world, value):
    r = puller.pull(world.oci, env=dict(os.environ, HUSK_PULL_TIMEOUT=value))
    one_line_error(r, f"HUSK_PULL_TIMEOUT={value}", "1 to 86400")


def test_slow_registry_cannot_hold_up_another_pull(puller, world):
    """A hostile (or slow) registry serves the layer another image shares
    and holds the cache's lock of that layer while it stalls: an honest
    pull of that layer waits HUSK_PULL_TIMEOUT, says so, then fetches it
    itself; the stalled pull, ended, leaves nothing the next pull keeps."""
    layer = "sha256:" + world.img.layer_hex(0)
    with Proxy(world.reg.host, delay=40, slow=[layer]) as proxy:
        argv = [HUSK, "pull", "--cache-dir", str(puller.cache), proxy.host + "/hk/oci:1"]
        stalled = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            until = time.monotonic() + 20
            while proxy.active < 1 and time.monotonic() < until:
                time.sleep(0.05)
            assert proxy.active == 1
            t0 = time.monotonic()
            r = puller.pull(world.oci, env=dict(os.environ, HUSK_PULL_TIMEOUT="2"))
            took = time.monotonic() - t0
            assert r.rc == 0 and r.out == world.img.id + "\n", str(r)
            assert "another pull or launch is fetching this layer" in r.err, str(r)
            assert 2 <= took < 20, took
            assert stalled.poll() is None  # still stalled
        finally:
            stalled.kill()
            stalled.wait()
    assert len(puller.refs()) == 1 and len(puller.layers()) == 2
    r = puller.launch(world.oci)
    assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
    r = puller.pull(world.oci)  # clears what the killed pull left
    assert r.rc == 0 and puller.tmp_empty(), os.listdir(puller.cache / "tmp")


def test_auth_file_that_is_a_fifo_refused(puller, world, tmp_path):
    """podman's default auth file a fifo (a read would block forever): the
    pull says so at once."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    (tmp_path / "run" / "containers").mkdir(parents=True)
    os.mkfifo(tmp_path / "run" / "containers" / "auth.json")
    r = puller.pull(world.oci, env=env)
    one_line_error(r, "auth.json", "not a regular file")
    f = tmp_path / "named.json"
    os.mkfifo(f)
    r = puller.pull(world.oci, "--authfile", str(f), env=env)
    one_line_error(r, "named.json", "not a regular file")


@pytest.mark.parametrize("plant", ["linked-dir", "linked-file", "others-dir"])
def test_auth_file_in_a_place_another_user_controls(puller, auth_world, tmp_path, plant):
    """$XDG_RUNTIME_DIR/containers (or its auth.json) planted by another
    user: a link to where they want root's credentials written, or their
    directory: login refuses and writes nothing; a pull refuses to read."""
    host = auth_world.host
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    run.mkdir()
    elsewhere.mkdir()
    os.chown(elsewhere, 65534, 65534)
    if plant == "linked-dir":
        os.symlink(elsewhere, run / "containers")
    elif plant == "linked-file":
        (run / "containers").mkdir()
        os.symlink(elsewhere / "auth.json", run / "containers" / "auth.json")
        authfile(elsewhere / "auth.json", host, "hkuser", "s3cret")
    else:
        (run / "containers").mkdir()
        os.chown(run / "containers", 65534, 65534)
    before = sorted(os.listdir(elsewhere))
    r = puller.hk.call("login", INSECURE, "-u", "hkuser", "-p", "s3cret", host, env=env,
                       timeout=TIMEOUT)
    one_line_error(r, "auth")
    assert sorted(os.listdir(elsewhere)) == before
    if plant != "linked-dir":
        assert not os.path.islink(run / "containers" / "auth.json") or plant == "linked-file"
    r = puller.pull(auth_world.ref, env=env)
    one_line_error(r, "auth")
    assert puller.refs() == []


@pytest.mark.parametrize("name", ["quay.io/team", "a b", "host:port", "-x", "evil\nhost",
                                  "127.0.0.1:5000/../../x"])
def test_login_wants_a_registry_name(puller, tmp_path, name):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    r = puller.hk.call("login", "-u", "u", "-p", "p", "--", name, env=env, timeout=TIMEOUT)
    assert r.rc == 125 and "expected HOST[:PORT]" in r.err, str(r)
    assert not (tmp_path / "run").exists()


def test_credentials_never_go_to_a_realm_a_redirect_target_names(puller, world, tmp_path):
    """Outside attack on pulls, F4: the registry redirects a blob to
    another host (a CDN, a mirror's upstream), which answers 401 with a
    Bearer challenge of its own: husk "renewed" its token there and sent
    the registry's credentials to that realm. Only the registry's own
    challenges get a token now; the pull fails instead."""
    with Proxy(world.reg.host, bearer=("other", "x")) as cdn:
        with Proxy(world.reg.host, bearer=("tokuser", "tokpass"),
                   redirect="http://" + cdn.host + "{}") as reg:
            f = authfile(tmp_path / "a.json", reg.host, "tokuser", "tokpass")
            r = puller.pull(reg.host + "/hk/oci:1", INSECURE, "--authfile", f)
            assert r.rc == 125 and "401" in r.err, str(r)
            assert reg.issued >= 1
        stolen = base64.b64encode(b"tokuser:tokpass").decode()
        assert all(stolen not in (a or "") for a in cdn.token_auths), cdn.token_auths
        assert cdn.issued == 0
    assert puller.refs() == [] and puller.tmp_empty()


def test_what_a_killed_rmi_left_goes_with_the_next_pull(puller, world):
    """Outside attack on pulls, F8: an rmi killed half-way left
    CACHE/tmp/rmi.PID for ever. rmi flocks it while it removes; the next
    pull's sweep removes one nobody holds."""
    assert puller.pull(world.oci).rc == 0
    left = puller.cache / "tmp" / "rmi.99999999"
    (left / "blobs").mkdir(parents=True)
    (left / "index.json").write_text("{}")
    assert puller.pull(world.oci).rc == 0
    assert not left.exists() and puller.tmp_empty()
    r = puller.hk.call("rmi", "--cache-dir", puller.cache, world.oci, timeout=TIMEOUT)
    assert r.rc == 0 and puller.refs() == [], str(r)


def test_credentials_not_sent_over_implicit_plain_http(puller, auth_world, tmp_path):
    """Outside attack on pulls, F6: a registry on the loopback is tried
    with https, then plain http (docker's rule); a local user listening on
    the port when https fails got root's credentials. They go over plain
    http only with --tls-verify=false now; an anonymous pull still falls
    back."""
    f = authfile(tmp_path / "a.json", auth_world.host, "hkuser", "s3cret")
    r = puller.pull(auth_world.ref, "--authfile", f)
    one_line_error(r, "credentials go over plain http only with --tls-verify=false")
    r = puller.pull(auth_world.ref, INSECURE, "--authfile", f)
    assert r.rc == 0, str(r)


def test_loopback_registry_never_through_a_proxy(puller, world):
    """Outside attack on pulls, F7: with http_proxy set, a loopback
    registry was reached through the proxy (which then served the image,
    and got the credentials). The loopback is never proxied, whatever
    no_proxy says (Go's rule, as docker and podman have it)."""
    hits = []

    class Trap(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    trap = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    t = threading.Thread(target=trap.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{trap.server_address[1]}"
        env = dict(os.environ, http_proxy=url, https_proxy=url, HTTP_PROXY=url,
                   HTTPS_PROXY=url, no_proxy="example.invalid")
        r = puller.pull(world.oci, env=env)
        assert r.rc == 0, str(r)
        assert hits == []
    finally:
        trap.shutdown()
        trap.server_close()


@pytest.mark.parametrize("who", ["anonymous", "credentials"])
def test_bearer_token(puller, world, tmp_path, who):
    bearer = "anonymous" if who == "anonymous" else ("tokuser", "tokpass")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), HOME=str(tmp_path))
    with Proxy(world.reg.host, bearer=bearer) as proxy:
        ref = proxy.host + "/hk/oci:1"
        opts = ()
        if who == "credentials":
            r = puller.launch(ref, "true", env=env)
            one_line_error(r, ref, "refused an anonymous pull")
            opts = (INSECURE, "--authfile", authfile(tmp_path / "a.json", proxy.host, *bearer))
        r = puller.launch(ref, opts=opts, env=env)
        assert r.rc == 0 and r.out == "hello from amd64\n", str(r)
        assert proxy.scopes[-1] == (["hk-test"], ["repository:hk/oci:pull"])
