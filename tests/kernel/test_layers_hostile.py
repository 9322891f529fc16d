"""Hostile layers: nothing written or linked outside the snapshot, entry and layer named, no half snapshot."""

from __future__ import annotations

import io
import os

import pytest
from store_tars import entry, tar_bytes

from tug.errors import Corrupt, Invalid
from tug.oci.digest import Digest
from tug.store import Store
from tug.store.layers import apply_layer


@pytest.fixture
def canary(tmp_path):
    d = tmp_path / "canary"
    d.mkdir()
    (d / "precious").write_text("keep me")
    return d


def snapshot_of(canary) -> list[tuple[str, int, int]]:
    out = []
    for root, dirs, files in os.walk(canary):
        for n in dirs + files:
            st = os.lstat(os.path.join(root, n))
            out.append((os.path.join(root, n), st.st_ino, st.st_mtime_ns))
    st = os.lstat(canary)
    return sorted(out) + [(str(canary), st.st_ino, st.st_mtime_ns)]


def hostile_layers(canary) -> dict[str, tuple[list, str]]:
    """name -> (entries, the entry the error must name)."""
    c = str(canary)
    return {
        "dotdot": ([entry("ok", data=b"1"), entry("../x", data=b"pwned")], "../x"),
        "dotdot-deep": ([entry("a/../../" + c.lstrip("/") + "/x", data=b"pwned")], "a/../../"),
        "absolute": ([entry(c + "/abs", data=b"pwned")], c + "/abs"),
        "symlink-to-root-then-file": ([entry("root", "symlink", linkname="/"),
                                       entry("root" + c + "/pwned", data=b"pwned")], "root" + c + "/pwned"),
        "symlink-to-canary-then-file": ([entry("esc", "symlink", linkname=c),
                                         entry("esc/pwned", data=b"pwned")], "esc/pwned"),
        "symlink-to-canary-then-dir": ([entry("esc", "symlink", linkname=c),
                                        entry("esc/sub/", "dir")], "esc/sub"),
        "symlink-relative-escape": ([entry("up", "symlink", linkname="../../../../../../../../.."),
                                     entry("up" + c + "/pwned", data=b"pwned")], "up" + c + "/pwned"),
        "symlink-chain": ([entry("l1", "symlink", linkname="l2"), entry("l2", "symlink", linkname="d/l3"),
                           entry("d/", "dir"), entry("d/l3", "symlink", linkname="../../../../../../.." + c),
                           entry("l1/pwned", data=b"pwned")], "l1/pwned"),
        "hardlink-to-host-file": ([entry("h", "hardlink", linkname="/etc/passwd")], "h"),
        "hardlink-dotdot": ([entry("h", "hardlink", linkname="../../../../../../../etc/passwd")], "h"),
        "hardlink-through-symlink": ([entry("etc", "symlink", linkname="/etc"),
                                      entry("h", "hardlink", linkname="etc/passwd")], "h"),
        "hardlink-through-symlink-to-canary": ([entry("c", "symlink", linkname=c),
                                                entry("h", "hardlink", linkname="c/precious")], "h"),
        "hardlink-into-canary-via-symlink-parent": ([entry("f", data=b"x"), entry("c", "symlink", linkname=c),
                                                     entry("c/h", "hardlink", linkname="f")], "c/h"),
        "hardlink-to-missing": ([entry("h", "hardlink", linkname="nothing/here")], "h"),
    }


CASES = list(hostile_layers(__import__("pathlib").Path("/x")).keys())


@pytest.mark.parametrize("case", CASES)
def test_apply_refuses_hostile_entry(tmp_path, canary, case):
    entries, named = hostile_layers(canary)[case]
    passwd = os.stat("/etc/passwd")
    before = snapshot_of(canary)
    dest = tmp_path / "fs"
    dest.mkdir()
    with pytest.raises(Invalid) as e:
        apply_layer(io.BytesIO(tar_bytes(entries)), "none", dest, where="layer HOSTILE")
    msg = str(e.value)
    assert named in msg, msg
    assert "layer HOSTILE" in msg, msg
    assert snapshot_of(canary) == before
    after = os.stat("/etc/passwd")
    assert (after.st_ino, after.st_nlink, after.st_mtime_ns) == (passwd.st_ino, passwd.st_nlink, passwd.st_mtime_ns)
    assert not os.path.exists(tmp_path / "x") and not os.path.exists(tmp_path / "pwned")


@pytest.mark.parametrize("case", ["dotdot", "symlink-to-root-then-file", "hardlink-to-host-file", "symlink-chain"])
def test_snapshot_of_hostile_layer_leaves_nothing(tmp_path, canary, case):
    entries, _ = hostile_layers(canary)[case]
    raw = tar_bytes(entries)
    store = Store(tmp_path / "root").open()
    before = snapshot_of(canary)
    chain = Digest.of(raw)
    with pytest.raises(Invalid):
        store.snapshots.ensure(chain, None, lambda: io.BytesIO(raw), "none")
    assert snapshot_of(canary) == before
    assert list(store.layout.snapshots.iterdir()) == []
    assert not store.snapshots.exists(chain)
    assert store.metadata.list_layers() == []


def test_snapshot_with_wrong_chain_id_leaves_nothing(tmp_path):
    raw = tar_bytes([entry("a", data=b"a")])
    store = Store(tmp_path / "root").open()
    wrong = Digest.of(b"something else")
    with pytest.raises(Corrupt) as e:
        store.snapshots.ensure(wrong, None, lambda: io.BytesIO(raw), "none")
    assert str(Digest.of(raw)) in str(e.value) and str(wrong) in str(e.value)
    assert list(store.layout.snapshots.iterdir()) == []
    assert store.metadata.list_layers() == []
