"""Readable streams for layers: decompression (gzip via zlib, zstd) and a reader that hashes what passes through."""

from __future__ import annotations

import gzip
import hashlib
from typing import BinaryIO, Protocol

from tug.errors import Invalid

COMPRESSIONS = ("none", "gzip", "zstd")
ZSTD_WINDOW_LOG_MAX = 27  # 128 MiB, zstd's own default limit: a frame asking for more is refused


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _zstd():  # noqa: ANN202 - a module
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python >= 3.14
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    return zstd


def decompressing(stream: BinaryIO, compression: str) -> Readable:
    """A reader of the uncompressed bytes (multi-member gzip and multi-frame zstd included)."""
    if compression == "none":
        return stream
    if compression == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if compression == "zstd":
        zstd = _zstd()
        opts = {zstd.DecompressionParameter.window_log_max: ZSTD_WINDOW_LOG_MAX}
        return zstd.ZstdFile(stream, mode="rb", options=opts)
    raise Invalid(f"unknown layer compression {compression!r}", hint="expected none, gzip or zstd")


def decompress_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a corrupt compressed stream raises while being read."""
    import zlib

    return (gzip.BadGzipFile, zlib.error, EOFError, _zstd().ZstdError)


class HashingReader:
    """Passes reads through and keeps the sha256 and byte count of everything read."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._inner.read(n)
        if data:
            self._hash.update(data)
            self.count += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end, so the hash covers the tar's trailing blocks that tarfile leaves unread."""
        while self.read(chunk):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
