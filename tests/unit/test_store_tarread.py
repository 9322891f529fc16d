"""FastTarInfo.frombuf decodes every header exactly as tarfile's TarInfo.frombuf does, or raises the same error."""

from __future__ import annotations

import io
import random
import tarfile

import pytest

from tug.store.tarread import FastTarInfo, open_forward

ENC = ("utf-8", "surrogateescape")
SLOTS = [s for s in tarfile.TarInfo.__slots__ if s not in ("tarfile",)]
_MISSING = object()


def _archive(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tf:
        def add(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **kw) -> None:  # noqa: ANN003
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            ti.mtime = kw.pop("mtime", 1_600_000_000)
            for k, v in kw.items():
                setattr(ti, k, v)
            tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("dir/", tarfile.DIRTYPE, mode=0o2755, uid=0, gid=50)
        add("dir/file", data=b"hello" * 300, mode=0o4755, uid=1000, gid=1000, uname="user", gname="grp")
        add("dir/link", tarfile.SYMTYPE, linkname="../target")
        add("dir/hard", tarfile.LNKTYPE, linkname="dir/file")
        add("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)
        add("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
        add("fifo", tarfile.FIFOTYPE)
        add("a/" * 60 + "deep", data=b"x")  # a ustar prefix, or a long name record
        if fmt != tarfile.USTAR_FORMAT:
            add("l" * 120, data=b"y")  # longer than the name field: a GNU or PAX long name record
        add("caf\u00e9-\udcff", data=b"z")  # non-ASCII and undecodable bytes
        if fmt != tarfile.USTAR_FORMAT:
            add("big-ids", uid=2**24, gid=2**31, data=b"b")  # base-256 (GNU) or PAX records
            add("old", mtime=-5, data=b"t")
    return buf.getvalue()


def _decode(cls, buf: bytes):  # noqa: ANN001, ANN202
    try:
        ti = cls.frombuf(buf, *ENC)
    except Exception as e:  # noqa: BLE001
        return type(e)
    return {s: getattr(ti, s, _MISSING) for s in SLOTS}


def _blocks(data: bytes) -> list[bytes]:
    return [data[i:i + 512] for i in range(0, len(data), 512)]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_every_block_decodes_alike(fmt):
    blocks = _blocks(_archive(fmt))
    blocks += [b"", b"\0" * 100, b"\0" * 512]
    for b in blocks:
        assert _decode(FastTarInfo, b) == _decode(tarfile.TarInfo, b)


def _rechecksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)


def test_damaged_headers_decode_alike():
    rng = random.Random(4)
    headers = [b for b in _blocks(_archive(tarfile.GNU_FORMAT)) if isinstance(_decode(tarfile.TarInfo, b), dict)]
    assert len(headers) > 10
    odd_fields = [b"0o755\0\0\0", b"+755\0\0\0\0", b"-1\0\0\0\0\0\0", b"7_55\0\0\0\0", b" 755  \0\0",
                  b"\x80" + b"\0" * 6 + b"\x07", b"\xff" * 8, b"\x811234567", b"999\0\0\0\0\0", b"\0" * 8, b" " * 8]
    assert all(len(f) == 8 for f in odd_fields)
    for _ in range(3000):
        block = bytearray(rng.choice(headers))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                block[rng.randrange(512)] = rng.randrange(256)
            else:
                at = rng.choice([100, 108, 116, 329, 337])
                block[at:at + 8] = rng.choice(odd_fields)
        if rng.random() < 0.2:
            block[156:157] = rng.choice([b"0", b"\0", b"5", b"S", b"L", b"x", b"g", b"K", b"7"])
        if rng.random() < 0.7:
            _rechecksum(block)
        b = bytes(block)
        assert _decode(FastTarInfo, b) == _decode(tarfile.TarInfo, b), b


def test_open_forward_lists_the_members():
    data = _archive(tarfile.PAX_FORMAT)
    with open_forward(io.BytesIO(data)) as tf:
        names = [ti.name for ti in tf]
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as ref:
        assert names == ref.getnames()
