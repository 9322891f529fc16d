"""Unpacking from the read-ahead stream: content across chunk boundaries, GNU and PAX sparse files, truncated and
corrupt streams refused with one clear error, and no helper thread left behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import threading

import pytest
from store_tars import compress, entry, tar_bytes

from tug.errors import Invalid
from tug.store.layers import apply_layer

BIG = os.urandom(3 << 20) + b"tail"  # spans several of the read-ahead's 1 MiB chunks


def _apply(tmp_path, raw: bytes, compression: str = "none", name: str = "out", blob: bytes | None = None):  # noqa: ANN202
    dest = tmp_path / name
    dest.mkdir()
    data = blob if blob is not None else compress(raw, compression)
    return dest, apply_layer(io.BytesIO(data), compression, dest)


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_content_across_chunks(tmp_path, compression):
    raw = tar_bytes([entry("a", data=b"x" * 100), entry("big", data=BIG), entry("z", data=b"after")])
    dest, res = _apply(tmp_path, raw, compression)
    assert (dest / "big").read_bytes() == BIG
    assert (dest / "a").read_bytes() == b"x" * 100 and (dest / "z").read_bytes() == b"after"
    assert res.diff_id.hex == hashlib.sha256(raw).hexdigest()
    assert res.size == 100 + len(BIG) + 5


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_files(tmp_path, fmt):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "holes", "wb") as f:
        f.seek(1 << 20)
        f.write(b"middle")
        f.seek(3 << 20)
        f.write(b"end")
    raw = subprocess.run(["tar", f"--format={fmt}", "-S", "-cf", "-", "-C", str(src), "holes"], check=True,
                         capture_output=True).stdout
    dest, res = _apply(tmp_path, raw)
    assert (dest / "holes").read_bytes() == (src / "holes").read_bytes()
    assert res.diff_id.hex == hashlib.sha256(raw).hexdigest()


def test_truncated_content_is_refused_and_no_thread_stays(tmp_path):
    raw = tar_bytes([entry("big", data=BIG)])
    before = threading.active_count()
    with pytest.raises(Invalid, match="not a valid tar stream|unexpected end"):
        _apply(tmp_path, raw[: 2 << 20])
    with pytest.raises(Invalid, match="bad gzip data"):
        _apply(tmp_path, b"", "gzip", "out2", blob=gzip.compress(raw)[: 1 << 20])
    assert threading.active_count() == before


def test_an_error_in_the_middle_stops_the_read_ahead(tmp_path):
    raw = tar_bytes([entry("big", data=BIG), entry("../escape", data=b"x"), entry("more", data=BIG)])
    before = threading.active_count()
    with pytest.raises(Invalid, match=r"'\.\.'"):
        _apply(tmp_path, raw, "gzip")
    assert threading.active_count() == before
    assert not (tmp_path / "escape").exists()
