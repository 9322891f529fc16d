"""The one ctypes handle on libc, and a checked `syscall`.

Every other module of `sys/` builds on this; nothing outside `sys/` touches ctypes.
"""

from __future__ import annotations

import ctypes
import os

from tug.errors import SystemFailure

libc = ctypes.CDLL(None, use_errno=True)
_syscall = libc.syscall
_syscall.restype = ctypes.c_long

# x86_64 numbers (aarch64 shares the new-API numbers 424+)
SYS_PIVOT_ROOT = 155 if os.uname().machine == "x86_64" else 41
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_FSOPEN = 430
SYS_FSCONFIG = 431
SYS_FSMOUNT = 432
SYS_CLONE3 = 435
SYS_CLOSE_RANGE = 436
SYS_OPENAT2 = 437
SYS_MOUNT_SETATTR = 442


def check(ret: int, what: str, where: str | None = None) -> int:
    """Raise SystemFailure with errno's text when a libc call returned -1."""
    if ret == -1:
        err = ctypes.get_errno()
        raise SystemFailure(f"{what}: {os.strerror(err)}", errno=err, where=where)
    return ret


def syscall(number: int, *args: object, what: str = "syscall", where: str | None = None) -> int:
    return check(_syscall(ctypes.c_long(number), *args), what, where)
