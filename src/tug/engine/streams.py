"""The framing spoken on a monitor's attach socket: one byte of kind, four bytes of length, the payload.

Clients (attach, foreground run, stop, kill) send HELLO first (JSON: which streams they want), then stdin bytes,
resizes, signals or a stop request. The monitor sends stdout/stderr bytes and, when the container's process ends,
EXIT with the exit code as ASCII. Small and dependency-free: the monitor imports it.
"""

from __future__ import annotations

import os
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket

HEADER = struct.Struct("!BI")

# client -> monitor
HELLO = 1  # JSON {"stdin": bool, "stdout": bool, "stderr": bool}
STDIN = 2
STDIN_EOF = 3
RESIZE = 4  # "!HH" rows, columns
SIGNAL = 5  # ASCII signal number, delivered as is (sig-proxy)
KILL = 6  # ASCII signal number; the container is not restarted afterwards (docker kill)
STOP = 7  # ASCII "timeout signal": signal, wait, SIGKILL; not restarted afterwards (docker stop)
EXEC = 8  # JSON options line, then the process document; the caller's stdin/stdout/stderr attached (SCM_RIGHTS)
PTY = 9  # an `exec -it` detached: its pty master attached (SCM_RIGHTS), kept and drained until the process ends

# monitor -> client
STDOUT = 16
STDERR = 17
EXIT = 18  # ASCII exit code
ERROR = 19  # UTF-8 message


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class Decoder:
    """Accumulates bytes and yields complete frames."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf.extend(data)
        out = []
        while len(self.buf) >= HEADER.size:
            kind, n = HEADER.unpack_from(self.buf)
            if len(self.buf) < HEADER.size + n:
                break
            out.append((kind, bytes(self.buf[HEADER.size:HEADER.size + n])))
            del self.buf[:HEADER.size + n]
        return out


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def recv_fds(conn: _socket.socket, maxfds: int = 4) -> list[int]:
    """The file descriptors a peer sent with SCM_RIGHTS (a console's pty master), close-on-exec; what
    `socket.recv_fds` does, on a bare `_socket.socket` too."""
    import _socket

    _msg, anc, _flags, _addr = conn.recvmsg(4096, _socket.CMSG_SPACE(maxfds * 4), _socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            n = len(data) // 4
            fds.extend(struct.unpack(f"{n}i", data[:n * 4]))
    return fds
