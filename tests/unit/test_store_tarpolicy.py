"""The pure tar-entry policy: names, whiteouts, what is kept and what is refused."""

from __future__ import annotations

import tarfile

import pytest

from tug.errors import Invalid
from tug.store.tarpolicy import Kind, classify, keep_xattr, normalize_name, xattrs_from_pax


@pytest.mark.parametrize(("name", "parts"), [
    ("a", ("a",)),
    ("./a", ("a",)),
    ("a/b/", ("a", "b")),
    ("a//b", ("a", "b")),
    ("./a/./b", ("a", "b")),
    (".", ()),
    ("./", ()),
    ("...", ("...",)),
    ("..a/b..", ("..a", "b..")),
    (".wh.x", (".wh.x",)),
])
def test_normalize_accepts(name, parts):
    assert normalize_name(name) == parts


@pytest.mark.parametrize(("name", "why"), [
    ("/etc/passwd", "absolute"),
    ("/", "absolute"),
    ("..", "'..'"),
    ("../x", "'..'"),
    ("a/../../x", "'..'"),
    ("a/..", "'..'"),
    ("./a/../b", "'..'"),
])
def test_normalize_refuses_escapes(name, why):
    with pytest.raises(Invalid) as e:
        normalize_name(name)
    assert why in str(e.value)
    assert repr(name) in str(e.value)


def ti(name: str, type_: bytes = tarfile.REGTYPE, **kw) -> tarfile.TarInfo:
    t = tarfile.TarInfo(name)
    t.type = type_
    for k, v in kw.items():
        setattr(t, k, v)
    return t


@pytest.mark.parametrize(("info", "kind", "path"), [
    (ti("a/file"), Kind.FILE, ("a", "file")),
    (ti("a/file", tarfile.AREGTYPE), Kind.FILE, ("a", "file")),
    (ti("a/file", tarfile.CONTTYPE), Kind.FILE, ("a", "file")),
    (ti("d/", tarfile.DIRTYPE), Kind.DIR, ("d",)),
    (ti("./", tarfile.DIRTYPE), Kind.DIR, ()),
    (ti("l", tarfile.SYMTYPE, linkname="/"), Kind.SYMLINK, ("l",)),
    (ti("h", tarfile.LNKTYPE, linkname="a/file"), Kind.HARDLINK, ("h",)),
    (ti("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3), Kind.CHAR, ("dev", "null")),
    (ti("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), Kind.BLOCK, ("dev", "sda")),
    (ti("p", tarfile.FIFOTYPE), Kind.FIFO, ("p",)),
    (ti("etc/.wh.passwd"), Kind.WHITEOUT, ("etc", "passwd")),
    (ti(".wh.top"), Kind.WHITEOUT, ("top",)),
    (ti("var/.wh..wh..opq"), Kind.OPAQUE, ("var",)),
    (ti(".wh..wh..opq"), Kind.OPAQUE, ()),
    (ti(".wh..wh.plnk/123", tarfile.DIRTYPE), Kind.DIR, (".wh..wh.plnk", "123")),
    (ti("x/.wh..wh.aufs"), Kind.SKIP, ("x", ".wh..wh.aufs")),
])
def test_classify_kinds(info, kind, path):
    e = classify(info)
    assert e.kind is kind
    assert e.path == path


def test_classify_keeps_modes_owners_devices_times():
    t = ti("bin/su", mode=0o104755, uid=0, gid=42, mtime=1700000000)
    t.pax_headers = {"mtime": "1700000000.123456789", "atime": "1600000000.5"}
    e = classify(t)
    assert e.mode == 0o4755
    assert (e.uid, e.gid) == (0, 42)
    assert e.mtime_ns == 1700000000123456789
    assert e.atime_ns == 1600000000500000000
    sticky = classify(ti("tmp/", tarfile.DIRTYPE, mode=0o41777))
    assert sticky.mode == 0o1777
    sgid = classify(ti("x", mode=0o2711))
    assert sgid.mode == 0o2711
    dev = classify(ti("dev/tty", tarfile.CHRTYPE, devmajor=5, devminor=0, mode=0o666))
    assert (dev.devmajor, dev.devminor, dev.mode) == (5, 0, 0o666)
    noatime = classify(ti("y", mtime=12))
    assert noatime.atime_ns == noatime.mtime_ns == 12_000_000_000


def test_classify_ignores_owner_names():
    e = classify(ti("f", uid=1000, gid=1000, uname="root", gname="root"))
    assert (e.uid, e.gid) == (1000, 1000)


@pytest.mark.parametrize(("info", "needle"), [
    (ti("/abs"), "absolute"),
    (ti("../x"), "'..'"),
    (ti("h", tarfile.LNKTYPE, linkname="/etc/passwd"), "absolute"),
    (ti("h", tarfile.LNKTYPE, linkname="../../etc/passwd"), "'..'"),
    (ti("h", tarfile.LNKTYPE, linkname="h"), "itself"),
    (ti("h", tarfile.LNKTYPE, linkname="."), "root"),
    (ti("./", tarfile.REGTYPE), "root"),
    (ti("l", tarfile.SYMTYPE, linkname=""), "empty target"),
    (ti("a/.wh."), "whiteout of nothing"),
    (ti("v", b"V"), "unsupported type"),
])
def test_classify_refuses(info, needle):
    with pytest.raises(Invalid) as e:
        classify(info)
    assert needle in str(e.value)
    assert info.name in str(e.value)


@pytest.mark.parametrize(("key", "kept"), [
    ("user.x", True),
    ("security.capability", True),
    ("trusted.foo", True),
    ("trusted.overlay.opaque", False),
    ("trusted.overlay.foo", False),
    ("user.overlay.origin", False),
])
def test_keep_xattr(key, kept):
    assert keep_xattr(key) is kept


def test_xattrs_from_pax_round_trip_bytes():
    raw = b"\x01\x00\xff binary"
    pax = {
        "SCHILY.xattr.user.x": "hello",
        "SCHILY.xattr.security.capability": raw.decode("utf-8", "surrogateescape"),
        "SCHILY.xattr.trusted.overlay.opaque": "y",
        "LIBARCHIVE.xattr.user.b64": "aGk",  # "hi", unpadded as libarchive writes it
        "mtime": "1.5",
    }
    assert xattrs_from_pax(pax) == {"user.x": b"hello", "security.capability": raw, "user.b64": b"hi"}


def test_xattrs_survive_a_real_pax_archive(tmp_path):
    import io

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        t = tarfile.TarInfo("f")
        t.pax_headers = {"SCHILY.xattr.user.bin": "\udcff\udcfe", "SCHILY.xattr.trusted.overlay.x": "y"}
        tf.addfile(t)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
        (member,) = list(tf)
    assert classify(member).xattrs == {"user.bin": b"\xff\xfe"}
