"""`RUN --mount=type=cache`: the persistent directory an id names, and who may use it while a step runs.

The directory is `<root>/buildcache/mounts/<sha256(id)[:32]>` (the id defaults to the target), made on first use
with the mount's `mode` (0755), `uid` and `gid` (0). With `from=` (a stage or image) and `source=` (a path in it),
the directory is the writable upper layer over that source: the step first sees the source's files, and what it
writes persists in the cache.

Sharing, by an `flock` on `<dir>.lock` held by the builder for the step's duration (never by the container):

  - shared (the default): a shared lock, so any number of steps use the directory at once;
  - locked: an exclusive lock, so the step waits until no other step uses the directory, and others wait for it;
  - private: an exclusive lock if it can be had at once; otherwise the step gets a fresh empty directory of its
    own, removed when the step ends, and the persistent one is left to whoever holds it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from tug.records import record

SHARING = ("shared", "locked", "private")


@record
class CacheUse:
    """One step's use of a cache mount: the directory to mount and what to release after the step."""

    dir: Path
    target: str
    lock_fd: int = -1
    throwaway: bool = False

    def release(self) -> None:
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1
        if self.throwaway:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.throwaway = False


def _make(d: Path, mode: int | None, uid: int | None, gid: int | None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, mode if mode is not None else 0o755)
    os.chown(d, uid or 0, gid or 0)


def acquire(d: Path, target: str, sharing: str, scratch: Path, mode: int | None = None, uid: int | None = None,
            gid: int | None = None, layered: bool = False) -> CacheUse:
    """Take the cache directory `d` as `sharing` asks (see the module docstring). `layered` (a `from=` cache)
    keeps `upper/` and `work/` for an overlay inside it instead of using it as it is."""
    if sharing not in ("", *SHARING):
        raise ValueError(sharing)
    d.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if sharing == "private":
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # in use: a directory of its own, for this step only
                os.close(fd)
                fd = -1
                fresh = Path(tempfile.mkdtemp(prefix="cache-private-", dir=scratch))
                _init(fresh, mode, uid, gid, layered)
                return CacheUse(fresh, target, -1, True)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX if sharing == "locked" else fcntl.LOCK_SH)
        if not d.exists():
            _init(d, mode, uid, gid, layered)
        return CacheUse(d, target, fd)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


def _init(d: Path, mode: int | None, uid: int | None, gid: int | None, layered: bool) -> None:
    if not layered:
        _make(d, mode, uid, gid)
        return
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    (d / "work").mkdir(exist_ok=True)
    _make(d / "upper", mode, uid, gid)
