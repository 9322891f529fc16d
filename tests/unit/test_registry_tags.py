"""RegistryClient.list_tags: the tags/list endpoint, its `Link: <...>; rel="next"` pages and bad answers."""

from __future__ import annotations

import io
import json

import pytest

from tug.errors import Invalid, NotFound
from tug.oci import reference
from tug.registry.client import RegistryClient


class _Resp:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.headers, self._body, self.closed = status, headers, io.BytesIO(body), False

    def read(self, n: int) -> bytes:
        return self._body.read(n)

    def drain_conn(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


class _Transport:
    def __init__(self, pages: dict[str, tuple[int, bytes, dict[str, str]]]) -> None:
        self.pages, self.asked = pages, []

    def request(self, method, host, path, **_kw):  # noqa: ANN001, ANN003, ANN201 - the transport's shape
        self.asked.append((method, path))
        return _Resp(*self.pages[path])


def _client(pages):
    c = RegistryClient()
    c.transport = _Transport(pages)
    return c


def test_tags_follow_next_links():
    first = "/v2/library/busybox/tags/list?n=1000"
    c = _client({
        first: (200, json.dumps({"name": "library/busybox", "tags": ["1", "2"]}).encode(),
                {"Link": '</v2/library/busybox/tags/list?last=2&n=1000>; rel="next"'}),
        "/v2/library/busybox/tags/list?last=2&n=1000": (200, b'{"tags": ["3", 4]}', {}),
    })
    assert c.list_tags(reference.parse("busybox")) == ["1", "2", "3"]
    assert [p for _, p in c.transport.asked] == [first, "/v2/library/busybox/tags/list?last=2&n=1000"]


def test_tags_errors():
    path = "/v2/library/x/tags/list?n=1000"
    with pytest.raises(Invalid, match="not a JSON tag list"):
        _client({path: (200, b"[1, 2]", {})}).list_tags(reference.parse("x"))
    with pytest.raises(NotFound):
        _client({path: (404, b'{"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}',
                        {"Content-Type": "application/json"})}).list_tags(reference.parse("x"))
