"""The runtime <-> init channel: two pipes with one-line messages.

parent -> init: `cg` once the container's cgroup dirs exist (the init bind-mounts them), `go` once the init sits in
its cgroup.
init -> parent: `ready` (set up, about to block on the exec fifo), `error CODE MESSAGE`. The init's end is
close-on-exec, so EOF after `ready` means the container process was exec'd.
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure, TugError


class Message:
    def __init__(self, kind: str, code: int = 0, text: str = "") -> None:
        self.kind, self.code, self.text = kind, code, text

    def error(self) -> TugError:
        err = TugError(self.text)
        err.exit_code = self.code or 125
        return err


class Reader:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""

    def next(self) -> Message | None:
        """The next message, None at EOF."""
        while b"\n" not in self.buf:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        kind, _, rest = line.decode("utf-8", "replace").partition(" ")
        if kind == "error":
            code, _, text = rest.partition(" ")
            return Message("error", int(code) if code.isdigit() else 125, text)
        return Message(kind)

    def expect(self, kind: str, what: str) -> None:
        """Wait for `kind`; raise the init's error, or SystemFailure if it died silently."""
        msg = self.next()
        if msg is None:
            raise SystemFailure(f"container init exited during {what}")
        if msg.kind == "error":
            raise msg.error()
        if msg.kind != kind:
            raise SystemFailure(f"container init sent {msg.kind!r} during {what}, expected {kind!r}")


def send(fd: int, kind: str, code: int = 0, text: str = "") -> bool:
    """Write one message; False when the other side is gone."""
    line = f"{kind} {code} {text}" if kind == "error" else kind
    data = (line.replace("\n", " ") + "\n").encode("utf-8", "replace")
    try:
        os.write(fd, data)
        return True
    except OSError:
        return False


def wait_go(fd: int) -> None:
    wait_for(fd, b"go")


def wait_for(fd: int, token: bytes) -> None:
    """Read exactly `token` (the parent's messages are fixed two-byte words, written in order)."""
    data = b""
    while len(data) < len(token):
        chunk = os.read(fd, len(token) - len(data))
        if not chunk:
            break
        data += chunk
    if data != token:
        os._exit(125)  # the runtime went away before the container was set up
