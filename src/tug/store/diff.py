"""Writing a layer tar from an overlay upper directory, and the A/C/D change list of an upper against its lowers.

The upper directory of a container holds what it changed, in overlayfs' own form: a deleted name is a 0/0
character device (or, on newer kernels, an empty file carrying `trusted.overlay.whiteout`), a directory that
replaced a lower one is marked `trusted.overlay.opaque=y`. `write_layer` turns that into the image-spec form:
`.wh.NAME` entries and a `.wh..wh..opq` marker right after the opaque directory's own entry.

Layers are written reproducibly: entries in depth-first order with the names of each directory sorted bytewise,
numeric owners and no user/group names, mtimes truncated to whole seconds, no atime/ctime, xattrs sorted, hard
links within the layer written as links to the first name met, and the end of the archive as two zero blocks. So
the same tree gives the same bytes and the same diff id.

`write_tree` writes a plain tree (a merged root file system for `tug export`) with the same rules and no whiteout
translation.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from tug.oci.digest import Digest

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
WHITEOUT_XATTRS = ("trusted.overlay.whiteout", "user.overlay.whiteout")
DROPPED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
BLOCK = 512
_CHUNK = 1 << 20


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


@dataclass(frozen=True)
class DiffResult:
    diff_id: Digest  # sha256 of the whole tar stream
    size: int  # bytes of the tar stream
    entries: int


@dataclass(frozen=True)
class Change:
    kind: str  # "A", "C" or "D", as `docker diff` prints them
    path: str  # absolute, "/etc/passwd"

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


# -- reading overlay's markers ----------------------------------------------------------------------------------


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        keys = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for k in sorted(keys):
        try:
            out[k] = os.getxattr(path, k, follow_symlinks=False)
        except OSError:
            continue
    return out


def is_whiteout(path: str, st: os.stat_result) -> bool:
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return True
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        x = _xattrs(path)
        return any(k in x for k in WHITEOUT_XATTRS)
    return False


def is_opaque(path: str, st: os.stat_result) -> bool:
    if not stat.S_ISDIR(st.st_mode):
        return False
    x = _xattrs(path)
    return any(x.get(k) == b"y" for k in OPAQUE_XATTRS)


def kept_xattrs(path: str) -> dict[str, bytes]:
    return {k: v for k, v in _xattrs(path).items() if not k.startswith(DROPPED_XATTR_PREFIXES)}


# -- the tar writer ---------------------------------------------------------------------------------------------


class TarSink:
    """Writes tar records to `out`, hashing and counting every byte."""

    def __init__(self, out: Writable) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0
        self.entries = 0

    def _write(self, data: bytes) -> None:
        if data:
            self.hash.update(data)
            self.out.write(data)
            self.size += len(data)

    def add(self, ti: tarfile.TarInfo, data_fd: int | None = None) -> None:
        self._write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        self.entries += 1
        if ti.type not in tarfile.REGULAR_TYPES or ti.size == 0:
            return
        left = ti.size
        if data_fd is not None:
            while left > 0:
                chunk = os.read(data_fd, min(_CHUNK, left))
                if not chunk:
                    break  # the file shrank while we read it: pad with zeros to the size the header promised
                self._write(chunk)
                left -= len(chunk)
        while left > 0:
            n = min(_CHUNK, left)
            self._write(bytes(n))
            left -= n
        pad = -ti.size % BLOCK
        self._write(bytes(pad))

    def close(self) -> DiffResult:
        self._write(bytes(2 * BLOCK))
        return DiffResult(Digest("sha256", self.hash.hexdigest()), self.size, self.entries)


def tarinfo(name: str, st: os.stat_result, path: str, xattrs: dict[str, bytes] | None = None) -> tarfile.TarInfo:
    """The header for one file system object (name relative to the archive root, no leading `/`)."""
    ti = tarfile.TarInfo(name)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    m = st.st_mode
    if stat.S_ISREG(m):
        ti.type, ti.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(m):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(m):
        ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(m) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(m):
        ti.type = tarfile.FIFOTYPE
    else:
        raise ValueError(f"{path}: cannot be put in a tar (a socket?)")
    for k, v in sorted((xattrs or {}).items()):
        ti.pax_headers[f"SCHILY.xattr.{k}"] = v.decode("utf-8", "surrogateescape")
    return ti


def _marker(name: str) -> tarfile.TarInfo:
    """A whiteout or opaque marker: an empty regular file, owned by root, mode 0, time 0 (reproducible)."""
    ti = tarfile.TarInfo(name)
    ti.mode, ti.mtime, ti.uname, ti.gname = 0, 0, "", ""
    return ti


# -- walking a tree ---------------------------------------------------------------------------------------------


def walk(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative name, absolute path, lstat) depth first, names of each directory sorted bytewise; root excluded."""
    stack: list[tuple[str, str]] = [("", root)]
    while stack:
        rel, path = stack.pop()
        try:
            names = sorted(os.listdir(os.fsencode(path)))
        except FileNotFoundError:
            continue
        subdirs: list[tuple[str, str]] = []
        for bname in names:
            name = os.fsdecode(bname)
            p = os.path.join(path, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            r = f"{rel}/{name}" if rel else name
            yield r, p, st
            if stat.S_ISDIR(st.st_mode):
                # children must follow their directory directly: recurse now by a nested generator
                yield from walk_children(r, p)
        del subdirs


def walk_children(rel: str, path: str) -> Iterator[tuple[str, str, os.stat_result]]:
    for r, p, st in walk(path):
        yield f"{rel}/{r}", p, st


def _open_data(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOATIME)
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


class _Emitter:
    def __init__(self, sink: TarSink) -> None:
        self.sink = sink
        self.links: dict[tuple[int, int], str] = {}

    def entry(self, rel: str, path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1 and key in self.links:
            ti = tarinfo(rel, st, path, kept_xattrs(path))
            ti.type, ti.size, ti.linkname = tarfile.LNKTYPE, 0, self.links[key]
            self.sink.add(ti)
            return
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            self.links[key] = rel
        ti = tarinfo(rel, st, path, kept_xattrs(path))
        if ti.type != tarfile.REGTYPE or ti.size == 0:
            self.sink.add(ti)
            return
        fd = _open_data(path)
        try:
            self.sink.add(ti, fd)
        finally:
            if fd is not None:
                os.close(fd)


Exclude = Callable[[str, os.stat_result], bool]


def write_layer(upper: str | os.PathLike[str], out: Writable, exclude: Exclude | None = None) -> DiffResult:
    """Write the layer tar of an overlay upper directory to `out`; `exclude(rel, st)` drops entries (and subtrees)."""
    sink = TarSink(out)
    em = _Emitter(sink)
    skip_under: str | None = None
    for rel, path, st in walk(os.fspath(upper)):
        if skip_under is not None and rel.startswith(skip_under):
            continue
        skip_under = None
        if exclude is not None and exclude(rel, st):
            if stat.S_ISDIR(st.st_mode):
                skip_under = rel + "/"
            continue
        if is_whiteout(path, st):
            head, _, base = rel.rpartition("/")
            sink.add(_marker(f"{head}/{WHITEOUT_PREFIX}{base}" if head else WHITEOUT_PREFIX + base))
            continue
        em.entry(rel, path, st)
        if is_opaque(path, st):
            sink.add(_marker(f"{rel}/{OPAQUE_MARKER}"))
    return sink.close()


def write_tree(root: str | os.PathLike[str], out: Writable, exclude: Exclude | None = None) -> DiffResult:
    """Write a plain directory tree (no overlay markers expected) as a tar, with the same rules as layers."""
    sink = TarSink(out)
    em = _Emitter(sink)
    skip_under: str | None = None
    for rel, path, st in walk(os.fspath(root)):
        if skip_under is not None and rel.startswith(skip_under):
            continue
        skip_under = None
        if stat.S_ISSOCK(st.st_mode) or (exclude is not None and exclude(rel, st)):
            if stat.S_ISDIR(st.st_mode):
                skip_under = rel + "/"
            continue
        em.entry(rel, path, st)
    return sink.close()


def write_layer_file(upper: str | os.PathLike[str], out: BinaryIO, exclude: Exclude | None = None) -> DiffResult:
    return write_layer(upper, out, exclude)
