"""Context file digests remembered by stat (digests.py): used while a file is unchanged, never for racy files."""

from __future__ import annotations

import hashlib
import json
import os
import time

from tug.engine.build.context import collect, open_root
from tug.engine.build.digests import DigestCache, stat_key


def _digests(ctx, cache):
    fd = open_root(ctx)
    try:
        return {k: v.split()[-1] for s in collect(fd, ".", None, digests=cache) for k, v in s.summary().items()
                if v.startswith("file")}
    finally:
        os.close(fd)


def test_unchanged_files_come_from_the_table_changed_ones_are_read(tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "a").write_text("a\n")
    (ctx / "sub" / "b").write_text("b\n")
    time.sleep(1.05)  # older than the racy window
    table = tmp_path / "digests.json"
    first = DigestCache(table)
    got = _digests(ctx, first)
    assert got == {"./a": hashlib.sha256(b"a\n").hexdigest(), "./sub/b": hashlib.sha256(b"b\n").hexdigest()}
    first.save()
    doc = json.loads(table.read_text())
    assert doc[stat_key(os.stat(ctx / "a"))] == got["./a"]
    doc[stat_key(os.stat(ctx / "a"))] = "0" * 64  # what the table says is what a later build uses, unread
    table.write_text(json.dumps(doc))
    assert _digests(ctx, DigestCache(table))["./a"] == "0" * 64
    (ctx / "a").write_text("b\n")  # same size, new content: a new ctime, so the file is read again
    assert _digests(ctx, DigestCache(table))["./a"] == hashlib.sha256(b"b\n").hexdigest()


def test_racy_and_changing_files_are_not_remembered(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "fresh").write_text("new\n")
    cache = DigestCache(tmp_path / "digests.json")
    _digests(ctx, cache)
    assert cache.added == 0
    cache.save()
    assert not (tmp_path / "digests.json").exists()
    time.sleep(1.05)
    later = DigestCache(tmp_path / "digests.json")
    st = os.stat(ctx / "fresh")
    moved = os.stat_result((*st[:6], st.st_size + 1, *st[7:]))
    later.put(st, moved, "x" * 64)  # the file changed while it was read
    assert later.added == 0
    later.put(st, st, "y" * 64)
    assert later.added == 1 and later.get(st) == "y" * 64
