"""ReadAhead (decompress and hash in a helper thread) and Following (read a blob while it is being written)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading

import pytest

from tug.errors import Unavailable
from tug.store.streams import Following, ReadAhead, decompressing

DATA = os.urandom(300_000) + bytes(range(256)) * 4096


class Exploding(io.BytesIO):
    """Gives `good` bytes, then raises."""

    def __init__(self, good: bytes, error: BaseException) -> None:
        super().__init__(good)
        self.error = error

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        if not data:
            raise self.error
        return data

    read1 = read


def test_readahead_reads_views_and_hashes_everything():
    blob = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:])
    with ReadAhead(decompressing(io.BytesIO(blob), "gzip"), chunk=1 << 16, depth=2) as r:
        head = r.read(10)
        assert r.tell() == 10
        v = r.view(5000)
        assert bytes(v) == DATA[10:10 + len(v)] and 0 < len(v) <= 5000
        r.seek(200_000)
        assert r.read(7) == DATA[200_000:200_007]
        with pytest.raises(ValueError):
            r.seek(5)
        r.drain()
        assert r.read(1) == b"" and not r.view(10)
    assert head == DATA[:10]
    assert r.count == len(DATA)
    assert r.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_readahead_raises_the_source_error_after_the_good_bytes():
    boom = OSError("disk on fire")
    with ReadAhead(Exploding(DATA[:5000], boom), chunk=1000) as r:
        assert r.read(5000) == DATA[:5000]
        with pytest.raises(OSError, match="disk on fire"):
            r.read(1)


def test_readahead_stops_its_thread_when_the_consumer_gives_up_early():
    before = threading.active_count()
    with ReadAhead(io.BytesIO(DATA), chunk=1000, depth=1) as r:  # the producer is blocked on a full queue
        assert r.read(3) == DATA[:3]
    assert threading.active_count() == before


def test_readahead_aborts_a_source_blocked_waiting_for_bytes(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(DATA[:100])
    follow = Following(os.open(path, os.O_RDONLY), 100)  # never finished: a read past 100 would wait forever
    before = threading.active_count()
    with follow, ReadAhead(follow, chunk=1000, abort=follow.abort) as r:
        assert r.read(100) == DATA[:100]
    assert threading.active_count() == before


def _writer(path, follow: Following, pieces: list[bytes], error: BaseException | None = None) -> threading.Thread:
    def run() -> None:
        with open(path, "ab") as f:
            for p in pieces:
                f.write(p)
                f.flush()
                follow.grew(f.tell())
        follow.finish(error)

    return threading.Thread(target=run)


def test_following_reads_what_arrives_until_the_end(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(DATA[:10])  # a resumed download: some bytes were there before
    pieces = [DATA[i:i + 7777] for i in range(10, len(DATA), 7777)]
    with Following(os.open(path, os.O_RDONLY), 10) as follow:
        t = _writer(path, follow, pieces)
        t.start()
        got = bytearray()
        buf = bytearray(5000)
        use_readinto = False
        while True:  # alternate read and readinto
            if use_readinto:
                n = follow.readinto(buf)
                got += buf[:n]
            else:
                chunk = follow.read(3000)
                n = len(chunk)
                got += chunk
            use_readinto = not use_readinto
            if not n:
                break
        t.join()
    assert bytes(got) == DATA


def test_following_raises_the_writers_error_at_the_gap(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"")
    with Following(os.open(path, os.O_RDONLY)) as follow:
        t = _writer(path, follow, [b"abc"], Unavailable("download broke"))
        t.start()
        t.join()
        assert follow.read(10) == b"abc"
        with pytest.raises(Unavailable, match="download broke"):
            follow.read(10)


def test_following_abort_unblocks_a_waiting_reader(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"")
    with Following(os.open(path, os.O_RDONLY)) as follow:
        errors: list[BaseException] = []

        def read() -> None:
            try:
                follow.read(10)
            except EOFError as e:
                errors.append(e)

        t = threading.Thread(target=read)
        t.start()
        follow.abort()
        t.join(10)
        assert not t.is_alive() and errors
