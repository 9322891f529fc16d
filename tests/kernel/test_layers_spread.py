"""Snapshots are made in a directory marked FS_TOPDIR_FL where the file system has the flag (ext2/3/4)."""

from __future__ import annotations

import fcntl
import io
import os
import tempfile

import pytest
from store_tars import entry, tar_bytes

from tug.oci.digest import Digest
from tug.store.layout import Layout
from tug.store.metadata import Metadata
from tug.store.snapshots import Snapshots
from tug.sys.fs import FS_IOC_GETFLAGS, FS_TOPDIR_FL, mark_topdir


def _flags(path) -> int:  # noqa: ANN001
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
        return int.from_bytes(buf, "little")
    finally:
        os.close(fd)


def _supports_flags(path) -> bool:  # noqa: ANN001
    try:
        _flags(path)
    except OSError:
        return False
    return True


def test_mark_topdir_sets_the_flag_and_keeps_others(tmp_path):
    if not _supports_flags(tmp_path):
        pytest.skip("the temp dir's file system has no inode flags")
    d = tmp_path / "d"
    d.mkdir()
    before = _flags(d)
    if not mark_topdir(d):
        pytest.skip("the file system refuses FS_TOPDIR_FL")
    after = _flags(d)
    assert after & FS_TOPDIR_FL
    assert after & ~FS_TOPDIR_FL == before & ~FS_TOPDIR_FL
    assert mark_topdir(d)  # idempotent
    assert _flags(d) == after


def test_mark_topdir_without_flags_is_false():
    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:  # tmpfs has no FS_IOC_GETFLAGS
        assert mark_topdir(d) is False


def test_snapshot_root_is_marked(tmp_path):
    if not _supports_flags(tmp_path):
        pytest.skip("the temp dir's file system has no inode flags")
    probe = tmp_path / "probe"
    probe.mkdir()
    if not mark_topdir(probe):
        pytest.skip("the file system refuses FS_TOPDIR_FL")
    layout = Layout(tmp_path / "root")
    snaps = Snapshots(layout, Metadata(layout.db_path))
    raw = tar_bytes([entry("a.txt", data=b"hello")])
    diff = Digest.of(raw)
    snaps.ensure(diff, None, lambda: io.BytesIO(raw), "none")
    assert (snaps.path(diff) / "a.txt").read_bytes() == b"hello"
    assert _flags(layout.snapshots) & FS_TOPDIR_FL
