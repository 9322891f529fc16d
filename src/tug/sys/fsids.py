"""Acting on the filesystem as another uid/gid while keeping root's capabilities (setfsuid/setfsgid + capset).

Used where files must be created as a user namespace's root through an idmapped mount (issue 7): overlayfs records
its mounter's credentials and creates its work dir with them, and a kernel uid 0 has no on-disk id on a mount
idmapped to the container's range. Changing the fs uid away from 0 clears the filesystem capabilities from the
effective set (capabilities(7)); they are raised again from the permitted set, and come back by themselves when the
fs uid returns to 0. Per thread: call it from the thread that does the work.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager

from tug.sys import caps
from tug.sys.libc import libc

libc.setfsuid.argtypes = [ctypes.c_uint]
libc.setfsgid.argtypes = [ctypes.c_uint]


def become(uid: int, gid: int) -> None:
    """From now on (this thread) act on the filesystem as uid:gid, keeping the capabilities."""
    effective, permitted, inheritable = caps.get()
    libc.setfsgid(gid)
    libc.setfsuid(uid)
    caps.set(effective, permitted, inheritable)


@contextmanager
def acting_as(uid: int, gid: int) -> Iterator[None]:
    """Within the block, files are created (and access is checked) as uid:gid, with the caller's capabilities."""
    effective, permitted, inheritable = caps.get()
    old_gid = libc.setfsgid(gid)
    old_uid = libc.setfsuid(uid)
    try:
        caps.set(effective, permitted, inheritable)
        yield
    finally:
        libc.setfsuid(old_uid)
        libc.setfsgid(old_gid)
        caps.set(effective, permitted, inheritable)
