"""`tug pull` unpacks a layer while it downloads, and publishes nothing unless the whole blob is verified.

A fake registry serves a one-layer image. It can hold back the second half of the layer until the first file of the
layer has content in the snapshot being made (proving the overlap without timing anything), or send other bytes than
the manifest names, or a layer with an escaping entry.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import zlib
from pathlib import Path

import pytest
import registry_fixtures as rf

from tug.engine.engine import Engine
from tug.engine.pull import pull
from tug.errors import Corrupt, Invalid
from tug.oci import mediatypes as mt
from tug.oci.digest import Digest

FIRST = os.urandom(3 << 20)  # larger than the unpacker's read-ahead chunk (the gzip reader fills one before it answers)
SECOND = b"second file\n" * 20_000


def _tar(entries: list[tuple[str, bytes]]) -> list[bytes]:
    """A tar as pieces, one per entry (the end-of-archive blocks in the last)."""
    import io
    import tarfile

    pieces = []
    for name, data in entries:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mtime = 1_600_000_000
        pieces.append(ti.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * (-len(data) % 512))
    pieces[-1] += b"\0" * 1024
    with tarfile.open(fileobj=io.BytesIO(b"".join(pieces))) as tf:
        assert tf.getnames() == [n for n, _ in entries]
    return pieces


def _gzip(pieces: list[bytes], level: int = 6) -> tuple[bytes, int]:
    """gzip of the pieces, flushed after the first so it decompresses alone; returns (blob, end of that flush)."""
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    first = c.compress(pieces[0]) + c.flush(zlib.Z_SYNC_FLUSH)
    rest = b"".join(c.compress(p) for p in pieces[1:]) + c.flush()
    return first + rest, len(first)


def _image(raw: bytes, blob: bytes) -> dict[str, tuple[bytes, str]]:
    layer = {"mediaType": mt.OCI_LAYER_GZIP, "digest": str(Digest.of(blob)), "size": len(blob)}
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [str(Digest.of(raw))]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": {"mediaType": mt.OCI_CONFIG, "digest": str(Digest.of(config)),
                                      "size": len(config)},
                           "layers": [layer]}).encode()
    return {"manifest": (manifest, mt.OCI_MANIFEST), "config": (config, mt.OCI_CONFIG), "layer": (blob, "x")}


class Registry:
    """Serves one image; the layer's body is `served` (default: the real blob), sent in two parts at `cut`."""

    def __init__(self, image: dict[str, tuple[bytes, str]], served: bytes | None = None, cut: int = 0,
                 wait_for: Path | None = None) -> None:
        self.image = image
        self.served = served if served is not None else image["layer"][0]
        self.cut = cut
        self.wait_for = wait_for  # a store root: hold the rest until the first file appears in a snapshot
        self.saw_first_file = False

    def route(self, h, server) -> None:  # noqa: ANN001
        path = urllib.parse.urlsplit(h.path).path
        if path == "/v2/":
            return rf.reply(h, 200, b"{}")
        if path.startswith("/v2/img/manifests/"):
            body, ctype = self.image["manifest"]
            return rf.reply(h, 200, body, {"Content-Type": ctype})
        digest = path.rsplit("/", 1)[-1]
        if digest == str(Digest.of(self.image["config"][0])):
            return rf.reply(h, 200, self.image["config"][0])
        if digest != str(Digest.of(self.image["layer"][0])):
            return rf.reply(h, 404, b"{}")
        h.send_response(200)
        h.send_header("Content-Length", str(len(self.served)))
        h.end_headers()
        h.wfile.write(self.served[:self.cut])
        h.wfile.flush()
        if self.wait_for is not None:
            self.saw_first_file = _wait_for_first_file(self.wait_for)
        h.wfile.write(self.served[self.cut:])
        h.wfile.flush()
        return None


def _wait_for_first_file(root: Path) -> bool:
    for _ in range(400):  # up to 20 s; the pull under test writes it at once
        for f in (root / "snapshots").glob(".tmp-*/fs/first"):
            if f.stat().st_size > 0:
                return True
        time.sleep(0.05)
    return False


def _leftovers(root: Path) -> list[str]:
    snaps = root / "snapshots"
    return sorted(p.name for p in snaps.iterdir() if p.name != "l") if snaps.exists() else []


def test_layer_is_unpacked_while_it_downloads(tmp_path):
    pieces = _tar([("first", FIRST), ("second", SECOND)])
    blob, cut = _gzip(pieces)
    raw = b"".join(pieces)
    eng = Engine(tmp_path / "root", tmp_path / "run")
    reg = Registry(_image(raw, blob), cut=cut, wait_for=eng.root)
    with rf.FakeServer(reg.route) as server:
        res = pull(eng, f"{server.host}/img:latest")
    assert reg.saw_first_file, "the first file was not written before the rest of the layer was sent"
    snap = eng.snapshots.path(Digest.of(raw))
    assert (snap / "first").read_bytes() == FIRST and (snap / "second").read_bytes() == SECOND
    assert eng.content.has(Digest.of(blob))
    assert res.downloaded


def test_other_bytes_than_the_digest_names_leave_nothing(tmp_path):
    pieces = _tar([("first", FIRST), ("second", SECOND)])
    raw = b"".join(pieces)
    blob, _ = _gzip(pieces, level=0)  # stored deflate blocks: a flipped byte still decompresses
    bad = bytearray(blob)
    bad[len(blob) // 2] ^= 0xFF
    eng = Engine(tmp_path / "root", tmp_path / "run")
    with rf.FakeServer(Registry(_image(raw, blob), served=bytes(bad)).route) as server, \
            pytest.raises(Corrupt, match="digest"):
        pull(eng, f"{server.host}/img:latest")
    assert _leftovers(eng.root) == []
    assert not eng.content.has(Digest.of(blob))
    assert eng.metadata.list_layers() == []


def test_escaping_entry_in_a_verified_blob_leaves_no_snapshot(tmp_path):
    pieces = _tar([("first", FIRST), ("../escape", b"x")])
    raw = b"".join(pieces)
    blob, cut = _gzip(pieces)
    eng = Engine(tmp_path / "root", tmp_path / "run")
    with rf.FakeServer(Registry(_image(raw, blob), cut=cut).route) as server, pytest.raises(Invalid, match=r"\.\."):
        pull(eng, f"{server.host}/img:latest")
    assert _leftovers(eng.root) == []
    assert not (tmp_path / "root" / "escape").exists() and not (tmp_path / "escape").exists()
    assert eng.metadata.list_layers() == []
