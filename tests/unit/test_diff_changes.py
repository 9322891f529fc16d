"""`docker diff` lines from an upper directory over hand-made lower snapshots."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tug.store.overlay_changes import LowerView, changes

T0 = 1_700_000_000


def _wh(p: Path) -> None:
    os.mknod(p, stat.S_IFCHR, os.makedev(0, 0))


def _opaque(p: Path) -> None:
    os.setxattr(p, "user.overlay.opaque", b"y")


def _times(d: Path) -> None:
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.utime(os.path.join(root, n), (T0, T0), follow_symlinks=False)


def build(tmp_path: Path) -> tuple[Path, LowerView]:
    base = tmp_path / "base"
    for d in ("etc", "usr/lib", "data/old", "tmp"):
        (base / d).mkdir(parents=True)
    (base / "etc" / "passwd").write_text("a")
    (base / "etc" / "hosts").write_text("b")
    (base / "usr" / "lib" / "x.so").write_text("c")
    (base / "data" / "keep").write_text("d")
    (base / "data" / "old" / "f").write_text("e")
    _times(base)
    mid = tmp_path / "mid"
    (mid / "etc").mkdir(parents=True)
    _wh(mid / "etc" / "hosts")  # deleted by the image's second layer
    (mid / "etc" / "group").write_text("g")
    _times(mid)

    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("changed")
    (upper / "etc" / "hosts").write_text("back again")  # the image does not have it: added
    _wh(upper / "etc" / "group")
    (upper / "usr").mkdir()  # copied up only because something below changed
    (upper / "usr" / "lib").mkdir()
    _wh(upper / "usr" / "lib" / "x.so")
    (upper / "data").mkdir()
    _opaque(upper / "data")  # rm -rf data; mkdir data; touch data/new
    (upper / "data" / "new").write_text("n")
    (upper / "newdir" / "sub").mkdir(parents=True)
    _times(upper)
    os.utime(upper / "etc", (T0, T0 + 60))  # a name was added and deleted in it
    os.utime(upper / "usr" / "lib", (T0, T0 + 60))
    return upper, LowerView([mid, base])


def test_lookup_follows_overlay_rules(tmp_path):
    _, lower = build(tmp_path)
    assert lower.lookup(("etc", "passwd")) is not None
    assert lower.lookup(("etc", "hosts")) is None
    assert lower.lookup(("etc", "group")) is not None
    assert lower.lookup(("nope",)) is None
    assert lower.lookup(("etc", "passwd", "x")) is None
    assert lower.listdir(("etc",)) == {"passwd", "group"}
    assert lower.listdir(("data",)) == {"keep", "old"}


def test_changes_as_docker_prints_them(tmp_path):
    upper, lower = build(tmp_path)
    got = [str(c) for c in changes(upper, lower)]
    assert got == [
        "C /data",
        "D /data/keep",
        "A /data/new",
        "D /data/old",
        "C /etc",
        "D /etc/group",
        "A /etc/hosts",
        "C /etc/passwd",
        "A /newdir",
        "A /newdir/sub",
        "C /usr/lib",
        "D /usr/lib/x.so",
    ]
