"""Bad answers from a registry, each ending in one clear error, and a download resumed with Range after a cut."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.parse

import pytest
import registry_fixtures as rf

from tug.errors import Corrupt, Invalid, TugError, Unavailable
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.reference import parse
from tug.registry.client import RegistryClient
from tug.registry.config import RegistryConfig
from tug.registry.sink import HashingSink

SIZE = 1 << 20
BLOB = os.urandom(SIZE)
DESC = Descriptor(mt.OCI_LAYER_GZIP, Digest.of(BLOB), SIZE)
CUT = int(SIZE * 0.6)
CFG = {"mediaType": mt.OCI_CONFIG, "digest": str(DESC.digest), "size": SIZE}
GOOD = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": CFG, "layers": []}).encode()

MANIFESTS = {
    "good": (GOOD, mt.OCI_MANIFEST, {}),
    "html": (b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html", {}),
    "huge": (b'{"schemaVersion": 2, "pad": "' + b"x" * (5 << 20) + b'"}', mt.OCI_MANIFEST, {}),
    "unknown": (json.dumps({"schemaVersion": 2, "mediaType": "application/x-mystery", "config": CFG,
                            "layers": []}).encode(), "application/x-mystery", {}),
    "ambiguous": (json.dumps({"schemaVersion": 2, "config": CFG, "layers": [], "manifests": []}).encode(),
                  mt.OCI_INDEX, {}),
    "lying": (GOOD, mt.OCI_MANIFEST, {"Docker-Content-Digest": "sha256:" + "0" * 64}),
}


def route(h, server):
    st = server.state
    url = urllib.parse.urlsplit(h.path)
    path = url.path
    if path == "/v2/":
        return rf.reply(h, 200, b"{}")
    m = re.match(r"^/v2/([^/]+)/(manifests|blobs)/(.+)$", path)
    if not m:
        return rf.reply(h, 404, b"{}")
    repo, kind, _obj = m.groups()
    if kind == "manifests":
        if repo in MANIFESTS:
            body, ctype, extra = MANIFESTS[repo]
            return rf.reply(h, 200, body, {"Content-Type": ctype, **extra})
        if repo == "huge-nolength":
            h.send_response(200)
            h.send_header("Content-Type", mt.OCI_MANIFEST)
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            h.wfile.write(b'{"schemaVersion": 2, "pad": "' + b"x" * (5 << 20) + b'"}')
            return None
        if repo == "ratelimited":
            st["n"] = st.get("n", 0) + 1
            if st["n"] <= 2:
                return rf.reply(h, 429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', {"Retry-After": "1"})
            return rf.reply(h, 200, GOOD, {"Content-Type": mt.OCI_MANIFEST})
        if repo == "ratelimited-long":
            return rf.reply(h, 429, b"{}", {"Retry-After": "3600"})
        if repo == "down":
            return rf.reply(h, 503, b"{}")
        return rf.reply(h, 404, b"{}")
    # blobs
    rng = h.headers.get("Range")
    start = int(re.match(r"bytes=(\d+)-", rng).group(1)) if rng else 0
    st.setdefault("ranges", []).append(rng)
    if repo == "liar":
        return rf.reply(h, 200, bytes(SIZE), server=server)
    if repo == "truncated":
        return rf.reply(h, 200, BLOB[:-10], server=server)
    if repo == "larger":
        return rf.reply(h, 200, BLOB + b"0123456789", server=server)
    if repo == "larger-nolength":
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        server.sent += SIZE + 100_000
        h.wfile.write(BLOB + b"x" * 100_000)
        return None
    if repo in ("cut", "cut-norange"):
        if rng and repo == "cut":
            rest = BLOB[start:]
            return rf.reply(h, 206, rest, {"Content-Range": f"bytes {start}-{SIZE - 1}/{SIZE}"}, server=server)
        if st.get("cut_done"):
            return rf.reply(h, 200, BLOB, server=server)
        st["cut_done"] = True
        h.send_response(200)
        h.send_header("Content-Length", str(SIZE))
        h.end_headers()
        server.sent += CUT
        h.wfile.write(BLOB[:CUT])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)
        return None
    if repo == "good":
        if rng:
            return rf.reply(h, 206, BLOB[start:], {"Content-Range": f"bytes {start}-{SIZE - 1}/{SIZE}"},
                            server=server)
        return rf.reply(h, 200, BLOB, server=server)
    return rf.reply(h, 404, b"{}")


@pytest.fixture
def fake():
    with rf.FakeServer(route) as s:
        yield s


def client(sleeps=None, **kw) -> RegistryClient:
    cfg = RegistryConfig(retries=3, max_retry_wait=5, **kw)
    return RegistryClient(cfg, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def one_line(err: TugError) -> str:
    text = str(err)
    assert text and "\n" not in text
    return text


@pytest.mark.parametrize("repo,kind,words", [
    ("html", Invalid, "HTML page"),
    ("huge", Invalid, "byte limit"),
    ("huge-nolength", Invalid, "byte limit"),
    ("unknown", Invalid, "unknown manifest media type"),
    ("ambiguous", Invalid, "ambiguous"),
    ("lying", Corrupt, "says digest"),
    ("ratelimited-long", Unavailable, "retry after 3600s"),
    ("down", Unavailable, "unavailable (503)"),
])
def test_bad_manifests(fake, repo, kind, words):
    with pytest.raises(kind) as e:
        client().resolve(parse(f"{fake.host}/{repo}:latest"))
    assert words in one_line(e.value)


def test_429_with_retry_after_is_honoured(fake):
    sleeps: list[float] = []
    assert client(sleeps).resolve(parse(f"{fake.host}/ratelimited:latest")).raw == GOOD
    assert sleeps == [1.0, 1.0]


def test_long_retry_after_fails_at_once(fake):
    with pytest.raises(Unavailable):
        client().resolve(parse(f"{fake.host}/ratelimited-long:latest"))
    assert len([r for r in fake.requests if "/manifests/" in r.path]) == 1


@pytest.mark.parametrize("repo,words", [
    ("liar", "digest"),
    ("truncated", "truncated"),
    ("larger", "larger than its descriptor"),
    ("larger-nolength", "larger than its descriptor"),
])
def test_bad_blobs(fake, repo, words):
    written = []

    class Sink(HashingSink):
        def write(self, data):
            written.append(len(data))
            super().write(data)

    sink = Sink(DESC)
    with pytest.raises(Corrupt) as e:
        client().fetch_blob(parse(f"{fake.host}/{repo}:latest"), DESC, sink)
        sink.verify()
    assert words in one_line(e.value)
    assert sum(written) <= SIZE


@pytest.mark.parametrize("repo", ["cut", "cut-norange"])
def test_resume_after_cut(fake, repo):
    sink = HashingSink(DESC)
    received = client().fetch_blob(parse(f"{fake.host}/{repo}:latest"), DESC, sink)
    sink.verify()
    ranges = fake.state["ranges"]
    assert len(ranges) == 2 and ranges[0] is None
    assert ranges[1] is not None and int(ranges[1][6:-1]) >= CUT - 256 * 1024  # from the last byte received
    if repo == "cut":
        # the remaining 40% is all that is fetched again
        assert fake.sent <= SIZE + 256 * 1024
        assert received <= SIZE + 256 * 1024
    else:
        # a server that ignores Range sends it all again; the client drops the prefix it has
        assert sink.size == SIZE


def test_resume_from_offset_after_restart(fake):
    """A pull killed at 60% resumes where its partial file ended: the sink holds the first bytes already."""
    sink = HashingSink(DESC)
    sink.prime(BLOB[:CUT])
    client().fetch_blob(parse(f"{fake.host}/good:latest"), DESC, sink, offset=CUT)
    sink.verify()
    assert fake.state["ranges"] == [f"bytes={CUT}-"]
    assert fake.sent == SIZE - CUT


def test_parallel_failure_stops_the_others_and_joins(fake):
    import threading

    from tug.registry import progress

    events: list[progress.ProgressEvent] = []
    descs = [DESC, Descriptor(mt.OCI_LAYER, Digest.of(b"other"), 5)]
    # the same digest from repo "truncated" fails; the second blob is unknown there (404)
    with pytest.raises((Corrupt, TugError)) as e:
        client().fetch_blobs_parallel(parse(f"{fake.host}/truncated:latest"), descs, HashingSink, max_workers=2,
                                      on_event=events.append, on_complete=lambda d, s: s.verify())
    assert one_line(e.value)
    assert not [t for t in threading.enumerate() if t.name.startswith("tug-fetch")]
    assert not [ev for ev in events if ev.state == progress.DOWNLOAD_COMPLETE]


def test_store_ingest_as_sink_resumes_after_a_killed_pull(fake, tmp_path):
    """The store's resumable ingest is a sink: its partial file gives the offset, commit verifies the digest."""
    from tug.store.content import ContentStore
    from tug.store.layout import Layout

    store = ContentStore(Layout(tmp_path / "root"))
    # a first pull died at 60%: the partial file holds the bytes it got
    with store.ingest(DESC.digest, DESC.size, resume=True) as partial:
        partial.write(BLOB[:CUT])
    ingests = []

    def sink_factory(desc):
        ingests.append(store.ingest(desc.digest, desc.size, resume=True))
        return ingests[-1]

    got = client().fetch_blobs_parallel(parse(f"{fake.host}/good:latest"), [DESC], sink_factory,
                                        on_complete=lambda d, s: s.commit())
    assert got == {str(DESC.digest): SIZE - CUT}
    assert fake.state["ranges"] == [f"bytes={CUT}-"] and fake.sent == SIZE - CUT
    assert store.has(DESC.digest) and store.read(DESC.digest) == BLOB
