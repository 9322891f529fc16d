"""ADD's local archives: which files are tars to unpack (plain, gzip, bzip2, xz or zstd), and their tar stream.

docker unpacks a local source when it is a tar archive, compressed or not, and copies any other file as it is (a
`.gz` that holds no tar stays a `.gz`). The test here is the same in two steps: the compression by its magic bytes,
then the first 512 bytes after decompression must be a valid tar header (its checksum right, whatever the tar
flavour). The checks run on bytes only (`detect`), so they are tested with tables; `open_tar` gives the
decompressed stream the layer applier reads as an uncompressed tar.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

BLOCK = 512
MAGICS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def compression_of(head: bytes) -> str:
    """The compression named by the first bytes: gzip, bzip2, xz, zstd, or none."""
    for magic, name in MAGICS:
        if head.startswith(magic):
            return name
    return "none"


def tar_header_ok(block: bytes) -> bool:
    """Whether a 512-byte block is a tar header: a name, and the checksum field matching the block's sum."""
    if len(block) < BLOCK or block[0] == 0:
        return False
    field = block[148:156]
    text = field.replace(b"\x00", b" ").strip()
    try:
        stored = int(text, 8) if text else -1
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:BLOCK])
    signed = sum(b - 256 if b > 127 else b for b in block[:148]) + 8 * 32 + sum(
        b - 256 if b > 127 else b for b in block[156:BLOCK])
    return stored in (unsigned, signed)


def _decompressor(stream: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if compression == "bzip2":
        import bz2

        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if compression == "xz":
        import lzma

        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        from tug.store.streams import decompressing

        return decompressing(stream, "zstd")  # type: ignore[return-value]
    return stream


def _read_block(stream: BinaryIO) -> bytes:
    out = b""
    while len(out) < BLOCK:
        chunk = stream.read(BLOCK - len(out))
        if not chunk:
            break
        out += chunk
    return out


class _PRead(io.RawIOBase):
    """A reader of an fd from its start by offset (the fd's own position is left alone; no /proc needed)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = os.pread(self.fd, len(b), self.pos)
        b[: len(data)] = data
        self.pos += len(data)
        return len(data)


def detect(data_head: bytes, decompressed_head: bytes) -> str | None:
    """The compression of a tar archive given its first bytes and its first decompressed block; None: no tar."""
    return compression_of(data_head) if tar_header_ok(decompressed_head) else None


def archive_kind(fd: int) -> str | None:
    """For an open file: the compression of the tar archive it holds, or None when it is not one (or is corrupt)."""
    head = os.pread(fd, 8, 0)
    compression = compression_of(head)
    if compression == "none":
        return detect(head, os.pread(fd, BLOCK, 0))
    try:
        block = _read_block(_decompressor(_PRead(fd), compression))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - any decoder error means "not an archive": docker copies the file
        return None
    return detect(head, block)


def open_tar(f: BinaryIO, compression: str) -> BinaryIO:
    """The uncompressed tar stream of an archive opened at its start."""
    return _decompressor(f, compression)


def preload() -> None:
    """Import the decoders before a chroot cuts off the host's library."""
    import bz2  # noqa: F401
    import gzip  # noqa: F401
    import lzma  # noqa: F401

    try:
        from tug.store.streams import _zstd

        _zstd()
    except Exception:  # noqa: BLE001 - zstd archives are then copied as files
        pass
