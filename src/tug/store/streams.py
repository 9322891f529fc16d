"""Readable streams for layers: decompression (gzip via zlib, zstd), a reader that hashes what passes through, and
`ReadAhead`, which decompresses and hashes in a helper thread while its consumer writes files, and `Following`, which
reads a blob while it is still being downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import BinaryIO, Protocol

from tug.errors import Invalid

COMPRESSIONS = ("none", "gzip", "zstd")
ZSTD_WINDOW_LOG_MAX = 27  # 128 MiB, zstd's own default limit: a frame asking for more is refused


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _zstd():  # noqa: ANN202 - a module
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python >= 3.14
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    return zstd


def _gzip():  # noqa: ANN202 - a module
    """ISA-L's gzip reader where `isal` is installed (about 2.5x zlib's speed here), else the standard library's."""
    try:
        from isal import igzip
    except ImportError:
        return gzip
    return igzip


def decompressing(stream: BinaryIO, compression: str) -> Readable:
    """A reader of the uncompressed bytes (multi-member gzip and multi-frame zstd included)."""
    if compression == "none":
        return stream
    if compression == "gzip":
        return _gzip().GzipFile(fileobj=stream, mode="rb")
    if compression == "zstd":
        zstd = _zstd()
        opts = {zstd.DecompressionParameter.window_log_max: ZSTD_WINDOW_LOG_MAX}
        return zstd.ZstdFile(stream, mode="rb", options=opts)
    raise Invalid(f"unknown layer compression {compression!r}", hint="expected none, gzip or zstd")


def decompress_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a corrupt compressed stream raises while being read."""
    import zlib

    errors: tuple[type[BaseException], ...] = (gzip.BadGzipFile, zlib.error, EOFError, _zstd().ZstdError)
    if _gzip() is not gzip:
        from isal import isal_zlib

        errors += (isal_zlib.error,)
    return errors


class HashingReader:
    """Passes reads through and keeps the sha256 and byte count of everything read."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._inner.read(n)
        if data:
            self._hash.update(data)
            self.count += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end, so the hash covers the tar's trailing blocks that tarfile leaves unread."""
        while self.read(chunk):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class ReadAhead:
    """Reads `source` to its end in one helper thread, hashing every byte; the consumer reads forward only.

    zlib, zstd and sha256 release the GIL on large buffers, so decompressing layer N's next megabytes overlaps with
    the consumer's file creation. Use it as a context manager: the thread starts on enter and is always stopped and
    joined on exit, so no thread outlives the block (an error on either side included). An exception raised by the
    source (corrupt data) is raised again by the consumer's next read past the bytes that came before it.

    The consumer side is what `tarfile.TarFile(mode="r")` needs (`read`, `tell`, forward `seek`) plus `view(n)`,
    which hands out file content as memoryviews of the decompressed chunks without copying them.
    `hexdigest()` and `count` cover the whole source once `drain()` has returned.
    """

    def __init__(self, source: Readable, chunk: int = 1 << 20, depth: int = 8,
                 abort: Callable[[], None] | None = None) -> None:
        self._source = source
        self._abort = abort  # unblocks a source read that waits for bytes (see `Following`)
        self._chunk = chunk
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="tug-readahead", daemon=True)
        self._error: BaseException | None = None
        self._hash = hashlib.sha256()
        self.count = 0  # bytes the source gave (complete after drain)
        self._buf = memoryview(b"")
        self._off = 0
        self._pos = 0  # consumer position
        self._eof = False

    # -- the helper thread ----------------------------------------------------------------------------------------

    def _produce(self) -> None:
        # read1: what one read of the compressed source gives, so bytes still arriving (`Following`) flow on at once
        read = getattr(self._source, "read1", self._source.read)
        try:
            while not self._stop.is_set():
                data = read(self._chunk)
                if not data:
                    break
                self._hash.update(data)
                self.count += len(data)
                if not self._put(data):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self._error = e
        self._put(None)

    def _put(self, item: bytes | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._abort is not None and self._thread.is_alive():
            self._abort()
        while self._thread.is_alive():  # it stops at its next put, or after the read it is in
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(0.05)

    # -- the consumer ---------------------------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Make the current chunk non-empty; False at the end of the source."""
        while self._off >= len(self._buf):
            if self._eof:
                return False
            item = self._queue.get()
            if item is None:
                self._eof = True
                if self._error is not None:
                    raise self._error
                return False
            self._buf = memoryview(item)
            self._off = 0
        return True

    def view(self, n: int) -> memoryview:
        """Up to `n` next bytes (fewer at a chunk's end, empty at the end of the source), without copying."""
        if n <= 0 or not self._fill():
            return memoryview(b"")
        v = self._buf[self._off:self._off + n]
        self._off += len(v)
        self._pos += len(v)
        return v

    def read(self, n: int = -1, /) -> bytes:
        parts = []
        want = n if n >= 0 else None
        while want is None or want > 0:
            v = self.view(self._chunk if want is None else want)
            if not v:
                break
            parts.append(v)
            if want is not None:
                want -= len(v)
        return b"".join(parts)

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0, /) -> int:
        """Forward only (what is behind is gone): skips bytes up to `pos`, stopping at the end of the source."""
        if whence != 0 or pos < self._pos:
            raise ValueError(f"cannot seek back in a layer stream (at {self._pos}, asked for {pos})")
        while self._pos < pos and self.view(pos - self._pos):
            pass
        return self._pos

    def drain(self) -> None:
        """Read to the end, so the hash covers what the consumer did not need (a tar's trailing blocks)."""
        while self.view(self._chunk):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class Following:
    """Reads a file that another thread is still appending to (a blob being downloaded), blocking for more bytes.

    The writer calls `grew(total)` after each append and `finish()` at the end, or `finish(error)` when the bytes
    will never be complete (the read that reaches the gap raises `error`). `abort()` lets a reader that gave up stop
    a read blocked in another thread (`ReadAhead` calls it when its consumer stops early). Reads use `pread` on a
    file descriptor of its own, which is closed on `close()`.
    """

    def __init__(self, fd: int, available: int = 0) -> None:
        self._fd = fd
        self._cond = threading.Condition()
        self._available = available
        self._finished = False
        self._error: BaseException | None = None
        self._aborted = False
        self._pos = 0

    # -- the writer's side ----------------------------------------------------------------------------------------

    def grew(self, total: int) -> None:
        with self._cond:
            self._available = total
            self._cond.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            if not self._finished:
                self._finished = True
                self._error = error
            self._cond.notify_all()

    # -- the reader's side ----------------------------------------------------------------------------------------

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def _wait(self, n: int) -> int:
        """How many bytes (at most `n`, all when negative) can be read now; 0 at the end. Blocks for more."""
        with self._cond:
            while self._pos >= self._available and not self._finished and not self._aborted:
                self._cond.wait()
            if self._aborted:
                raise EOFError("reading the blob was given up")
            if self._pos >= self._available:
                if self._error is not None:
                    raise self._error
                return 0
            left = self._available - self._pos
            return left if n < 0 else min(n, left)

    def read(self, n: int = -1, /) -> bytes:
        take = self._wait(n)
        data = os.pread(self._fd, take, self._pos) if take else b""
        self._pos += len(data)
        return data

    def readinto(self, buf: bytearray | memoryview, /) -> int:
        take = self._wait(len(buf))
        got = os.preadv(self._fd, [memoryview(buf)[:take]], self._pos) if take else 0
        self._pos += got
        return got

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Following:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
