"""A build's scratch directory, owned by a live process, and the removal of those whose owner died.

Every build works in `<root>/tmp/build-<random>/` (its context copy for a tarball or stdin, copy and heredoc
staging). The directory is made under a `.building-` name, its `owner` file is opened and `flock`ed, and only then
is it renamed to `build-*`, so a `build-*` directory always has a held lock while its build lives. The lock fd is
close-on-exec: build containers and `tug-runtime` never hold it, forked helpers (the copy child, the RUN launcher)
share it, so a directory stays owned while any part of its build still runs. The build notes there every build
container it makes (`containers`, one id a line) before making it.

A SIGKILLed build leaves its directory, maybe a build container directory, runtime state and even a running
container. `remove_stale` (run at the start of every build, by `builder prune` and by `system check --repair`)
takes the lock of each `build-*` directory without waiting: taking it proves the owner is gone, and then its
containers are deleted through the runtime (which kills what still runs), their directories and network records
removed, and the scratch directory with them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tug.engine.engine import Engine

PREFIX = "build-"
NEW_PREFIX = ".building-"
OWNER = "owner"
CONTAINERS = "containers"
NEW_GRACE = 60.0  # seconds a `.building-` directory may exist before it counts as left over


class BuildWork:
    """The scratch directory of one build, locked for as long as this object (or a fork of it) lives."""

    def __init__(self, tmp: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        name = os.urandom(8).hex()
        new = tmp / f"{NEW_PREFIX}{name}"
        new.mkdir(mode=0o700)
        self.fd = os.open(new / OWNER, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        self.path = tmp / f"{PREFIX}{name}"
        os.rename(new, self.path)

    def note_container(self, ctr_id: str) -> None:
        """Record a build container before it is made, so a cleaner can undo it if this build dies."""
        fd = os.open(self.path / CONTAINERS, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, f"{ctr_id}\n".encode())
        finally:
            os.close(fd)

    def close(self) -> None:
        if self.fd < 0:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.fd)
        self.fd = -1


def _containers(d: Path) -> list[str]:
    try:
        text = (d / CONTAINERS).read_text()
    except OSError:
        return []
    return [x for x in text.split() if len(x) == 64 and all(c in "0123456789abcdef" for c in x)]


def remove_container(eng: Engine, ctr_id: str) -> None:
    """Undo a build container from its id alone: the runtime's state (killing what runs), network, directory."""
    import subprocess

    from tug.engine.lifecycle import runtime_cmd

    if (eng.runtime_root / ctr_id).exists():
        subprocess.run(runtime_cmd(eng, "delete", "--force", ctr_id), capture_output=True, check=False, timeout=60)
    try:
        from tug.network.attachment import release

        release(eng.runroot, ctr_id)
    except Exception:  # noqa: BLE001 - a network record that cannot be released is left to system check
        pass
    shutil.rmtree(eng.container_dir(ctr_id), ignore_errors=True)


def _owned(d: Path) -> int | None:
    """An fd holding the lock of a build directory whose owner is gone; None while its owner lives."""
    try:
        fd = os.open(d / OWNER, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return -1  # no owner file: never owned (or half removed)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def stale(tmp: Path) -> list[Path]:
    """The scratch directories under `tmp` whose owner is gone (read-only: the locks are released again)."""
    out = []
    for d in _candidates(tmp):
        fd = _owned(d)
        if fd is not None:
            out.append(d)
            if fd >= 0:
                os.close(fd)
    return out


def _candidates(tmp: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(tmp))
    except FileNotFoundError:
        return []
    out = []
    now = time.time()
    for n in names:
        p = tmp / n
        if n.startswith(PREFIX):
            out.append(p)
        elif n.startswith(NEW_PREFIX):
            try:
                if now - p.stat().st_mtime > NEW_GRACE:
                    out.append(p)
            except FileNotFoundError:
                continue
    return out


def remove_one(eng: Engine, d: Path) -> bool:
    """Remove one scratch directory and its build containers if its owner is gone; whether it did."""
    fd = _owned(d)
    if fd is None:
        return False
    try:
        for ctr_id in _containers(d):
            remove_container(eng, ctr_id)
        shutil.rmtree(d, ignore_errors=True)
    finally:
        if fd >= 0:
            os.close(fd)
    return True


def remove_stale(eng: Engine) -> list[Path]:
    """Remove every build scratch directory (and its build containers) whose owner is gone; what was removed."""
    return [d for d in _candidates(eng.layout.tmp) if remove_one(eng, d)]
