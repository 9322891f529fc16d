"""Interface flags by ioctl: enough to bring the loopback device of a fresh network namespace up without netlink."""

from __future__ import annotations

import fcntl
import os
import struct

from tug.sys.libc import check, libc

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
AF_INET, SOCK_DGRAM, SOCK_CLOEXEC = 2, 2, 0o2000000


def link_up(name: str = "lo") -> None:
    """Set IFF_UP on `name` in the calling process's network namespace (needs CAP_NET_ADMIN there)."""
    # socket(2) through libc, which the runtime has loaded anyway (`_socket` would cost its start-up ~0.5 ms)
    s = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", name)
    try:
        req = struct.pack("16sH14x", name.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", name.encode(), flags | IFF_UP))
    finally:
        os.close(s)
