"""openat2(2) (syscall 437): open a path resolved strictly inside a directory fd.

Layer extraction resolves every parent directory with `RESOLVE_IN_ROOT` so `..`, absolute symlinks and magic links
can never lead outside the snapshot, whatever an earlier entry of the layer planted there.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os

from tug.errors import SystemFailure
from tug.sys.libc import SYS_OPENAT2, libc

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
RESOLVE_CACHED = 0x20


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_syscall = libc.syscall
_syscall.restype = ctypes.c_long


def openat2(dirfd: int, path: str | bytes, flags: int, mode: int = 0, resolve: int = RESOLVE_IN_ROOT) -> int:
    """Return a new fd (O_CLOEXEC is always added). Raises OSError with the kernel's errno, as `os.open` does.

    `EAGAIN` (a concurrent rename raced the lookup) is retried a few times.
    """
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    raw = os.fsencode(path) if isinstance(path, str) else path
    for _ in range(16):
        fd = _syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dirfd), ctypes.c_char_p(raw),
                      ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err != _errno.EAGAIN:
            raise OSError(err, os.strerror(err), os.fsdecode(raw))
    raise OSError(_errno.EAGAIN, os.strerror(_errno.EAGAIN), os.fsdecode(raw))


def available() -> bool:
    """True when the kernel has openat2 (Linux >= 5.6)."""
    root = os.open("/", os.O_PATH | os.O_CLOEXEC)
    try:
        os.close(openat2(root, ".", os.O_PATH | os.O_DIRECTORY))
    except OSError as e:
        if e.errno == _errno.ENOSYS:
            return False
        raise SystemFailure(f"openat2 probe failed: {e.strerror}", errno=e.errno) from None
    finally:
        os.close(root)
    return True
