"""ADD's archive test: compression by magic bytes, then a valid tar header after decompression (else: a plain file)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile

import pytest

from tug.engine.build.archive import archive_kind, compression_of, open_tar, tar_header_ok


def _tar(fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        ti = tarfile.TarInfo("dir/a.txt")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"A\n"))
    return buf.getvalue()


def _zstd(data: bytes) -> bytes:
    from tug.store.streams import _zstd as z

    return z().compress(data)


TAR = _tar()
CASES = [
    ("plain tar", TAR, "none"),
    ("gnu tar", _tar(tarfile.GNU_FORMAT), "none"),
    ("v7 tar (no ustar magic)", _tar(tarfile.USTAR_FORMAT)[:257] + bytes(6) + _tar(tarfile.USTAR_FORMAT)[263:],
     None),  # the checksum no longer matches once the magic is blanked
    ("tar.gz", gzip.compress(TAR), "gzip"),
    ("tar.bz2", bz2.compress(TAR), "bzip2"),
    ("tar.xz", lzma.compress(TAR), "xz"),
    ("tar.zst", _zstd(TAR), "zstd"),
    ("text file", b"hello world\n" * 100, None),
    ("gzip of text", gzip.compress(b"not a tar\n" * 100), None),
    ("bzip2 of text", bz2.compress(b"not a tar\n" * 100), None),
    ("xz of text", lzma.compress(b"not a tar\n" * 100), None),
    ("corrupt gzip", b"\x1f\x8b" + os.urandom(600), None),
    ("truncated xz", lzma.compress(TAR)[:20], None),
    ("empty", b"", None),
    ("zero block", bytes(1024), None),
]


@pytest.mark.parametrize("name,data,want", CASES, ids=[c[0] for c in CASES])
def test_archive_kind(tmp_path, name, data, want):
    p = tmp_path / "f"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        assert archive_kind(fd) == want
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # the caller's offset is left alone
    finally:
        os.close(fd)


@pytest.mark.parametrize("head,want", [(b"\x1f\x8b\x08", "gzip"), (b"BZh91", "bzip2"), (b"\xfd7zXZ\x00\x00", "xz"),
                                       (b"\x28\xb5\x2f\xfd", "zstd"), (b"ustar", "none"), (b"", "none")])
def test_compression_of(head, want):
    assert compression_of(head) == want


def test_tar_header_checksum():
    block = TAR[:512]
    assert tar_header_ok(block)
    broken = bytearray(block)
    broken[0] ^= 1
    assert not tar_header_ok(bytes(broken))
    assert not tar_header_ok(block[:100])


@pytest.mark.parametrize("compress,kind", [(bz2.compress, "bzip2"), (lzma.compress, "xz"), (gzip.compress, "gzip")])
def test_open_tar_gives_the_tar_stream(compress, kind):
    stream = open_tar(io.BytesIO(compress(TAR)), kind)
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        assert [m.name for m in tf] == ["dir/a.txt"]
