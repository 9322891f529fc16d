"""Applying layers for real: every entry type kept as the image says, in plain, gzip and zstd; tar replacement rules."""

from __future__ import annotations

import hashlib
import io
import os
import stat

import pytest
from store_tars import compress, entry, tar_bytes

from tug.errors import Invalid
from tug.store.layers import apply_layer

NS = 1_000_000_000


def every_entry_type() -> list:
    return [
        entry("etc/", "dir", mode=0o751, mtime=1_000_000, uid=0, gid=0),
        entry("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n", mode=0o640, uid=1000, gid=1001,
              pax={"mtime": "1700000000.123456789"}, xattrs={"user.x": "hello", "trusted.overlay.foo": "bad"}),
        entry("bin/", "dir", mode=0o755),
        entry("bin/su", data=b"#!su", mode=0o4755, uid=0, gid=0),
        entry("bin/sg", data=b"#!sg", mode=0o2711, uid=0, gid=5),
        entry("bin/sh", "symlink", linkname="/bin/busybox", uid=7, gid=8, mtime=1_234_567),
        entry("bin/passwd-again", "hardlink", linkname="etc/passwd"),
        entry("tmp/", "dir", mode=0o1777),
        entry("dev/null", "char", devmajor=1, devminor=3, mode=0o666),
        entry("dev/loop9", "block", devmajor=7, devminor=9, mode=0o660, gid=6),
        entry("run/fifo", "fifo", mode=0o620, uid=3, gid=4),
        entry("deep/implicit/parents/file", data=b"x" * 5000),
        entry("caf\udce9", data=b"latin-1 name"),
        entry("./", "dir", mode=0o755, mtime=2_000_000),
    ]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_every_entry_type_is_kept(tmp_path, compression):
    raw = tar_bytes(every_entry_type())
    dest = tmp_path / "fs"
    dest.mkdir()
    res = apply_layer(io.BytesIO(compress(raw, compression)), compression, dest, where="layer L")
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert res.size == len(b"root:x:0:0::/root:/bin/sh\n") + 4 + 4 + 5000 + len(b"latin-1 name")

    st = os.lstat(dest / "etc/passwd")
    assert (dest / "etc/passwd").read_bytes() == b"root:x:0:0::/root:/bin/sh\n"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1000, 1001)
    assert st.st_mtime_ns == 1700000000123456789
    assert os.getxattr(dest / "etc/passwd", "user.x") == b"hello"
    assert "trusted.overlay.foo" not in os.listxattr(dest / "etc/passwd")
    assert st.st_nlink == 2 and os.lstat(dest / "bin/passwd-again").st_ino == st.st_ino

    su = os.lstat(dest / "bin/su")
    assert stat.S_IMODE(su.st_mode) == 0o4755  # setuid survives the chown
    sg = os.lstat(dest / "bin/sg")
    assert (stat.S_IMODE(sg.st_mode), sg.st_gid) == (0o2711, 5)
    assert stat.S_IMODE(os.lstat(dest / "tmp").st_mode) == 0o1777

    sh = os.lstat(dest / "bin/sh")
    assert stat.S_ISLNK(sh.st_mode) and os.readlink(dest / "bin/sh") == "/bin/busybox"
    assert (sh.st_uid, sh.st_gid, sh.st_mtime_ns) == (7, 8, 1_234_567 * NS)

    null = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert stat.S_IMODE(null.st_mode) == 0o666
    loop = os.lstat(dest / "dev/loop9")
    assert stat.S_ISBLK(loop.st_mode) and (os.major(loop.st_rdev), os.minor(loop.st_rdev)) == (7, 9)
    assert (stat.S_IMODE(loop.st_mode), loop.st_gid) == (0o660, 6)
    fifo = os.lstat(dest / "run/fifo")
    assert stat.S_ISFIFO(fifo.st_mode) and (stat.S_IMODE(fifo.st_mode), fifo.st_uid, fifo.st_gid) == (0o620, 3, 4)

    implicit = os.lstat(dest / "deep/implicit")
    assert stat.S_ISDIR(implicit.st_mode) and stat.S_IMODE(implicit.st_mode) == 0o755
    assert os.path.exists(os.fsencode(dest) + b"/caf\xe9")

    # directory times are set last, after the entries inside them moved them
    etc = os.lstat(dest / "etc")
    assert (stat.S_IMODE(etc.st_mode), etc.st_mtime_ns) == (0o751, 1_000_000 * NS)
    assert os.lstat(dest).st_mtime_ns == 2_000_000 * NS


def test_later_entries_replace_earlier_ones(tmp_path):
    raw = tar_bytes([
        entry("f", data=b"first"),
        entry("f", data=b"second"),
        entry("d/", "dir"),
        entry("d/child", data=b"kept"),
        entry("d/", "dir", mode=0o700),  # a directory over a directory keeps what is inside
        entry("x/", "dir"),
        entry("x/inner", data=b"gone"),
        entry("x", "symlink", linkname="f"),  # a non-directory over a directory replaces it whole
        entry("s", "symlink", linkname="/nowhere"),
        entry("s", data=b"file over symlink"),  # written in place of the link, not through it
        entry("h", data=b"h"),
        entry("h", "hardlink", linkname="f"),
    ])
    dest = tmp_path / "fs"
    dest.mkdir()
    apply_layer(io.BytesIO(raw), "none", dest)
    assert (dest / "f").read_bytes() == b"second"
    assert (dest / "d/child").read_bytes() == b"kept"
    assert stat.S_IMODE(os.lstat(dest / "d").st_mode) == 0o700
    assert os.readlink(dest / "x") == "f"
    assert not os.path.islink(dest / "s") and (dest / "s").read_bytes() == b"file over symlink"
    assert os.lstat(dest / "h").st_ino == os.lstat(dest / "f").st_ino


def test_hardlink_to_a_symlink_links_the_symlink_itself(tmp_path):
    raw = tar_bytes([entry("s", "symlink", linkname="/etc/passwd"), entry("h", "hardlink", linkname="s")])
    dest = tmp_path / "fs"
    dest.mkdir()
    apply_layer(io.BytesIO(raw), "none", dest)
    h = os.lstat(dest / "h")
    assert stat.S_ISLNK(h.st_mode) and h.st_ino == os.lstat(dest / "s").st_ino
    assert h.st_ino != os.stat("/etc/passwd").st_ino


@pytest.mark.parametrize(("compression", "blob"), [
    ("gzip", b"\x1f\x8b\x08\x00garbage-that-is-not-deflate"),
    ("zstd", b"\x28\xb5\x2f\xfd garbage"),
    ("none", b"x" * 700),
])
def test_bad_streams_are_invalid(tmp_path, compression, blob):
    dest = tmp_path / "fs"
    dest.mkdir()
    with pytest.raises(Invalid) as e:
        apply_layer(io.BytesIO(blob), compression, dest, where="layer L")
    assert "layer L" in str(e.value)


def test_unknown_compression(tmp_path):
    with pytest.raises(Invalid):
        apply_layer(io.BytesIO(b""), "bzip2", tmp_path)
