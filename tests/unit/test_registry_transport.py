"""Transport decisions with a recording fake in place of the network: schemes, redirects, retries, auth headers."""

from __future__ import annotations

import pytest

from tug.errors import Unauthorized, Unavailable
from tug.registry.config import RegistryConfig
from tug.registry.transport import Transport, safe_url


class Resp:
    def __init__(self, status=200, headers=None, data=b""):
        self.status, self.headers, self.data = status, headers or {}, data
        self.closed = True

    def drain_conn(self):
        pass

    def release_conn(self):
        pass

    def close(self):
        pass

    def read(self, amt=None):
        return b""


def fake(transport: Transport, answer):
    calls = []

    def raw(method, url, headers, body=None, *, host, preload=True):
        calls.append((method, url, dict(headers)))
        return answer(method, url, headers)

    transport.raw = raw  # type: ignore[method-assign]
    return calls


def no_tls(url):
    err = Unavailable(f"TLS with {url} failed")
    err.no_tls = True
    return err


def test_loopback_falls_back_to_http_only_when_tls_is_not_spoken():
    t = Transport(RegistryConfig())

    def answer(method, url, headers):
        if url.startswith("https:"):
            raise no_tls(url)
        return Resp(200)

    calls = fake(t, answer)
    assert t.base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert [c[1] for c in calls] == ["https://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/v2/"]


def test_other_hosts_are_never_downgraded():
    t = Transport(RegistryConfig())
    calls = fake(t, lambda m, url, h: (_ for _ in ()).throw(no_tls(url)))
    with pytest.raises(Unavailable):
        t.base_url("registry.example")
    assert [c[1] for c in calls] == ["https://registry.example/v2/"]


def test_certificate_errors_never_become_http():
    t = Transport(RegistryConfig())
    calls = fake(t, lambda m, url, h: (_ for _ in ()).throw(Unavailable("TLS certificate of x does not verify")))
    with pytest.raises(Unavailable, match="certificate"):
        t.base_url("127.0.0.1:5000")
    assert len(calls) == 1


def test_explicit_plain_http():
    t = Transport(RegistryConfig(plain_http={"reg.example:5000"}))
    calls = fake(t, lambda m, url, h: Resp(200))
    assert t.base_url("reg.example:5000") == "http://reg.example:5000"
    assert len(calls) == 1


def basic_world(location: str):
    def answer(method, url, headers):
        if url.endswith("/v2/"):
            return Resp(401, {"WWW-Authenticate": 'Basic realm="r"'})
        if "/blobs/" in url:
            return Resp(307, {"Location": location})
        return Resp(200, data=b"ok")

    return answer


@pytest.mark.parametrize("location,keeps", [
    ("https://storage.example/b?X-Amz-Signature=1", False),
    ("https://reg.example:443/other", True),
    ("/relative/on/same/host", True),
    ("https://reg.example:8443/other-port", False),
    ("http://reg.example/downgraded", None),
])
def test_redirects(location, keeps):
    t = Transport(RegistryConfig(credentials=lambda h: ("u", "p")))
    calls = fake(t, basic_world(location))
    if keeps is None:
        with pytest.raises(Unavailable, match="https to plain http"):
            t.request("GET", "reg.example", "/v2/r/blobs/sha256:x", scopes=[])
        return
    resp = t.request("GET", "reg.example", "/v2/r/blobs/sha256:x", scopes=[])
    assert resp.data == b"ok"
    first, last = calls[-2], calls[-1]
    assert first[2]["Authorization"].startswith("Basic ")
    assert ("Authorization" in last[2]) is keeps


def test_retry_after_bounded_and_counted():
    sleeps = []
    t = Transport(RegistryConfig(retries=2, max_retry_wait=10), sleep=sleeps.append)
    fake(t, lambda m, url, h: Resp(200) if url.endswith("/v2/") else Resp(503, {"Retry-After": "2"}))
    with pytest.raises(Unavailable, match="gave up after 3 attempts"):
        t.request("GET", "reg.example", "/v2/x/manifests/latest", scopes=[])
    assert sleeps == [2.0, 2.0]


def test_basic_without_credentials_is_unauthorized():
    t = Transport(RegistryConfig())
    fake(t, lambda m, url, h: Resp(401, {"WWW-Authenticate": 'Basic realm="r"'}))
    with pytest.raises(Unauthorized, match="requires a login"):
        t.request("GET", "reg.example", "/v2/x/manifests/latest", scopes=[])


def test_safe_url_hides_query_and_userinfo():
    assert safe_url("https://u:p@s.example/b?sig=secret") == "https://s.example/b"


def test_reprs_hold_no_secrets():
    t = Transport(RegistryConfig(credentials=lambda h: ("user", "hunter2")))
    fake(t, lambda m, url, h: Resp(401, {"WWW-Authenticate": 'Basic realm="r"'}) if url.endswith("/v2/")
         else Resp(200))
    t.request("GET", "reg.example", "/v2/x/manifests/latest", scopes=[])
    assert "hunter2" not in repr(t) and "hunter2" not in repr(t.auth) and "hunter2" not in repr(t.config)
