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
from typing import Protocol

from tug.oci.digest import Digest
from tug.records import record

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
WHITEOUT_XATTRS = ("trusted.overlay.whiteout", "user.overlay.whiteout")
DROPPED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
BLOCK = 512
_CHUNK = 1 << 20


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


@record(frozen=True)
class DiffResult:
    diff_id: Digest  # sha256 of the whole tar stream
    size: int  # bytes of the tar stream
    entries: int


@record(frozen=True)
class Change:
    kind: str  # "A", "C" or "D", as `docker diff` prints them
    path: str  # absolute, "/etc/passwd"

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


# -- one file system object, reached through its directory's fd ----------------------------------------------------


@record(frozen=True)
class Node:
    rel: str  # path inside the tree, no leading "/"
    dirfd: int  # the parent directory (valid while the walk is at this node)
    name: str
    st: os.stat_result

    @property
    def proc(self) -> str:
        """A path that reaches this entry itself (never through a symlink) for the *xattr calls."""
        return f"/proc/self/fd/{self.dirfd}/{self.name}"

    def xattrs(self) -> dict[str, bytes]:
        try:
            keys = os.listxattr(self.proc, follow_symlinks=False)
        except OSError:
            return {}
        out = {}
        for k in sorted(keys):
            try:
                out[k] = os.getxattr(self.proc, k, follow_symlinks=False)
            except OSError:
                continue
        return out

    def kept_xattrs(self) -> dict[str, bytes]:
        return {k: v for k, v in self.xattrs().items() if not k.startswith(DROPPED_XATTR_PREFIXES)}

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    def is_whiteout(self) -> bool:
        m = self.st.st_mode
        if stat.S_ISCHR(m) and self.st.st_rdev == 0:
            return True
        if stat.S_ISREG(m) and self.st.st_size == 0:
            x = self.xattrs()
            return any(k in x for k in WHITEOUT_XATTRS)
        return False

    def is_opaque(self) -> bool:
        if not self.is_dir:
            return False
        x = self.xattrs()
        return any(x.get(k) == b"y" for k in OPAQUE_XATTRS)


def walk(root: str | os.PathLike[str]) -> Iterator[Node]:
    """Every entry below `root` (not root itself), depth first, each directory's names sorted bytewise.

    Directories are opened relative to their parent's fd with O_NOFOLLOW, so the walk never leaves the tree and
    works at any depth. A directory's children come right after it; `skip()` is not needed: callers that drop a
    subtree ignore the names under it.
    """
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    stack: list[tuple[str, int, Iterator[bytes]]] = [("", top, iter(sorted(os.listdir(top))))]
    try:
        while stack:
            rel, fd, names = stack[-1]
            bname = next(names, None)
            if bname is None:
                os.close(fd)
                stack.pop()
                continue
            name = os.fsdecode(bname)
            try:
                st = os.stat(bname, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            r = f"{rel}/{name}" if rel else name
            yield Node(r, fd, name, st)
            if stat.S_ISDIR(st.st_mode):
                try:
                    sub = os.open(bname, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                stack.append((r, sub, iter(sorted(os.listdir(sub)))))
    finally:
        for _, fd, _ in stack:
            os.close(fd)


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
        self._write(bytes(-ti.size % BLOCK))

    def close(self) -> DiffResult:
        self._write(bytes(2 * BLOCK))
        return DiffResult(Digest("sha256", self.hash.hexdigest()), self.size, self.entries)


def tarinfo(node: Node, xattrs: dict[str, bytes] | None = None) -> tarfile.TarInfo:
    """The header for one file system object."""
    st = node.st
    ti = tarfile.TarInfo(node.rel)
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
        ti.type, ti.linkname = tarfile.SYMTYPE, os.fsdecode(os.readlink(os.fsencode(node.name), dir_fd=node.dirfd))
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(m) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(m):
        ti.type = tarfile.FIFOTYPE
    else:
        raise ValueError(f"{node.rel}: a socket cannot be put in a tar")
    for k, v in sorted((xattrs or {}).items()):
        ti.pax_headers[f"SCHILY.xattr.{k}"] = v.decode("utf-8", "surrogateescape")
    return ti


def _marker(name: str) -> tarfile.TarInfo:
    """A whiteout or opaque marker: an empty regular file, owned by root, mode 0, time 0 (reproducible)."""
    ti = tarfile.TarInfo(name)
    ti.mode, ti.mtime, ti.uname, ti.gname = 0, 0, "", ""
    return ti


def _open_data(node: Node) -> int | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(node.name, flags | os.O_NOATIME, dir_fd=node.dirfd)
    except PermissionError:
        return os.open(node.name, flags, dir_fd=node.dirfd)
    except FileNotFoundError:
        return None


class _Emitter:
    """Adds nodes to a sink; a second name of an inode already written becomes a hard link to the first."""

    def __init__(self, sink: TarSink, clamp: int | None = None) -> None:
        self.sink = sink
        self.clamp = clamp
        self.links: dict[tuple[int, int], str] = {}

    def entry(self, node: Node) -> None:
        st = node.st
        ti = tarinfo(node, node.kept_xattrs())
        if self.clamp is not None and ti.mtime > self.clamp:
            ti.mtime = self.clamp
        if not node.is_dir and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key)
            if first is not None:
                ti.type, ti.size, ti.linkname = tarfile.LNKTYPE, 0, first
                self.sink.add(ti)
                return
            self.links[key] = node.rel
        if ti.type != tarfile.REGTYPE or ti.size == 0:
            self.sink.add(ti)
            return
        fd = _open_data(node)
        try:
            self.sink.add(ti, fd)
        finally:
            if fd is not None:
                os.close(fd)


Exclude = Callable[[Node], bool]


def _entries(root: str | os.PathLike[str], exclude: Exclude | None) -> Iterator[Node]:
    """The walk minus excluded nodes and everything under an excluded directory."""
    skip_under: str | None = None
    for node in walk(root):
        if skip_under is not None:
            if node.rel.startswith(skip_under):
                continue
            skip_under = None
        if stat.S_ISSOCK(node.st.st_mode) or (exclude is not None and exclude(node)):
            if node.is_dir:
                skip_under = node.rel + "/"
            continue
        yield node


def write_layer(upper: str | os.PathLike[str], out: Writable, exclude: Exclude | None = None,
                clamp_mtime: int | None = None) -> DiffResult:
    """Write the layer tar of an overlay upper directory to `out`. `exclude(node)` drops entries (and subtrees);
    `clamp_mtime` (SOURCE_DATE_EPOCH) caps every mtime, so the same changes made at another time give the same
    diff id."""
    sink = TarSink(out)
    em = _Emitter(sink, clamp_mtime)
    for node in _entries(upper, exclude):
        if node.is_whiteout():
            head, _, base = node.rel.rpartition("/")
            sink.add(_marker(f"{head}/{WHITEOUT_PREFIX}{base}" if head else WHITEOUT_PREFIX + base))
            continue
        em.entry(node)
        if node.is_opaque():
            sink.add(_marker(f"{node.rel}/{OPAQUE_MARKER}"))
    return sink.close()


def write_tree(root: str | os.PathLike[str], out: Writable, exclude: Exclude | None = None) -> DiffResult:
    """Write a plain directory tree (a merged root file system) as a tar, by the same rules as a layer."""
    sink = TarSink(out)
    em = _Emitter(sink)
    for node in _entries(root, exclude):
        em.entry(node)
    return sink.close()
