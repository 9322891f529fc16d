"""File-system calls relative to directory fds that never follow a final symlink.

Used by layer extraction: the parent directory is an fd resolved inside the snapshot (see `openat2`), the entry is
a single path component, and every call here acts on that component itself, never on what a symlink points to.
Errors are the `OSError`s the kernel gives; callers translate them (they know which tar entry it was).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

AT_FDCWD = -100
RENAME_NOREPLACE = 1 << 0
RENAME_EXCHANGE = 1 << 1
RENAME_WHITEOUT = 1 << 2
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000


def _one_component(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise OSError(errno.EINVAL, "not a single path component", name)
    return name


def _proc_path(dirfd: int, name: str) -> str:
    """A path that reaches `name` inside the directory `dirfd` without resolving anything else."""
    return f"/proc/self/fd/{dirfd}/{_one_component(name)}"


def lstat_at(dirfd: int, name: str) -> os.stat_result | None:
    """lstat of an entry, or None when it does not exist."""
    try:
        return os.stat(_one_component(name), dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def mknodat(dirfd: int, name: str, mode: int, device: int = 0) -> None:
    os.mknod(_one_component(name), mode, device, dir_fd=dirfd)


def lchown_at(dirfd: int, name: str, uid: int, gid: int) -> None:
    """fchownat(AT_SYMLINK_NOFOLLOW): owns a symlink itself, never its target."""
    os.chown(_one_component(name), uid, gid, dir_fd=dirfd, follow_symlinks=False)


def utime_at(dirfd: int, name: str, atime_ns: int, mtime_ns: int) -> None:
    """utimensat(AT_SYMLINK_NOFOLLOW)."""
    os.utime(_one_component(name), ns=(atime_ns, mtime_ns), dir_fd=dirfd, follow_symlinks=False)


def chmod_at(dirfd: int, name: str, mode: int) -> None:
    """chmod an entry that is not a symlink (symlinks have no mode on Linux), without following one.

    fchmodat has no working AT_SYMLINK_NOFOLLOW before fchmodat2, so the entry is pinned with an O_PATH fd first.
    """
    fd = os.open(_one_component(name), os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
    try:
        if stat.S_ISLNK(os.fstat(fd).st_mode):
            raise OSError(errno.ELOOP, "refusing to chmod a symlink", name)
        os.chmod(f"/proc/self/fd/{fd}", mode)
    finally:
        os.close(fd)


def lsetxattr_at(dirfd: int, name: str, key: str, value: bytes) -> None:
    """lsetxattr on an entry of `dirfd` (the xattr lands on a symlink itself, not on its target)."""
    os.setxattr(_proc_path(dirfd, name), key, value, follow_symlinks=False)


def llistxattr_at(dirfd: int, name: str) -> list[str]:
    return os.listxattr(_proc_path(dirfd, name), follow_symlinks=False)


def lgetxattr_at(dirfd: int, name: str, key: str) -> bytes:
    return os.getxattr(_proc_path(dirfd, name), key, follow_symlinks=False)


def linkat(src_dirfd: int, src_name: str, dst_dirfd: int, dst_name: str) -> None:
    """A hard link to the source entry itself (flags 0: a symlink source is linked, not followed)."""
    os.link(_one_component(src_name), _one_component(dst_name), src_dir_fd=src_dirfd, dst_dir_fd=dst_dirfd,
            follow_symlinks=False)


def _libc_call(name: str, *args: object) -> int:
    """libc's `name` through ctypes, loaded at the first call: the store imports this module on every command,
    and ctypes costs ~1.3 ms of start-up that `tug run` never needs."""
    import ctypes

    from tug.sys.libc import libc

    fn = getattr(libc, name)
    fn.restype = ctypes.c_int
    ret = fn(*args)
    return -ctypes.get_errno() if ret == -1 else ret


def renameat2(src_dirfd: int, src: str, dst_dirfd: int, dst: str, flags: int = 0) -> None:
    ret = _libc_call("renameat2", src_dirfd, os.fsencode(src), dst_dirfd, os.fsencode(dst), flags)
    if ret < 0:
        raise OSError(-ret, os.strerror(-ret), f"{src} -> {dst}")


def remove_at(dirfd: int, name: str) -> None:
    """Remove an entry whatever its type; a directory with all it holds. Symlinks are never followed."""
    st = lstat_at(dirfd, name)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(_one_component(name), dir_fd=dirfd)
    else:
        os.unlink(_one_component(name), dir_fd=dirfd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: str | os.PathLike[str]) -> None:
    """Flush the whole file system that holds `path` (cheaper than an fsync per file of a large tree)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ret = _libc_call("syncfs", fd)
    finally:
        os.close(fd)
    if ret < 0:
        from tug.errors import SystemFailure

        raise SystemFailure(f"syncfs: {os.strerror(-ret)}", errno=-ret, where=str(path))


def link_tmpfile(fd: int, dest: str | os.PathLike[str]) -> None:
    """Give an O_TMPFILE file its name: linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW). FileExistsError if taken.

    (Python's os.link calls plain link(2) unless a dir fd is passed, which would link the magic symlink itself.)
    """
    parent, name = os.path.split(os.fspath(dest))
    dirfd = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(f"/proc/self/fd/{fd}", _one_component(name), dst_dir_fd=dirfd, follow_symlinks=True)
    finally:
        os.close(dirfd)


def mark_topdir(path: str | os.PathLike[str]) -> bool:
    """Set FS_TOPDIR_FL (`chattr +T`) on a directory; False where the file system has no such flag.

    ext2/3/4's Orlov allocator then spreads the directories made in it over block groups with free inodes, instead
    of filling the parent's group. It matters for trees that are deleted and made again, as snapshots are: without
    a journal, ext4 skips inodes freed in the last minutes one by one when it allocates, and a tree unpacked where
    an equally large one was just removed pays for that on every file (measured here: 3.3 s against 0.3 s).
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        buf = bytearray(4)
        try:
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
            flags = int.from_bytes(buf, "little")
            if not flags & FS_TOPDIR_FL:
                fcntl.ioctl(fd, FS_IOC_SETFLAGS, (flags | FS_TOPDIR_FL).to_bytes(4, "little"))
        except OSError as e:
            if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM, errno.EACCES):
                return False
            raise
    finally:
        os.close(fd)
    return True
