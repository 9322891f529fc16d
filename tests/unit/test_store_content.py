"""Content store: verified ingest (wrong digest, truncated, too large), resumable partials, put/read/list/delete."""

from __future__ import annotations

import os
import time

import pytest

from tug.errors import Corrupt, Invalid, NotFound
from tug.oci.digest import Digest
from tug.store.content import ContentStore
from tug.store.layout import Layout

DATA = b"hello blob\n" * 1000


@pytest.fixture
def store(tmp_path) -> ContentStore:
    return ContentStore(Layout(tmp_path / "root").ensure())


def files_under(p) -> list[str]:
    return sorted(str(f.relative_to(p)) for f in p.rglob("*") if not f.is_dir())


def assert_clean(store: ContentStore) -> None:
    assert files_under(store.layout.root / "blobs") == []
    assert files_under(store.layout.tmp) == []


def test_put_read_has_size_list_delete(store):
    d = store.put(DATA)
    assert d == Digest.of(DATA)
    assert store.has(d)
    assert store.size(d) == len(DATA)
    assert store.read(d) == DATA
    assert store.path(d) == store.layout.blobs / d.hex
    with store.open(d) as f:
        assert f.read() == DATA
    assert list(store.list()) == [d]
    assert store.put(DATA, expected=d) == d  # already there: fine
    store.delete(d)
    assert not store.has(d)
    store.delete(d)  # idempotent
    with pytest.raises(NotFound):
        store.read(d)
    with pytest.raises(NotFound):
        store.size(d)
    assert files_under(store.layout.tmp) == []


def test_put_with_expected_digest_refuses_other_content(store):
    with pytest.raises(Corrupt) as e:
        store.put(DATA, expected=Digest.of(b"other"))
    assert str(Digest.of(b"other")) in str(e.value)
    assert str(Digest.of(DATA)) in str(e.value)
    assert_clean(store)


def test_ingest_in_chunks_commits(store):
    want = Digest.of(DATA)
    with store.ingest(want, len(DATA)) as ing:
        for i in range(0, len(DATA), 777):
            ing.write(DATA[i:i + 777])
        assert ing.commit() == want
    assert store.read(want) == DATA
    assert files_under(store.layout.tmp) == []


@pytest.mark.parametrize("resume", [False, True])
def test_wrong_digest_is_corrupt_and_leaves_nothing(store, resume):
    wrong = Digest.of(b"not this")
    with pytest.raises(Corrupt) as e, store.ingest(wrong, len(DATA), resume=resume) as ing:
        ing.write(DATA)
        ing.commit()
    msg = str(e.value)
    assert str(wrong) in msg and str(Digest.of(DATA)) in msg
    assert_clean(store)


@pytest.mark.parametrize("resume", [False, True])
def test_truncated_is_corrupt_and_leaves_nothing(store, resume):
    with pytest.raises(Corrupt) as e, store.ingest(Digest.of(DATA), len(DATA), resume=resume) as ing:
        ing.write(DATA[:-1])
        ing.commit()
    assert "truncated" in str(e.value)
    assert_clean(store)


@pytest.mark.parametrize("resume", [False, True])
def test_too_large_is_refused_while_writing(store, resume):
    with pytest.raises(Corrupt) as e, store.ingest(Digest.of(DATA), len(DATA) - 1, resume=resume) as ing:
        ing.write(DATA[:10])
        ing.write(DATA[10:])
    assert "blob larger than its descriptor" in str(e.value)
    assert_clean(store)


def test_leaving_without_commit_discards_temp(store):
    with store.ingest(Digest.of(DATA), len(DATA)) as ing:
        ing.write(DATA[:100])
    assert_clean(store)
    with pytest.raises(RuntimeError), store.ingest() as ing:
        ing.write(DATA[:100])
        raise RuntimeError("connection dropped")
    assert_clean(store)


def test_unverified_ingest_returns_the_digest(store):
    with store.ingest() as ing:
        ing.write(DATA)
        d = ing.commit()
    assert d == Digest.of(DATA)
    assert store.has(d)


def test_resumable_partial_keeps_offset(store):
    want = Digest.of(DATA)
    with pytest.raises(ConnectionError), store.ingest(want, len(DATA), resume=True) as ing:
        assert ing.offset == 0
        ing.write(DATA[:4000])
        raise ConnectionError("dropped")
    partial = store.layout.ingest / f"{want.hex}.partial"
    assert partial.stat().st_size == 4000
    assert not store.has(want)
    with store.ingest(want, len(DATA), resume=True) as ing:
        assert ing.offset == 4000  # the client asks for Range: bytes=4000-
        ing.write(DATA[ing.offset:])
        assert ing.commit() == want
    assert store.read(want) == DATA
    assert not partial.exists()
    assert files_under(store.layout.tmp) == []


def test_resumable_partial_longer_than_size_starts_over(store):
    want = Digest.of(DATA)
    partial = store.layout.ingest / f"{want.hex}.partial"
    partial.write_bytes(b"x" * (len(DATA) + 5))
    with store.ingest(want, len(DATA), resume=True) as ing:
        assert ing.offset == 0
        ing.write(DATA)
        ing.commit()
    assert store.read(want) == DATA


def test_resumable_partial_with_wrong_bytes_is_discarded_at_commit(store):
    want = Digest.of(DATA)
    partial = store.layout.ingest / f"{want.hex}.partial"
    partial.write_bytes(b"X" * 100)  # not a prefix of DATA
    with pytest.raises(Corrupt), store.ingest(want, len(DATA), resume=True) as ing:
        assert ing.offset == 100
        ing.write(DATA[100:])
        ing.commit()
    assert_clean(store)
    with store.ingest(want, len(DATA), resume=True) as ing:  # the next attempt starts from zero
        assert ing.offset == 0


def test_resume_needs_expected_digest(store):
    with pytest.raises(Invalid):
        store.ingest(resume=True)


def test_read_verifies_and_limits(store):
    d = store.put(DATA)
    with pytest.raises(Invalid):
        store.read(d, max_size=10)
    assert store.read(d, max_size=len(DATA)) == DATA
    os.chmod(store.path(d), 0o644)
    store.path(d).write_bytes(b"tampered")
    with pytest.raises(Corrupt) as e:
        store.read(d)
    assert str(d) in str(e.value)


def test_recover_removes_stale_unlocked_temp_files_only(store):
    idir = store.layout.ingest
    stale = idir / "dead.tmp"
    stale.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = idir / "young.tmp"
    fresh.write_bytes(b"x")
    partial = idir / f"{'a' * 64}.partial"
    partial.write_bytes(b"x")
    os.utime(partial, (old, old))
    assert store.recover() == ["dead.tmp"]
    assert not stale.exists() and fresh.exists() and partial.exists()


KILLED_INGEST = """
import sys
from pathlib import Path
from tug.oci.digest import Digest
from tug.store.content import ContentStore
from tug.store.layout import Layout
store = ContentStore(Layout(Path(sys.argv[1])))
resume = sys.argv[2] == "resume"
with store.ingest(Digest.parse(sys.argv[3]), 1 << 20, resume=resume) as ing:
    ing.write(b"x" * 1000)
    print("written", flush=True)
    sys.stdin.read()
"""


@pytest.mark.parametrize("mode", ["plain", "resume"])
def test_sigkill_mid_ingest(store, mode):
    import signal
    import subprocess
    import sys

    want = Digest.of(b"x" * (1 << 20))
    p = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(store.layout.root), mode, str(want)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "written"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    store.recover()
    assert files_under(store.layout.root / "blobs") == []
    if mode == "plain":
        assert files_under(store.layout.tmp) == []  # an O_TMPFILE never had a name
    else:
        with store.ingest(want, 1 << 20, resume=True) as ing:
            assert ing.offset == 1000
            ing.write(b"x" * ((1 << 20) - 1000))
            assert ing.commit() == want
