"""/proc reads and process-level calls: start times, liveness, close_range, host names, rlimits."""

from __future__ import annotations

import ctypes
import os

from tug.sys.libc import SYS_CLOSE_RANGE, check, libc, syscall

CLOSE_RANGE_CLOEXEC = 1 << 2

RLIMITS = {"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
           "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
           "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
           "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15}


class _Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


libc.prlimit64.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Rlimit), ctypes.POINTER(_Rlimit)]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from the state on (index 0 = state, 19 = starttime); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    f = stat_fields(pid)
    return int(f[19]) if f else None


def is_alive(pid: int, started: int | None = None) -> bool:
    """Running (not a zombie) and, when `started` is given, the same process that started then."""
    f = stat_fields(pid)
    if f is None or f[0] in ("Z", "X"):
        return False
    return started is None or int(f[19]) == started


def cloexec_from(low: int = 3) -> None:
    """Mark every fd >= low close-on-exec, so only 0-2 survive the exec."""
    try:
        syscall(SYS_CLOSE_RANGE, ctypes.c_uint(low), ctypes.c_uint(0xFFFFFFFF), ctypes.c_uint(CLOSE_RANGE_CLOEXEC),
                what="close_range")
    except Exception:  # older kernel: walk /proc/self/fd
        import fcntl

        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd >= low:
                try:
                    fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
                except OSError:
                    pass


def sethostname(name: str) -> None:
    b = name.encode()
    check(libc.sethostname(b, len(b)), "sethostname", name)


def setdomainname(name: str) -> None:
    b = name.encode()
    check(libc.setdomainname(b, len(b)), "setdomainname", name)


def getrlimit(resource: int) -> tuple[int, int]:
    old = _Rlimit()
    check(libc.prlimit64(0, resource, None, ctypes.byref(old)), "getrlimit")
    return old.cur, old.max


def setrlimit(resource: int, soft: int, hard: int) -> None:
    new = _Rlimit(soft, hard)
    check(libc.prlimit64(0, resource, ctypes.byref(new), None), "setrlimit")
