"""Building layer tarballs for the store's kernel tests: a tiny DSL over tarfile (PAX, numeric owners)."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Any


def entry(name: str, kind: str = "file", data: bytes = b"", **kw: Any) -> tuple[tarfile.TarInfo, bytes | None]:
    ti = tarfile.TarInfo(name)
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
               "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
               "fifo": tarfile.FIFOTYPE}[kind]
    ti.mode = kw.pop("mode", 0o755 if kind == "dir" else 0o644)
    ti.mtime = kw.pop("mtime", 1_600_000_000)
    xattrs = kw.pop("xattrs", {})
    pax = kw.pop("pax", {})
    for k, v in kw.items():
        setattr(ti, k, v)
    ti.pax_headers = {**pax, **{f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}}
    if kind == "file":
        ti.size = len(data)
        return ti, data
    return ti, None


def tar_bytes(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw: bytes, compression: str) -> bytes:
    if compression == "none":
        return raw
    if compression == "gzip":
        # two gzip members, as some tools write them: the reader must go on past the first
        half = len(raw) // 2
        return gzip.compress(raw[:half]) + gzip.compress(raw[half:])
    if compression == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd  # type: ignore[no-redef]
        half = len(raw) // 2
        return zstd.compress(raw[:half]) + zstd.compress(raw[half:])  # two frames
    raise ValueError(compression)
