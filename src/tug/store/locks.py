"""Per-object lock files: `fcntl.flock` on `locks/<name>.lock`.

flock, not lockf: a POSIX lock is dropped by any close of any fd on the file in the process, a flock only when its
own open file description goes. Take several in a fixed order (by name) to avoid deadlocks.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from tug.errors import Invalid, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.store.layout import Layout

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,200}$")


def lock_path(layout: Layout, name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise Invalid(f"bad lock name {name!r}")
    return str(layout.locks / f"{name}.lock")


@contextmanager
def lock(layout: Layout, name: str, shared: bool = False, blocking: bool = True) -> Iterator[None]:
    """Hold the lock `name` for the duration of the block. With blocking=False raise Unavailable if it is held."""
    path = lock_path(layout, name)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        layout.locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        op = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, op if blocking else op | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Unavailable(f"{name} is locked by another tug process", where=path) from None
        yield
    finally:
        os.close(fd)


def try_lock_fd(fd: int) -> bool:
    """Take an exclusive flock on an open fd without waiting; False if another open file description holds one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
