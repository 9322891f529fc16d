"""Linux capabilities: the name table, capget/capset (version 3), bounding set and ambient set."""

from __future__ import annotations

import ctypes

from tug.sys.libc import check, libc
from tug.sys.prctl import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAP_AMBIENT_RAISE,
    PR_CAPBSET_DROP,
    PR_CAPBSET_READ,
    prctl,
)

NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBER = {name: i for i, name in enumerate(NAMES)}
_VERSION_3 = 0x20080522


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def number(name: str) -> int | None:
    """CAP_X (or X, any case) -> its number, None when unknown."""
    n = name.upper()
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    return NUMBER.get(n)


def to_mask(names: list[str] | None, last: int) -> tuple[int, list[str]]:
    """A bit mask of the known capabilities in `names` up to `last`, and the names that were ignored."""
    mask, unknown = 0, []
    for name in names or ():
        n = number(name)
        if n is None or n > last:
            unknown.append(name)
        else:
            mask |= 1 << n
    return mask, unknown


def mask_names(mask: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"CAP_{i}" for i in range(64) if mask >> i & 1]


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


libc.capget.argtypes = [ctypes.POINTER(_Header), ctypes.POINTER(_Data)]
libc.capset.argtypes = [ctypes.POINTER(_Header), ctypes.POINTER(_Data)]


def get() -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling thread."""
    hdr, data = _Header(_VERSION_3, 0), (_Data * 2)()
    check(libc.capget(ctypes.byref(hdr), data), "capget")
    return tuple((getattr(data[1], f) << 32) | getattr(data[0], f)  # type: ignore[return-value]
                 for f in ("effective", "permitted", "inheritable"))


def set(effective: int, permitted: int, inheritable: int) -> None:  # noqa: A001 - the syscall's name
    hdr, data = _Header(_VERSION_3, 0), (_Data * 2)()
    for i in (0, 1):
        data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
    check(libc.capset(ctypes.byref(hdr), data), "capset")


def bounding(last: int) -> int:
    """The calling thread's bounding set as a mask: no container can hold a capability outside it."""
    mask = 0
    for cap in range(last + 1):
        if prctl(PR_CAPBSET_READ, cap) == 1:
            mask |= 1 << cap
    return mask


def drop_bounding(keep: int, last: int) -> None:
    for cap in range(last + 1):
        if not keep >> cap & 1 and prctl(PR_CAPBSET_READ, cap):
            prctl(PR_CAPBSET_DROP, cap, what=f"drop {NAMES[cap] if cap < len(NAMES) else cap} from bounding set")


def set_ambient(mask: int, last: int) -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, what="clear ambient capabilities")
    for cap in range(last + 1):
        if mask >> cap & 1:
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, what=f"raise ambient {NAMES[cap]}")
