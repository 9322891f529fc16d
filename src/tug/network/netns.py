"""Network namespaces held by file descriptors, never by mounts.

`create()` gives an O_CLOEXEC fd on a fresh network namespace: the calling thread unshares one, opens its
`/proc/thread-self/ns/net`, and returns to the namespace it came from. The namespace lives as long as that fd or any
process inside it: the engine passes `/proc/<its pid>/fd/<fd>` to the runtime as the spec's network path, keeps the
fd while the container runs, and closes it afterwards. Nothing is bind-mounted, so the host's mount table never
changes, and a killed engine leaks nothing: the namespace (with its veth end) goes with the container's last process.
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure
from tug.sys import ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Sequence

SELF_NET = "/proc/thread-self/ns/net"


def create() -> int:
    """A new network namespace, as an fd; the calling thread stays in (or returns to) its own namespace."""
    home = os.open(SELF_NET, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ns.unshare(ns.CLONE_NEWNET)
        try:
            fd = os.open(SELF_NET, os.O_RDONLY | os.O_CLOEXEC)
        finally:
            ns.setns(home, ns.CLONE_NEWNET, where=SELF_NET)
    finally:
        os.close(home)
    return fd


def path_of(fd: int) -> str:
    """A path any process of this host can open to reach the namespace while this process holds `fd`."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def open_path(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SystemFailure(f"open network namespace: {e.strerror}", errno=e.errno, where=path) from None


def run_in(fd: int | None, argv: Sequence[str], stdin: str | None = None,
           timeout: float = 30) -> subprocess.CompletedProcess:
    """Run `argv` inside the namespace of `fd` (the host's when None); output captured as text."""
    import subprocess

    def enter() -> None:
        if fd is not None:
            ns.setns(fd, ns.CLONE_NEWNET)

    return subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=enter if fd is not None else None)
