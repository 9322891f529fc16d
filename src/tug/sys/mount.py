"""mount(2), umount2(2), pivot_root(2) and the MS_* flags, for the runtime's rootfs set-up.

Targets are usually `/proc/self/fd/N` magic links to an O_PATH fd resolved inside the container's root, so a mount
lands on exactly the inode that was resolved, whatever symlinks the image planted.
"""

from __future__ import annotations

import ctypes
import os

from tug.sys.libc import SYS_MOUNT_SETATTR, SYS_PIVOT_ROOT, check, libc, syscall

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 0x2

PROPAGATION = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED
# statvfs f_flag bits that a bind remount must keep (ST_* share the MS_* values)
KEPT_ON_REMOUNT = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME

libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _b(s: str | None) -> bytes | None:
    return os.fsencode(s) if s is not None else None


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0, data: str | None = None,
          where: str | None = None) -> None:
    what = f"mount {fstype or source or ''} on {where or target}"
    check(libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data) if data else None), what, where or target)


def umount(target: str, flags: int = 0) -> None:
    check(libc.umount2(_b(target), flags), f"umount {target}", target)


def set_propagation(target: str, flags: int, where: str | None = None) -> None:
    mount(None, target, None, flags, None, where=where)


def current_flags(path: str) -> int:
    """The per-mount flags of the mount holding `path` (ro, nosuid, nodev, noexec, atime bits)."""
    return os.statvfs(path).f_flag & KEPT_ON_REMOUNT


def bind_remount(target: str, flags: int, where: str | None = None) -> None:
    """Remount a bind mount with `flags` added to what it already has (so locked flags are kept)."""
    mount(None, target, None, MS_REMOUNT | MS_BIND | current_flags(target) | flags, None, where=where)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


_AT_EMPTY_PATH, _AT_RECURSIVE = 0x1000, 0x8000
_MOUNT_ATTR = {MS_RDONLY: 0x1, MS_NOSUID: 0x2, MS_NODEV: 0x4, MS_NOEXEC: 0x8, MS_NODIRATIME: 0x80}
_MOUNT_ATTR__ATIME, _MOUNT_ATTR_NOATIME, _MOUNT_ATTR_STRICTATIME = 0x70, 0x10, 0x20  # MOUNT_ATTR_RELATIME is 0


def mount_attr(flags: int) -> tuple[int, int]:
    """MS_* flags -> (attr_set, attr_clr) of struct mount_attr; an atime mode replaces the current one."""
    attr_set = sum(bit for ms, bit in _MOUNT_ATTR.items() if flags & ms)
    atime = {MS_RELATIME: 0, MS_NOATIME: _MOUNT_ATTR_NOATIME, MS_STRICTATIME: _MOUNT_ATTR_STRICTATIME}
    for ms, mode in atime.items():
        if flags & ms:
            return attr_set | mode, _MOUNT_ATTR__ATIME
    return attr_set, 0


def add_flags_recursive(fd: int, flags: int, where: str | None = None) -> None:
    """mount_setattr(2) with AT_RECURSIVE on the mount `fd` is the root of: `flags` (MS_RDONLY, MS_NOSUID, MS_NODEV,
    MS_NOEXEC, an atime mode) added to it and every mount below it in one call; other flags are kept.
    Raises SystemFailure with errno ENOSYS on kernels before 5.12."""
    attr = _MountAttr(*mount_attr(flags), 0, 0)
    syscall(SYS_MOUNT_SETATTR, fd, b"", _AT_EMPTY_PATH | _AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr),
            what="mount_setattr", where=where)


def pivot_root(new_root: str, put_old: str) -> None:
    syscall(SYS_PIVOT_ROOT, os.fsencode(new_root), os.fsencode(put_old), what="pivot_root", where=new_root)
