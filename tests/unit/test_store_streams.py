"""Layer streams: gzip members and zstd frames decompress in sequence; the hash covers every byte read."""

from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from tug.errors import Invalid
from tug.store.layers import decompressed
from tug.store.streams import HashingReader, decompressing

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

DATA = bytes(range(256)) * 4096


@pytest.mark.parametrize(("compression", "blob"), [
    ("none", DATA),
    ("gzip", gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:])),
    ("zstd", zstd.compress(DATA[:1000]) + zstd.compress(DATA[1000:])),
])
def test_decompressed_reads_everything(compression, blob):
    with decompressed(io.BytesIO(blob), compression) as r:
        h = HashingReader(r)
        first = h.read(10)
        h.drain(chunk=4096)
    assert first == DATA[:10]
    assert h.count == len(DATA)
    assert h.hexdigest() == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize(("compression", "blob"), [
    ("gzip", gzip.compress(DATA)[:-20]),
    ("gzip", b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate at all"),
    ("zstd", zstd.compress(DATA)[:-20]),
    ("zstd", b"\x28\xb5\x2f\xfd" + b"junk" * 10),
])
def test_corrupt_compressed_streams_are_invalid(compression, blob):
    with pytest.raises(Invalid), decompressed(io.BytesIO(blob), compression) as r:
        while r.read(1 << 16):
            pass


def test_unknown_compression():
    with pytest.raises(Invalid):
        decompressing(io.BytesIO(b""), "lz4")
