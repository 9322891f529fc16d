"""`start`: let a created container's init go on to exec the user process."""

from __future__ import annotations

import os

from tug.errors import Conflict, SystemFailure
from tug.runtime import state
from tug.runtime.state import Container
from tug.sys.proc import is_alive


def release(c: Container) -> None:
    """Read the exec fifo (the init blocks opening its write end), then remove it: the container is running."""
    import select

    try:
        fd = os.open(c.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Conflict(f"cannot start container {c.id}: it was already started", where=c.id) from None
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                data = os.read(fd, 16)
                break
            if not is_alive(c.pid, c.data.get("initStartTime")):
                raise SystemFailure(f"cannot start container {c.id}: its init exited", where=c.id)
    finally:
        os.close(fd)
    try:
        os.unlink(c.fifo)
    except FileNotFoundError:
        pass
    if not data:
        raise SystemFailure(f"cannot start container {c.id}: the init closed the exec fifo", where=c.id)


def started(c: Container) -> None:
    """`run`: the init did not wait for `start` (create(start_now=True)); the container is running once the fifo
    that marks it created is gone."""
    try:
        os.unlink(c.fifo)
    except FileNotFoundError:
        pass


def cmd_start(root: str, cid: str) -> int:
    c = state.load(root, cid)
    state.require(c, "created", action="start")
    release(c)
    return 0
