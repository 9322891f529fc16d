"""Apply a layer tarball to a snapshot directory, never writing or linking outside it.

Every entry's parent directory is opened with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
| RESOLVE_NO_XDEV)` relative to a dirfd of the snapshot, and the entry itself is made with `*at` calls on a single
component that never follow a final symlink. So `../x`, `/abs`, a symlink to `/` and then a file through it, a hard
link to a host file or through a symlink are refused with `Invalid` naming the entry and the layer.

A parent path through a symlink is refused rather than resolved: a layer tar lists real paths, and each layer is
unpacked into its own empty directory, so such an entry is either hostile or hand-made.

Whiteouts are written the way overlayfs reads them in a lower directory: `.wh.NAME` becomes a 0/0 character device
`NAME`, `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from tug.errors import Invalid, SystemFailure, Unavailable
from tug.oci.digest import Digest
from tug.records import record
from tug.store.streams import Readable, ReadAhead, decompress_errors, decompressing
from tug.store.tarpolicy import Entry, Kind, classify
from tug.store.tarread import open_forward
from tug.sys import fs, userns
from tug.sys.openat2 import (
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    openat2,
)
from tug.sys.openat2 import available as openat2_available

RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV
OPAQUE_XATTR = "trusted.overlay.opaque"
USER_OPAQUE_XATTR = "user.overlay.opaque"  # in a rootless user namespace (overlay mounted with userxattr, issue 7)
_CHUNK = 1 << 20
_Content = Callable[[int], "bytes | memoryview"]  # up to n more bytes of an entry's content
_REFUSED = {errno.ELOOP: "goes through a symlink", errno.EXDEV: "leaves the layer's root",
            errno.ENOTDIR: "goes through something that is not a directory"}


@record(frozen=True)
class ApplyResult:
    diff_id: Digest  # sha256 of the uncompressed tar stream, trailing blocks included
    size: int  # bytes of regular-file content written (hard links counted once)


def apply_layer(stream: BinaryIO, compression: str, dest: os.PathLike[str] | str, *,
                where: str | None = None) -> ApplyResult:
    """Unpack one layer into the existing directory `dest` (normally empty). `where` names the layer in errors.

    The blob is decompressed and hashed in a helper thread (`ReadAhead`) while this thread parses tar headers and
    makes the files; file content goes from the decompressed chunks to `write` without copies. The thread is
    joined before this returns or raises.
    """
    layer = where or "layer"
    _require_openat2()
    rootfd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    writer = _Writer(rootfd, layer)
    try:
        with ReadAhead(decompressing(stream, compression), abort=getattr(stream, "abort", None)) as pipe:
            try:
                _apply_entries(pipe, writer, layer)
                pipe.drain()
            except tarfile.TarError as e:
                raise Invalid(f"{layer}: not a valid tar stream: {e}", where=layer) from None
            except decompress_errors() as e:
                raise Invalid(f"{layer}: bad {compression} data: {e}", where=layer) from None
        writer.finish()
    finally:
        writer.close()
    return ApplyResult(Digest("sha256", pipe.hexdigest()), writer.size)


def _apply_entries(pipe: ReadAhead, writer: _Writer, layer: str) -> None:
    # tarfile reads headers (PAX, GNU long names, sparse maps) from the forward-only pipe; content is read here
    tf = open_forward(pipe)
    while (ti := tf.next()) is not None:
        tf.members.clear()  # tarfile keeps every member it has read; a layer can have millions
        try:
            entry = classify(ti)
        except Invalid as e:
            raise Invalid(f"{layer}: {e.message}", where=ti.name) from None
        data: _Content | None = None
        if entry.kind is Kind.FILE and entry.size:
            if ti.sparse is not None:  # holes are made by tarfile's reader (rare: GNU sparse entries)
                ex = tf.extractfile(ti)
                data = ex.read  # type: ignore[union-attr]
            else:
                pipe.seek(ti.offset_data)
                data = pipe.view
        try:
            writer.apply(entry, data)
        except _ContentError as e:
            raise e.cause from None


class _ContentError(Exception):
    """Reading an entry's content failed (corrupt or truncated data), as opposed to writing it."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


_OPENAT2_OK: bool | None = None


def _require_openat2() -> None:
    global _OPENAT2_OK
    if _OPENAT2_OK is None:
        _OPENAT2_OK = openat2_available()
    if not _OPENAT2_OK:
        raise Unavailable("the kernel has no openat2 (Linux 5.6 or later is needed to unpack layers safely)")


class _Writer:
    def __init__(self, rootfd: int, layer: str) -> None:
        self.rootfd = rootfd
        self.layer = layer
        self.size = 0
        self._dir_times: dict[tuple[str, ...], tuple[int, int]] = {}
        self._cached: tuple[tuple[str, ...], int] | None = None

    def close(self) -> None:
        self._forget()
        os.close(self.rootfd)

    def _forget(self) -> None:
        if self._cached is not None:
            os.close(self._cached[1])
            self._cached = None

    def _fail(self, entry: Entry, why: str, err: OSError | None = None) -> Invalid | SystemFailure:
        msg = f"{self.layer}: tar entry {entry.name!r} {why}"
        if err is not None and err.errno not in _REFUSED and err.errno not in (errno.ENOENT, errno.EEXIST,
                                                                               errno.EISDIR):
            return SystemFailure(f"{msg}: {err.strerror}", errno=err.errno, where=entry.name)
        return Invalid(msg, where=entry.name)

    # -- resolving directories inside the root -------------------------------------------------------------------

    def _open_dir(self, parts: tuple[str, ...]) -> int:
        """A new fd of the directory `parts` resolved inside the root (OSError when it is missing or refused)."""
        return openat2(self.rootfd, "/".join(parts) or ".", os.O_RDONLY | os.O_DIRECTORY, 0, RESOLVE)

    def _parent(self, entry: Entry, parts: tuple[str, ...], create: bool) -> int:
        """The fd of directory `parts` (owned by the cache, do not close), made with 0755 root:root if missing."""
        if self._cached is not None and self._cached[0] == parts:
            return self._cached[1]
        self._forget()
        try:
            fd = self._open_dir(parts)
        except OSError as e:
            if e.errno != errno.ENOENT or not create:
                raise self._fail(entry, _REFUSED.get(e.errno, "names a directory that is not in the layer"),
                                 e) from None
            fd = self._make_dirs(entry, parts)
        self._cached = (parts, fd)
        return fd

    def _make_dirs(self, entry: Entry, parts: tuple[str, ...]) -> int:
        fd = os.dup(self.rootfd)
        try:
            for comp in parts:
                try:
                    os.mkdir(comp, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nxt = openat2(fd, comp, os.O_RDONLY | os.O_DIRECTORY, 0, RESOLVE)
                os.close(fd)
                fd = nxt
        except OSError as e:
            os.close(fd)
            raise self._fail(entry, _REFUSED.get(e.errno, "cannot have its parent directories made"), e) from None
        return fd

    # -- entries --------------------------------------------------------------------------------------------------

    def apply(self, entry: Entry, data: _Content | None) -> None:
        if entry.kind is Kind.SKIP:
            return
        try:
            if entry.kind is Kind.OPAQUE:
                self._opaque(entry)
            elif not entry.path:  # the root directory itself
                self._attrs_fd(entry, self.rootfd)
                self._dir_times[()] = (entry.atime_ns, entry.mtime_ns)
            else:
                pfd = self._parent(entry, entry.path[:-1], create=True)
                self._make(entry, pfd, entry.path[-1], data)
        except OSError as e:
            raise self._fail(entry, f"cannot be written ({e.strerror})", e) from None

    def _opaque(self, entry: Entry) -> None:
        if entry.path:
            pfd = self._parent(entry, entry.path[:-1], create=True)
            st = fs.lstat_at(pfd, entry.path[-1])
            if st is None:
                os.mkdir(entry.path[-1], 0o755, dir_fd=pfd)
            elif not stat.S_ISDIR(st.st_mode):
                raise self._fail(entry, "marks something opaque that is not a directory")
        fd = self.rootfd if not entry.path else self._open_dir(entry.path)
        try:
            os.setxattr(fd, OPAQUE_XATTR if userns.in_initial() else USER_OPAQUE_XATTR, b"y")
        finally:
            if fd != self.rootfd:
                os.close(fd)

    def _clear(self, entry: Entry, pfd: int, name: str) -> None:
        """Make room for the entry: tar semantics replace what is there, except a directory over a directory."""
        st = fs.lstat_at(pfd, name)
        if st is None:
            return
        if entry.kind is Kind.DIR and stat.S_ISDIR(st.st_mode):
            return
        if stat.S_ISDIR(st.st_mode):
            self._forget_under(entry.path)
        fs.remove_at(pfd, name)

    def _forget_under(self, path: tuple[str, ...]) -> None:
        if self._cached is not None and self._cached[0][: len(path)] == path:
            self._forget()

    def _fresh(self, entry: Entry, pfd: int, name: str, make: Callable[[], object]) -> None:
        """Run `make` (which creates `name` and fails with EEXIST when it is taken); if taken, clear it and retry."""
        try:
            make()
        except FileExistsError:
            self._clear(entry, pfd, name)
            make()

    def _make(self, entry: Entry, pfd: int, name: str, data: _Content | None) -> None:
        kind = entry.kind
        if kind is Kind.FILE:
            self._file(entry, pfd, name, data)
        elif kind is Kind.DIR:
            self._dir(entry, pfd, name)
        elif kind is Kind.HARDLINK:
            self._hardlink(entry, pfd, name)
        elif kind is Kind.WHITEOUT:
            self._fresh(entry, pfd, name, lambda: fs.mknodat(pfd, name, stat.S_IFCHR | 0o000, os.makedev(0, 0)))
            fs.lchown_at(pfd, name, 0, 0)
        else:
            self._special(entry, pfd, name)

    def _special(self, entry: Entry, pfd: int, name: str) -> None:
        """Symlinks, device nodes and fifos: made, then owned, moded and timed by name without following them."""
        kind = entry.kind
        if kind is Kind.SYMLINK:
            self._fresh(entry, pfd, name, lambda: os.symlink(entry.linkname, name, dir_fd=pfd))
        elif kind in (Kind.CHAR, Kind.BLOCK):
            ftype = stat.S_IFCHR if kind is Kind.CHAR else stat.S_IFBLK
            dev = os.makedev(entry.devmajor, entry.devminor)
            self._fresh(entry, pfd, name, lambda: fs.mknodat(pfd, name, ftype | 0o600, dev))
        else:
            self._fresh(entry, pfd, name, lambda: os.mkfifo(name, 0o600, dir_fd=pfd))
        fs.lchown_at(pfd, name, entry.uid, entry.gid)
        if kind is not Kind.SYMLINK:
            fs.chmod_at(pfd, name, entry.mode)  # after chown, which clears setuid/setgid
        for key, value in entry.xattrs.items():
            _set_xattr(lambda k, v: fs.lsetxattr_at(pfd, name, k, v), key, value)
        fs.utime_at(pfd, name, entry.atime_ns, entry.mtime_ns)

    def _dir(self, entry: Entry, pfd: int, name: str) -> None:
        """A directory, or the one already there (tar semantics), owned and moded through an fd; times come last."""
        try:
            os.mkdir(name, 0o700, dir_fd=pfd)
        except FileExistsError:
            st = fs.lstat_at(pfd, name)
            if st is None or not stat.S_ISDIR(st.st_mode):
                self._clear(entry, pfd, name)
                os.mkdir(name, 0o700, dir_fd=pfd)
        # a single component opened with O_NOFOLLOW from a directory resolved inside the root stays inside it
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            self._attrs_fd(entry, fd)
        finally:
            os.close(fd)
        self._dir_times[entry.path] = (entry.atime_ns, entry.mtime_ns)

    def _file(self, entry: Entry, pfd: int, name: str, data: _Content | None) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, 0o600, dir_fd=pfd)
        except FileExistsError:
            self._clear(entry, pfd, name)
            fd = os.open(name, flags, 0o600, dir_fd=pfd)
        try:
            if data is not None:
                self._content(fd, entry.size, data)
            self._attrs_fd(entry, fd)
            os.utime(fd, ns=(entry.atime_ns, entry.mtime_ns))
        finally:
            os.close(fd)

    def _content(self, fd: int, size: int, data: _Content) -> None:
        remaining = size
        while remaining:
            try:
                chunk = data(min(remaining, _CHUNK))
            except Exception as e:  # noqa: BLE001 - a reading error, not a writing one: raised as it is
                raise _ContentError(e) from e
            if not chunk:
                raise _ContentError(tarfile.ReadError("unexpected end of data"))
            _write_all(fd, chunk)
            remaining -= len(chunk)
        self.size += size

    def _attrs_fd(self, entry: Entry, fd: int) -> None:
        os.fchown(fd, entry.uid, entry.gid)
        os.fchmod(fd, entry.mode)
        for key, value in entry.xattrs.items():
            _set_xattr(lambda k, v: os.setxattr(fd, k, v), key, value)

    def _hardlink(self, entry: Entry, pfd: int, name: str) -> None:
        tparts = entry.link_path
        try:
            tfd = self._open_dir(tparts[:-1])
        except OSError as e:
            raise self._fail(entry, "links to a target " + _REFUSED.get(e.errno, "that is not in the layer"),
                             e) from None
        try:
            st = fs.lstat_at(tfd, tparts[-1])
            if st is None:
                raise self._fail(entry, f"links to {'/'.join(tparts)!r}, which is not in the layer")
            if stat.S_ISDIR(st.st_mode):
                raise self._fail(entry, "is a hard link to a directory")
            self._clear(entry, pfd, name)
            fs.linkat(tfd, tparts[-1], pfd, name)
        finally:
            os.close(tfd)

    def finish(self) -> None:
        """Directory times last: every entry made inside a directory moved its mtime."""
        self._forget()
        for parts, (atime, mtime) in self._dir_times.items():
            try:
                fd = self._open_dir(parts)
            except OSError:
                continue  # replaced by a later entry
            try:
                os.utime(fd, ns=(atime, mtime))
            finally:
                os.close(fd)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _set_xattr(setter, key: str, value: bytes) -> None:  # noqa: ANN001
    try:
        setter(key, value)
    except OSError as e:
        # user.* cannot live on symlinks or device nodes; a file system without xattrs cannot hold them at all
        if e.errno not in (errno.EPERM, errno.ENOTSUP):
            raise


@contextmanager
def decompressed(stream: BinaryIO, compression: str) -> Iterator[Readable]:
    """A reader of a layer blob's uncompressed bytes (the stream itself stays open); bad data raises Invalid."""
    reader = decompressing(stream, compression)
    try:
        yield reader
    except decompress_errors() as e:
        raise Invalid(f"bad {compression} data: {e}") from None
    finally:
        if reader is not stream:
            reader.close()  # type: ignore[attr-defined]
