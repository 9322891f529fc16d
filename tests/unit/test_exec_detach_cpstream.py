"""Pure parts of exec/attach/cp: docker's --detach-keys grammar and matching, the exec process document, the member
policy of `cp -` tar streams, the light lookup's defaults."""

from __future__ import annotations

import os
import tarfile

import pytest

from tug.engine import lookup
from tug.engine.attach import DETACH_KEYS, DetachMatcher, parse_detach_keys
from tug.engine.cp_stream import member_filter
from tug.engine.engine import Engine
from tug.engine.exec import process_document
from tug.engine.roots import DEFAULT_ROOT, store_paths
from tug.errors import Invalid


@pytest.mark.parametrize(("text", "keys"), [
    (None, b"\x10\x11"), ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,x", b"\x01x"), ("a,b,c", b"abc"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x00\x1b\x1c\x1d\x1e\x1f"), ("CTRL-Z", b"\x1a"),
])
def test_parse_detach_keys(text, keys):
    assert parse_detach_keys(text) == keys


@pytest.mark.parametrize("text", ["ctrl-1", "alt-x", "ctrl-", "", "a,,b", "xy"])
def test_parse_detach_keys_refuses(text):
    with pytest.raises(Invalid):
        parse_detach_keys(text)


def test_detach_matcher_across_reads_and_false_starts():
    m = DetachMatcher(DETACH_KEYS)
    assert m.feed(b"ab\x10") == (b"ab", False)  # a possible start is held back
    assert m.feed(b"c") == (b"\x10c", False)  # not the sequence: passed on
    assert m.feed(b"x\x10") == (b"x", False)
    assert m.feed(b"\x11rest") == (b"", True)
    m3 = DetachMatcher(b"\x01\x02\x03")
    assert m3.feed(b"\x01\x02") == (b"", False)
    assert m3.feed(b"\x01\x02\x03") == (b"\x01\x02", True)


def test_process_document_leaves_the_base_alone():
    base = {"args": ["sleep"], "env": ["A=1", "B=2"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_KILL"]}, "consoleSize": {"height": 1, "width": 2}}
    snapshot = repr(base)
    p = process_document(base, ["sh"], ["B=3", "C=4"], "/tmp", {"uid": 1, "gid": 1}, True, ["CAP_SYS_ADMIN"])
    assert repr(base) == snapshot
    assert p["args"] == ["sh"] and p["terminal"] is True and "consoleSize" not in p
    assert p["env"] == ["A=1", "B=3", "C=4"] and p["cwd"] == "/tmp" and p["user"]["uid"] == 1
    assert p["capabilities"]["effective"] == ["CAP_SYS_ADMIN"]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", uid: int = 1000) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.uid, ti.gid, ti.uname, ti.mode = kind, link, uid, uid, "someone", 0o4755
    return ti


def test_cp_member_filter():
    f = member_filter(keep_owner=False)
    m = f(_member("/etc/x"), "/dest")
    assert (m.name, m.uid, m.gid, m.uname, m.mode) == ("etc/x", 0, 0, "", 0o4755)  # setuid kept, owner root
    assert f(_member("a/../b"), "/dest").name == "b"
    for bad in ("../x", "a/../../x", ".."):
        with pytest.raises(ValueError):
            f(_member(bad), "/dest")
    with pytest.raises(ValueError):
        f(_member("h", tarfile.LNKTYPE, "../../etc/shadow"), "/dest")
    assert f(_member("h", tarfile.LNKTYPE, "/etc/passwd"), "/dest").linkname == "etc/passwd"
    assert f(_member("s", tarfile.SYMTYPE, "/etc/passwd"), "/dest").linkname == "/etc/passwd"  # symlinks as they are
    assert member_filter(keep_owner=True)(_member("x"), "/dest").uid == 1000


def test_store_paths_are_the_engines(monkeypatch):
    monkeypatch.delenv("TUG_ROOT", raising=False)
    monkeypatch.setenv("TUG_RUNROOT", "rel/run")
    eng = Engine.from_env()
    assert (str(eng.root), str(eng.runroot)) == store_paths(None, None) == (DEFAULT_ROOT, os.path.abspath("rel/run"))
    assert store_paths("/r", "/rr") == ("/r", "/rr")


def test_lookup_without_a_database(tmp_path):
    assert lookup.find_container(str(tmp_path), "anything") is None


def test_lookup_resolves_as_the_store_does(tmp_path):
    """Full id, exact name (a leading '/' allowed), unique id prefix; None for unknown or ambiguous, where the
    store's find_container raises (the caller then takes the path that words the error)."""
    from tug.errors import NotFound
    from tug.store.metadata import Metadata

    md = Metadata(tmp_path / "tug.db")
    a, b = "ab" + "0" * 62, "ab" + "1" * 62
    md.insert_container(a, "first", state={"Status": "running"})
    md.insert_container(b, b[:12], state={})  # a name that looks like another container's id prefix
    for ref, want in ((a, a), ("first", a), ("/first", a), ("ab0", a), (b[:12], b), ("ab1", b)):
        row = lookup.find_container(str(tmp_path), ref)
        assert row is not None and row["id"] == want == md.find_container(ref)["id"], ref
    assert '"running"' in lookup.find_container(str(tmp_path), "first")["state"]
    for ref in ("ab", "nothing", "", "ff"):
        assert lookup.find_container(str(tmp_path), ref) is None
        with pytest.raises((NotFound, Invalid)):
            md.find_container(ref)
