"""Auth against real and fake peers: TLS + htpasswd on docker-registry, a bearer token server, and redirects that
must never carry credentials to another host."""

from __future__ import annotations

import base64
import io
import json
import urllib.parse

import pytest
import registry_fixtures as rf
from registry_fixtures import *  # noqa: F403 - the session fixtures

from tug.errors import Unauthorized, Unavailable
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.reference import parse
from tug.registry.client import RegistryClient
from tug.registry.config import RegistryConfig

BLOB = b"hello blob, " * 1000
BLOB_DESC = Descriptor(mt.OCI_LAYER, Digest.of(BLOB), len(BLOB))
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                       "config": BLOB_DESC.to_json() | {"mediaType": mt.OCI_CONFIG}, "layers": []}).encode()


def client(creds=None, **kw) -> RegistryClient:
    return RegistryClient(RegistryConfig(retries=1, max_retry_wait=2, credentials=creds or (lambda h: None), **kw),
                          sleep=lambda s: None)


def copy_image(src: RegistryClient, src_ref, dst: RegistryClient, dst_ref) -> Digest:
    """Copy one image manifest and its blobs with our own client (pull side + push side)."""
    r = src.resolve(src_ref)
    man = r.parse()
    for desc in [man.config, *man.layers]:
        data = src.fetch_blob_bytes(src_ref, desc)
        assert dst.push_blob(dst_ref, desc, lambda data=data: io.BytesIO(data)) in ("uploaded", "exists")
    return dst.push_manifest(dst_ref, r.raw, r.media_type)


# -- TLS + htpasswd on the real registry --------------------------------------------------------------------------

def test_tls_htpasswd(tls_registry, pushed_images):
    host = tls_registry.host
    ref = parse(f"{host}/copied/busybox:latest")
    good = lambda h: (rf.USER, rf.PASSWORD) if h == host else None  # noqa: E731
    bad = lambda h: (rf.USER, "wrong") if h == host else None  # noqa: E731
    ca = {host: str(tls_registry.cert)}

    # a self-signed certificate is not trusted by default, and does not turn into plain http on loopback
    with pytest.raises(Unavailable, match="certificate"):
        client(good, certs_dirs=[]).resolve(ref)
    with pytest.raises(Unauthorized, match="requires a login"):
        client(None, ca_files=ca).resolve(ref)
    with pytest.raises(Unauthorized) as e:
        client(bad, ca_files=ca).resolve(ref)
    assert "wrong" not in str(e.value) and "\n" not in str(e.value)

    src = client()
    digest = copy_image(src, parse(f"{pushed_images.registry.host}/oci/busybox:latest"), client(good, ca_files=ca),
                        ref)
    assert client(good, ca_files=ca).resolve(ref).descriptor.digest == digest
    assert client(good, insecure={host}).resolve(ref).descriptor.digest == digest
    # skopeo reads what we pushed, with the same digest
    info = rf.skopeo_inspect(f"{host}/copied/busybox:latest", False, f"--creds={rf.USER}:{rf.PASSWORD}")
    assert info["Digest"] == str(digest)

    # docker's certs.d layout works as well as ca_file
    certs = tls_registry.workdir / "certs.d"
    (certs / host).mkdir(parents=True, exist_ok=True)
    (certs / host / "ca.crt").write_bytes(tls_registry.cert.read_bytes())
    assert client(good, certs_dirs=[str(certs)]).resolve(ref).descriptor.digest == digest

    client(good, ca_files=ca).check_login(host, rf.USER, rf.PASSWORD)
    with pytest.raises(Unauthorized, match="login"):
        client(None, ca_files=ca).check_login(host, rf.USER, "nope")


# -- a bearer token server ----------------------------------------------------------------------------------------

class TokenWorld:
    """A fake registry (127.0.0.1) whose tokens come from a fake token server (localhost, another port)."""

    def __init__(self, token_field: str = "access_token", grant_scope: bool = True):
        self.token_field = token_field
        self.grant_scope = grant_scope
        self.token = rf.FakeServer(self.token_route).start()
        self.reg = rf.FakeServer(self.reg_route).start()
        self.storage = rf.FakeServer(self.storage_route).start()

    def stop(self):
        for s in (self.token, self.reg, self.storage):
            s.stop()

    @property
    def realm(self) -> str:
        return f"http://localhost:{self.token.port}/token"

    def challenge(self, scope: str | None = None) -> dict[str, str]:
        value = f'Bearer realm="{self.realm}",service="fake-registry"'
        if scope:
            value += f',scope="{scope}"'
        return {"WWW-Authenticate": value}

    def token_route(self, h, server):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
        auth = h.headers.get("Authorization")
        if auth is not None and auth != "Basic " + base64.b64encode(b"alice:right").decode():
            return rf.reply(h, 401, b'{"details":"bad credentials"}')
        scopes = q.get("scope", [])
        tok = "tok-" + ("user" if auth else "anon") + "-" + ",".join(sorted(scopes) if self.grant_scope else [])
        rf.reply(h, 200, json.dumps({self.token_field: tok, "expires_in": 300}).encode())

    def reg_route(self, h, server):
        path = urllib.parse.urlsplit(h.path).path
        if path == "/v2/":
            return rf.reply(h, 401, b"{}", self.challenge())
        repo = path.split("/")[2]
        scope = f"repository:{repo}:pull"
        if h.headers.get("Authorization", "") not in (f"Bearer tok-user-{scope}", f"Bearer tok-anon-{scope}"):
            return rf.reply(h, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', self.challenge(scope))
        if repo == "private" and "tok-anon" in h.headers["Authorization"]:
            return rf.reply(h, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', self.challenge(scope))
        if "/manifests/" in path:
            return rf.reply(h, 200, MANIFEST, {"Content-Type": mt.OCI_MANIFEST})
        if path.endswith(f"/blobs/{BLOB_DESC.digest}"):
            if repo == "redirected":
                return rf.reply(h, 307, b"", {"Location": f"http://localhost:{self.storage.port}/s/b?sig=1"})
            if repo == "samehost":
                return rf.reply(h, 307, b"", {"Location": f"/v2/{repo}/blobs/{BLOB_DESC.digest}?moved=1"}) \
                    if "moved" not in h.path else rf.reply(h, 200, BLOB)
            return rf.reply(h, 200, BLOB)
        rf.reply(h, 404, b"{}")

    def storage_route(self, h, server):
        rf.reply(h, 200, BLOB, server=server)


@pytest.fixture
def world():
    w = TokenWorld()
    yield w
    w.stop()


ALICE = lambda h: ("alice", "right")  # noqa: E731


def test_bearer_anonymous_and_cached(world):
    c = client()
    ref = parse(f"{world.reg.host}/public:latest")
    assert c.resolve(ref).raw == MANIFEST
    assert c.resolve(ref).raw == MANIFEST
    assert c.fetch_blob_bytes(ref, BLOB_DESC) == BLOB
    token_calls = world.token.requests
    assert len(token_calls) == 1  # one token for the scope, cached for the second resolve and the blob
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(token_calls[0].path).query)
    assert q["service"] == ["fake-registry"] and q["scope"] == ["repository:public:pull"]
    assert "Authorization" not in token_calls[0].headers


def test_bearer_with_credentials(world):
    c = client(ALICE)
    ref = parse(f"{world.reg.host}/private:latest")
    assert c.resolve(ref).raw == MANIFEST
    assert world.token.requests[-1].headers["Authorization"].startswith("Basic ")
    # the registry itself never sees the basic credentials, only the token
    assert not any(r.headers.get("Authorization", "").startswith("Basic") for r in world.reg.requests)


def test_bearer_token_field(world):
    world.token_field = "token"
    assert client().resolve(parse(f"{world.reg.host}/public:latest")).raw == MANIFEST


def test_bearer_wrong_credentials(world):
    with pytest.raises(Unauthorized, match="refused the credentials") as e:
        client(lambda h: ("alice", "wrong")).resolve(parse(f"{world.reg.host}/private:latest"))
    assert "wrong" not in str(e.value) and "\n" not in str(e.value)


def test_401_after_token_is_one_clear_line(world):
    with pytest.raises(Unauthorized) as e:
        client().resolve(parse(f"{world.reg.host}/private:latest"))  # anonymous token lacks access
    assert "401" in str(e.value) and "tug login" in str(e.value) and "\n" not in str(e.value)


def test_no_credentials_to_plain_http_realm_elsewhere(world):
    def route(h, server):
        rf.reply(h, 401, b"{}", {"WWW-Authenticate": 'Bearer realm="http://realm.invalid/token",service="x"'})

    with rf.FakeServer(route) as reg, pytest.raises(Unauthorized, match="plain http"):
        client(ALICE).resolve(parse(f"{reg.host}/x:latest"))


def test_redirect_to_other_host_drops_credentials(world):
    c = client(ALICE)
    ref = parse(f"{world.reg.host}/redirected:latest")
    assert c.fetch_blob_bytes(ref, BLOB_DESC) == BLOB
    assert len(world.storage.requests) == 1
    hop = world.storage.requests[0]
    assert "Authorization" not in hop.headers and "authorization" not in {k.lower() for k in hop.headers}
    # the registry did get the token on the first hop
    blob_calls = [r for r in world.reg.requests if "/blobs/" in r.path]
    assert blob_calls[-1].headers["Authorization"].startswith("Bearer tok-user")


def test_redirect_on_same_origin_keeps_token(world):
    ref = parse(f"{world.reg.host}/samehost:latest")
    assert client(ALICE).fetch_blob_bytes(ref, BLOB_DESC) == BLOB
    moved = [r for r in world.reg.requests if "moved=1" in r.path]
    assert moved and moved[0].headers["Authorization"].startswith("Bearer ")


def test_basic_registry_redirect_drops_basic(world):
    def route(h, server):
        if h.headers.get("Authorization") != "Basic " + base64.b64encode(b"alice:right").decode():
            return rf.reply(h, 401, b"{}", {"WWW-Authenticate": 'Basic realm="r"'})
        if "/blobs/" in h.path:
            return rf.reply(h, 302, b"", {"Location": f"http://localhost:{world.storage.port}/s/b"})
        rf.reply(h, 200, b"{}")

    with rf.FakeServer(route) as reg:
        assert client(ALICE).fetch_blob_bytes(parse(f"{reg.host}/x:latest"), BLOB_DESC) == BLOB
    assert world.storage.requests and all("Authorization" not in r.headers for r in world.storage.requests)
