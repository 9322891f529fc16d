"""Content-addressed blobs: `blobs/<algorithm>/<hex>`, present only once verified.

Writes go through an `Ingest`: bytes are hashed while written to a temp file under `tmp/ingest/`, and only a blob
whose size and digest match what was expected is fsynced and renamed (linked) into `blobs/`. A resumable ingest keeps
its bytes in `tmp/ingest/<hex>.partial` when the writer goes away (a dropped download), so the next attempt can ask
the registry for `Range: bytes=<offset>-`. Anything that proves the content wrong (too long, truncated, digest
mismatch) discards the temp file, resumable or not.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from tug.errors import Corrupt, Invalid, NotFound
from tug.oci.digest import Digest
from tug.store.layout import Layout
from tug.sys.fs import fsync_dir, link_tmpfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

_CHUNK = 1 << 20


class ContentStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def path(self, d: Digest) -> Path:
        return self.layout.root / "blobs" / d.algorithm / d.hex

    def has(self, d: Digest) -> bool:
        return self.path(d).is_file()

    def size(self, d: Digest) -> int:
        try:
            return self.path(d).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {d} is not in the store", where=str(self.path(d))) from None

    def open(self, d: Digest) -> BinaryIO:
        """A reader of the blob as stored (verified when it was committed; `read` verifies again)."""
        try:
            return open(self.path(d), "rb")  # noqa: SIM115 - the caller owns it
        except FileNotFoundError:
            raise NotFound(f"blob {d} is not in the store", where=str(self.path(d))) from None

    def read(self, d: Digest, max_size: int | None = None) -> bytes:
        """The blob's bytes, checked against its digest (Corrupt if the file was changed behind our back)."""
        with self.open(d) as f:
            if max_size is not None and os.fstat(f.fileno()).st_size > max_size:
                raise Invalid(f"blob {d} is larger than {max_size} bytes", where=str(self.path(d)))
            data = f.read()
        actual = Digest.of(data, d.algorithm)
        if actual != d:
            raise Corrupt(f"blob {d} on disk has digest {actual}", where=str(self.path(d)),
                          hint="delete it and pull again")
        return data

    def put(self, data: bytes, expected: Digest | None = None) -> Digest:
        if expected is not None and self.has(expected):
            if len(data) != self.size(expected) or Digest.of(data, expected.algorithm) != expected:
                raise Corrupt(f"content does not match digest {expected}")
            return expected
        with self.ingest(expected, len(data)) as ing:
            ing.write(data)
            return ing.commit()

    def ingest(self, expected: Digest | None = None, size: int | None = None, resume: bool = False) -> Ingest:
        return Ingest(self, expected, size, resume)

    def delete(self, d: Digest) -> None:
        """Remove a blob (no error if it is already gone)."""
        try:
            os.unlink(self.path(d))
        except FileNotFoundError:
            pass

    def recover(self) -> list[str]:
        """Remove temp files of ingests that died (unlocked and old); partials are kept a week for resuming."""
        return _recover(self.layout.ingest)

    def list(self) -> Iterator[Digest]:
        base = self.layout.root / "blobs"
        if not base.is_dir():
            return
        for algo_dir in sorted(base.iterdir()):
            if not algo_dir.is_dir():
                continue
            for p in sorted(algo_dir.iterdir()):
                try:
                    yield Digest.parse(f"{algo_dir.name}:{p.name}")
                except Invalid:
                    continue


def _open_locked(path: Path) -> int:
    """Open (creating) and flock a partial; one writer per partial, a second waits its turn.

    After the wait the name may belong to another file (the first writer committed it into blobs/ or discarded
    it): then the fd we hold is not the partial any more, and we open the name again.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


STALE_TMP_SECONDS = 60  # a named temp file younger than this may be one whose writer is about to lock it
STALE_PARTIAL_SECONDS = 7 * 24 * 3600


def _recover(idir: Path) -> list[str]:
    import time

    from tug.store.locks import try_lock_fd

    removed: list[str] = []
    if not idir.is_dir():
        return removed
    now = time.time()
    for p in idir.iterdir():
        age = STALE_TMP_SECONDS if p.suffix == ".tmp" else STALE_PARTIAL_SECONDS if p.suffix == ".partial" else None
        if age is None:
            continue
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if now - st.st_mtime > age and try_lock_fd(fd) and os.stat(p).st_ino == st.st_ino:
                os.unlink(p)
                removed.append(p.name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


class Ingest:
    """One blob being written. Use as a context manager; `commit()` makes it present, leaving without discards."""

    def __init__(self, store: ContentStore, expected: Digest | None, size: int | None, resume: bool) -> None:
        if size is not None and size < 0:
            raise Invalid(f"negative blob size {size}")
        if resume and expected is None:
            raise Invalid("a resumable ingest needs the expected digest")
        self.store = store
        self.expected = expected
        self.size = size
        self.resumable = resume
        self._hash = (expected or Digest("sha256", "")).hasher()
        self._fd = -1
        self._name: Path | None = None  # None while the temp file has no name (O_TMPFILE)
        self._done = False
        self.offset = 0
        self.written = 0
        self._open()

    # -- temp file ------------------------------------------------------------------------------------------------

    def _open(self) -> None:
        idir = self.store.layout.ingest
        idir.mkdir(parents=True, exist_ok=True)
        if self.resumable:
            assert self.expected is not None
            self._name = idir / f"{self.expected.hex}.partial"
            self._fd = _open_locked(self._name)
            held = os.fstat(self._fd).st_size
            if self.size is not None and held > self.size:
                os.ftruncate(self._fd, 0)
                held = 0
            os.lseek(self._fd, 0, os.SEEK_SET)
            left = held
            while left:
                chunk = os.read(self._fd, min(_CHUNK, left))
                if not chunk:
                    break
                self._hash.update(chunk)
                left -= len(chunk)
            self.offset = self.written = held - left
            os.ftruncate(self._fd, self.offset)
            os.lseek(self._fd, self.offset, os.SEEK_SET)
            return
        try:
            self._fd = os.open(idir, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            self._name = idir / f"{os.urandom(16).hex()}.tmp"
            self._fd = os.open(self._name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # tells recover() the file is live

    def _discard(self) -> None:
        if self._fd < 0:
            return
        if self._name is not None:
            try:
                os.unlink(self._name)
            except FileNotFoundError:
                pass
        os.close(self._fd)
        self._fd = -1

    def _close_keep(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- writing --------------------------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd < 0:
            raise Invalid("write to a finished ingest")
        n = len(data)
        if self.size is not None and self.written + n > self.size:
            self._discard()
            raise Corrupt(f"blob larger than its descriptor: more than {self.size} bytes for "
                          f"{self.expected or 'an unnamed blob'}", where=str(self.expected or ""))
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self._hash.update(data)
        self.written += n

    def digest(self) -> Digest:
        return Digest(self._hash.name, self._hash.hexdigest())

    def reader_fd(self) -> int:
        """A new fd on the bytes written so far (read it with `pread`), to follow a blob while it arrives."""
        if self._fd < 0:
            raise Invalid("read of a finished ingest")
        return os.dup(self._fd)

    def commit(self) -> Digest:
        """Verify size and digest, then make the blob present (fsynced); returns its digest."""
        if self._fd < 0:
            raise Invalid("commit of a finished ingest")
        label = str(self.expected or "blob")
        if self.size is not None and self.written != self.size:
            self._discard()
            raise Corrupt(f"{label} truncated: got {self.written} of {self.size} bytes", where=label)
        actual = self.digest()
        if self.expected is not None and actual != self.expected:
            self._discard()
            raise Corrupt(f"digest mismatch: expected {self.expected}, got {actual}", where=label)
        os.fsync(self._fd)
        dest = self.store.path(actual)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self._name is None:
            try:
                link_tmpfile(self._fd, dest)
            except FileExistsError:
                pass  # the same verified content is already there
            self._close_keep()
        else:
            os.replace(self._name, dest)
            self._close_keep()
        fsync_dir(dest.parent)
        self._done = True
        return actual

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._done:
            return
        if self.resumable:
            self._close_keep()  # keep what arrived for the next attempt
        else:
            self._discard()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self._discard() if not self.resumable else self._close_keep()
