"""COPY, ADD and WORKDIR as file operations, run chrooted in the image's root (see sandbox.py).

Sources are read through the fd of their root with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)`, so a path
swapped for a symlink between hashing and copying fails instead of leading elsewhere. Destinations are ordinary
paths in the chroot: symlinks in the image resolve inside the image, as docker's chrooted copier resolves them.

Modes: without `--chmod`, group and other write bits are cleared (`mode & ~0o022`), so the same context gives the
same layer whatever the umask was when its files were made. Owners are `--chown`'s ids or 0:0. Times are left to
the layer writer, which clamps them to the build's epoch.
"""

from __future__ import annotations

import os
import stat

from tug.engine.build.archive import archive_kind, open_tar
from tug.engine.build.context import Entry, Source
from tug.errors import Invalid, NotFound
from tug.records import record
from tug.sys.openat2 import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, openat2

_STRICT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS
_CHUNK = 1 << 20
UMASK_BITS = 0o022


@record
class CopySpec:
    dest: str  # absolute, in the image; a trailing "/" means a directory
    owner: tuple[int, int] = (0, 0)
    chmod: int | None = None
    extract: bool = False  # ADD: unpack local tar archives
    multiple: bool = False  # more than one source: dest is a directory


def mkdirs(path: str, owner: tuple[int, int], mode: int = 0o755) -> None:
    """mkdir -p; directories made here get `owner` (existing ones are left alone)."""
    parts = [p for p in path.split("/") if p]
    cur = ""
    for p in parts:
        cur += "/" + p
        try:
            os.mkdir(cur, mode)
        except FileExistsError:
            if not os.path.isdir(cur):
                raise Invalid(f"cannot create directory {cur}: a file is in the way") from None
            continue
        os.chmod(cur, mode)
        os.lchown(cur, *owner)


def _mode(e: Entry, spec: CopySpec) -> int:
    if spec.chmod is not None:
        return spec.chmod
    return e.mode & ~UMASK_BITS & 0o7777


def _remove_non_dir(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise Invalid(f"cannot copy to {path}: it is a directory in the image")
    os.unlink(path)


def _copy_file(src_fd: int, src_path: str, target: str, e: Entry, spec: CopySpec) -> None:
    rfd = openat2(src_fd, src_path or ".", os.O_RDONLY | os.O_CLOEXEC, 0, _STRICT)
    try:
        _remove_non_dir(target)
        wfd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while data := os.read(rfd, _CHUNK):
                view = memoryview(data)
                while view:
                    n = os.write(wfd, view)
                    view = view[n:]
            os.fchown(wfd, *spec.owner)
            os.fchmod(wfd, _mode(e, spec))
        finally:
            os.close(wfd)
    finally:
        os.close(rfd)


def _make(src_fd: int, src_path: str, target: str, e: Entry, spec: CopySpec) -> None:
    if e.kind == "dir":
        try:
            os.mkdir(target, 0o700)
        except FileExistsError:
            if not os.path.isdir(target) or os.path.islink(target):
                _remove_non_dir(target)
                os.mkdir(target, 0o700)
        os.lchown(target, *spec.owner)
        os.chmod(target, _mode(e, spec))
    elif e.kind == "symlink":
        _remove_non_dir(target)
        os.symlink(e.link, target)
        os.lchown(target, *spec.owner)
    elif e.kind == "file":
        _copy_file(src_fd, src_path, target, e, spec)


def _is_dir(path: str) -> bool:
    return os.path.isdir(path)


def _extract(src_fd: int, src_path: str, dest: str, compression: str) -> None:
    from tug.store.layers import apply_layer

    fd = openat2(src_fd, src_path or ".", os.O_RDONLY | os.O_CLOEXEC, 0, _STRICT)
    with os.fdopen(fd, "rb") as f:
        apply_layer(open_tar(f, compression), "none", dest, where=f"ADD {src_path}")


def _archive_compression(src_fd: int, src_path: str) -> str | None:
    fd = openat2(src_fd, src_path or ".", os.O_RDONLY | os.O_CLOEXEC, 0, _STRICT)
    try:
        return archive_kind(fd)
    finally:
        os.close(fd)


def copy_sources(src_fd: int, sources: list[Source], spec: CopySpec) -> None:
    """Copy every source to `spec.dest` as docker's COPY/ADD places them."""
    dest = spec.dest
    into_dir = dest.endswith("/") or spec.multiple or len(sources) > 1 or _is_dir(dest)
    if len(sources) > 1 and not dest.endswith("/"):
        raise Invalid("When using COPY with more than one source file, the destination must be a directory and "
                      "end with a /")
    for src in sources:
        if not src.entries:
            raise NotFound(f"{src.path}: not found")
        if src.prefix:  # COPY --parents: the source's parents are kept below the destination
            below = CopySpec(f"{dest.rstrip('/')}/{src.prefix}/", spec.owner, spec.chmod, spec.extract, True)
            _copy_one(src_fd, src, below, True)
            continue
        _copy_one(src_fd, src, spec, into_dir)


def _copy_one(src_fd: int, src: Source, spec: CopySpec, into_dir: bool) -> None:
    dest = spec.dest
    if src.is_dir:
        mkdirs(dest, spec.owner)
        base = dest.rstrip("/") or ""
        for e in src.entries[1:]:
            path = f"{src.path}/{e.rel}" if src.path else e.rel
            _make(src_fd, path, f"{base}/{e.rel}", e, spec)
        return
    if spec.extract:
        compression = _archive_compression(src_fd, src.path)
        if compression is not None:
            mkdirs(dest, spec.owner)
            _extract(src_fd, src.path, dest, compression)
            return
    if into_dir:
        mkdirs(dest, spec.owner)
        target = f"{dest.rstrip('/')}/{src.name}"
    else:
        parent = os.path.dirname(dest.rstrip("/")) or "/"
        mkdirs(parent, spec.owner)
        target = dest
    _make(src_fd, src.path, target, src.entries[0], spec)


def make_workdir(path: str) -> None:
    mkdirs(path, (0, 0))
