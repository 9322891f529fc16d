"""The layer writer on hand-made overlay upper directories: whiteouts, opaque dirs, links, xattrs, reproducibility."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from tug.store.diff import write_layer, write_tree

T0 = 1_700_000_000


def _whiteout(p: Path) -> None:
    """A whiteout as overlayfs makes it: a 0/0 char device (unprivileged since Linux 5.8), or the xattr form."""
    try:
        os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    except PermissionError:
        p.touch()
        os.setxattr(p, "user.overlay.whiteout", b"")


def make_upper(d: Path) -> Path:
    d.mkdir()
    (d / "etc").mkdir()
    (d / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (d / "etc" / "motd").write_text("hello\n")
    os.link(d / "etc" / "motd", d / "etc" / "motd.link")
    (d / "etc" / "alias").symlink_to("motd")
    os.setxattr(d / "etc" / "passwd", "user.note", b"\xffbinary\x00")
    os.setxattr(d / "etc" / "passwd", "user.overlay.origin", b"ignored")
    _whiteout(d / "etc" / "gone")
    (d / "var").mkdir()
    os.setxattr(d / "var", "user.overlay.opaque", b"y")
    (d / "var" / "new").write_bytes(b"x" * 1000)
    os.chmod(d / "var" / "new", 0o4755)
    (d / "zz").write_text("")
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.utime(os.path.join(root, n), (T0, T0 + 0.7), follow_symlinks=False)
    return d


def tar_of(upper: Path) -> tuple[bytes, str]:
    buf = io.BytesIO()
    res = write_layer(upper, buf)
    data = buf.getvalue()
    assert res.size == len(data)
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(data).hexdigest()
    return data, str(res.diff_id)


def test_entries_whiteouts_opaque_links_xattrs(tmp_path):
    data, _ = tar_of(make_upper(tmp_path / "upper"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    assert names == ["etc", "etc/alias", "etc/.wh.gone", "etc/motd", "etc/motd.link", "etc/passwd",
                     "var", "var/.wh..wh..opq", "var/new", "zz"]
    by = {m.name: m for m in members}
    assert by["etc/.wh.gone"].isreg() and by["etc/.wh.gone"].size == 0
    assert by["etc/alias"].issym() and by["etc/alias"].linkname == "motd"
    assert by["etc/motd.link"].islnk() and by["etc/motd.link"].linkname == "etc/motd"
    assert by["var/new"].mode == 0o4755 and by["var/new"].size == 1000
    assert by["etc/passwd"].mtime == T0  # whole seconds
    pax = by["etc/passwd"].pax_headers
    assert pax["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") == b"\xffbinary\x00"
    assert not any("overlay" in k for m in members for k in m.pax_headers)
    assert all(m.uname == "" and m.gname == "" for m in members)
    assert data.endswith(bytes(1024))


def test_same_tree_same_diff_id(tmp_path):
    _, a = tar_of(make_upper(tmp_path / "a"))
    _, b = tar_of(make_upper(tmp_path / "b"))
    assert a == b
    os.utime(tmp_path / "b" / "zz", (T0, T0 + 5))
    _, c = tar_of(tmp_path / "b")
    assert c != a


def test_exclude_drops_subtree(tmp_path):
    upper = make_upper(tmp_path / "u")
    buf = io.BytesIO()
    write_layer(upper, buf, exclude=lambda n: n.rel == "etc")
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        assert [m.name for m in tf.getmembers()] == ["var", "var/.wh..wh..opq", "var/new", "zz"]


def test_write_tree_keeps_markers_as_plain_files(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "a").write_text("1")
    os.mkfifo(root / "fifo")
    buf = io.BytesIO()
    res = write_tree(root, buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        kinds = {m.name: m.type for m in tf.getmembers()}
    assert kinds == {"a": tarfile.REGTYPE, "fifo": tarfile.FIFOTYPE}
    assert res.entries == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="applying a layer sets owners")
def test_round_trip_through_apply_layer(tmp_path):
    from tug.store.layers import apply_layer

    upper = make_upper(tmp_path / "u")
    os.chown(upper / "zz", 1234, 5678)
    data, diff_id = tar_of(upper)
    dest = tmp_path / "snap"
    dest.mkdir()
    res = apply_layer(io.BytesIO(data), "none", dest)
    assert str(res.diff_id) == diff_id
    st = os.lstat(dest / "etc" / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(dest / "var", "trusted.overlay.opaque") == b"y"
    assert os.stat(dest / "zz").st_uid == 1234 and os.stat(dest / "zz").st_gid == 5678
    assert os.stat(dest / "etc" / "motd").st_ino == os.stat(dest / "etc" / "motd.link").st_ino
    assert os.getxattr(dest / "etc" / "passwd", "user.note") == b"\xffbinary\x00"
    assert stat.S_IMODE(os.stat(dest / "var" / "new").st_mode) == 0o4755


def test_clamped_mtimes_make_the_same_changes_at_another_time_identical(tmp_path):
    a = make_upper(tmp_path / "a")
    b = make_upper(tmp_path / "b")
    for root, dirs, files in os.walk(b):
        for n in dirs + files:
            os.utime(os.path.join(root, n), (T0 + 999, T0 + 999), follow_symlinks=False)
    ids = []
    for upper in (a, b):
        buf = io.BytesIO()
        ids.append(write_layer(upper, buf, clamp_mtime=T0 - 10).diff_id)
    assert ids[0] == ids[1]
    buf = io.BytesIO()
    assert write_layer(b, buf).diff_id != ids[0]
