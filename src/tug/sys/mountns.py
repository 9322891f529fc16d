"""Private mount namespaces and plain mounts, for the engine's launcher.

The engine never mounts in the host's namespace: a launcher process unshares a mount namespace, makes it private
(MS_REC|MS_PRIVATE) before anything else, mounts the container's root filesystem, then execs the runtime.
"""

from __future__ import annotations

import ctypes
import os

from tug.sys.libc import check, libc

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2

libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]


def _b(s: str | None) -> bytes | None:
    return os.fsencode(s) if s is not None else None


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    check(libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {fstype or ''} on {target}", target)


def umount(target: str, flags: int = 0) -> None:
    check(libc.umount2(_b(target), flags), f"umount {target}", target)


def enter_private_mount_namespace() -> None:
    """unshare(CLONE_NEWNS) for the calling (single-threaded) process, then make every mount private."""
    check(libc.unshare(CLONE_NEWNS), "unshare mount namespace")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
