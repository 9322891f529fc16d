"""Namespaces: unshare(2), setns(2) and the CLONE_NEW* flags by OCI name."""

from __future__ import annotations

import ctypes
import os

from tug.sys.libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# OCI linux.namespaces[].type -> (clone flag, /proc/PID/ns entry)
BY_OCI_TYPE: dict[str, tuple[int, str]] = {
    "pid": (CLONE_NEWPID, "pid"),
    "network": (CLONE_NEWNET, "net"),
    "mount": (CLONE_NEWNS, "mnt"),
    "ipc": (CLONE_NEWIPC, "ipc"),
    "uts": (CLONE_NEWUTS, "uts"),
    "user": (CLONE_NEWUSER, "user"),
    "cgroup": (CLONE_NEWCGROUP, "cgroup"),
    "time": (CLONE_NEWTIME, "time"),
}

libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


def unshare(flags: int) -> None:
    check(libc.unshare(flags), "unshare namespaces")


def setns(fd: int, nstype: int = 0, where: str | None = None) -> None:
    check(libc.setns(fd, nstype), "setns", where)


def join(path: str, nstype: int) -> None:
    """setns to the namespace file at `path` (a /proc/PID/ns/* entry or a bind mount of one)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd, nstype, where=path)
    finally:
        os.close(fd)


def same_namespace(path_a: str, path_b: str) -> bool:
    a, b = os.stat(path_a), os.stat(path_b)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
