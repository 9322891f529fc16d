"""`tug cp` with `-`: a tar stream on stdout (`cp CTR:PATH -`) or from stdin (`cp - CTR:DIR`), as docker cp.

Both run in cp's forked child after it has changed its root to the container's, so every path (symlinks in the
image, `..`, absolute link targets, members of the archive) resolves inside the container. Nothing may be imported
or looked up by name after the chroot: an import would load the image's Python files and a user-name lookup would
load the image's NSS libraries, both as root on the host. So `prepare()` imports every module first (tarfile and its
decompressors), headers are built from lstat() alone with numeric owners, and extraction never maps names to ids.
"""

from __future__ import annotations

import os
import stat
from typing import Any

CHUNK = 1 << 20


def prepare() -> Any:
    """Import everything the stream needs, before the chroot. Returns the tarfile module."""
    import bz2  # noqa: F401 - tarfile's "r|*" imports the decompressors lazily
    import lzma  # noqa: F401
    import tarfile
    import zlib  # noqa: F401

    return tarfile


def _info(tarfile: Any, path: str, arcname: str, st: os.stat_result) -> Any:
    ti = tarfile.TarInfo(arcname)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = os.readlink(path)
    elif stat.S_ISREG(st.st_mode):
        ti.type = tarfile.REGTYPE
        ti.size = st.st_size
    elif stat.S_ISFIFO(st.st_mode):
        ti.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        return None  # sockets: not archivable (docker skips them too)
    return ti


def _add(tar: Any, tarfile: Any, path: str, arcname: str) -> None:
    st = os.lstat(path)
    ti = _info(tarfile, path, arcname, st)
    if ti is None:
        return
    if ti.type == tarfile.REGTYPE:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            ti.size = os.fstat(fd).st_size
            tar.addfile(ti, f)
        return
    tar.addfile(ti)
    if ti.type == tarfile.DIRTYPE:
        for entry in sorted(os.listdir(path)):
            _add(tar, tarfile, os.path.join(path, entry), f"{arcname}/{entry}")


def write_archive(tarfile: Any, src: str, out_fd: int, follow: bool = True) -> None:
    """A tar of `src` (a path in this process's root; a final symlink followed with `follow` (-L), else archived
    as the link; `dir/.` = the directory's contents) written to `out_fd` as a stream."""
    from tug.engine.cp import source_path

    contents = src.endswith("/.")
    path = os.path.realpath(src[:-2]) if contents else source_path(src, follow)
    st = os.stat(path, follow_symlinks=contents or follow)
    with os.fdopen(os.dup(out_fd), "wb", buffering=CHUNK) as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if contents and stat.S_ISDIR(st.st_mode):
            for entry in sorted(os.listdir(path)):
                _add(tar, tarfile, os.path.join(path, entry), entry)
        else:
            _add(tar, tarfile, path, os.path.basename(path) or ".")


def member_filter(keep_owner: bool) -> Any:
    """Members land under the destination: a leading `/` is dropped, `..` that climbs out is refused, and owners
    become root unless `-a` (docker's default). Modes, setuid bits and device nodes are kept."""
    def keep(member: Any, _dest: str) -> Any:
        name = member.name.lstrip("/")
        norm = os.path.normpath(name) if name else "."
        if norm == ".." or norm.startswith("../"):
            raise ValueError(f"{member.name}: outside the destination")
        if member.islnk():
            link = os.path.normpath(member.linkname.lstrip("/"))
            if link == ".." or link.startswith("../"):
                raise ValueError(f"{member.name}: hard link to {member.linkname} outside the destination")
            member = member.replace(linkname=link, deep=False)
        changes: dict[str, Any] = {"name": norm, "uname": "", "gname": ""}
        if not keep_owner:
            changes.update(uid=0, gid=0)
        return member.replace(**changes, deep=False)

    return keep


def extract_archive(tarfile: Any, in_fd: int, dest: str, keep_owner: bool) -> None:
    """Unpack the tar stream on `in_fd` (plain or compressed) into the directory `dest` (in this process's root)."""
    st = os.stat(dest)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(20, "destination must be a directory", dest)
    with os.fdopen(os.dup(in_fd), "rb", buffering=CHUNK) as f, tarfile.open(fileobj=f, mode="r|*") as tar:
        tar.extraction_filter = member_filter(keep_owner)
        for member in tar:
            tar.extract(member, dest, numeric_owner=True)
