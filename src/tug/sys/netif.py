"""Interface flags by ioctl: enough to bring the loopback device of a fresh network namespace up without netlink."""

from __future__ import annotations

import _socket
import fcntl
import struct

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def link_up(name: str = "lo") -> None:
    """Set IFF_UP on `name` in the calling process's network namespace (needs CAP_NET_ADMIN there)."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
    try:
        req = struct.pack("16sH14x", name.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", name.encode(), flags | IFF_UP))
    finally:
        s.close()
