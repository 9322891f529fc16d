"""Layout files (oci-layout, index.json) and the overlay mount description (pure: nothing is mounted)."""

from __future__ import annotations

import json
import os

import pytest

from tug.errors import Invalid, NotFound
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.store import Store
from tug.store.snapshots import PAGE_SIZE


def test_ensure_creates_an_oci_layout(tmp_path):
    s = Store(tmp_path / "root")
    lay = s.layout
    for d in (lay.blobs, lay.tmp, lay.snapshots, lay.containers, lay.locks, lay.volumes):
        assert d.is_dir()
    assert json.loads((lay.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads(lay.index_path.read_text())["manifests"] == []
    assert lay.db_path == lay.root / "tug.db"
    lay.ensure()  # idempotent


def test_write_index_annotates_ref_names(tmp_path):
    lay = Store(tmp_path / "root").layout
    d = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.of(b"m"), 1, annotations={"a": "b"})
    lay.write_index([("busybox:latest", d), ("other:1", d)])
    doc = json.loads(lay.index_path.read_text())
    assert doc["schemaVersion"] == 2
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in doc["manifests"]] == \
        ["busybox:latest", "other:1"]
    assert doc["manifests"][0]["annotations"]["a"] == "b"
    assert doc["manifests"][0]["digest"] == str(Digest.of(b"m"))
    assert [n for n, _ in lay.read_index()] == ["busybox:latest", "other:1"]
    assert not [p for p in lay.root.iterdir() if p.name.endswith(".tmp")]


def fake_snapshot(store: Store, chain: Digest) -> None:
    d = store.layout.snapshots / chain.hex
    (d / "fs").mkdir(parents=True)
    (d / "layer.json").write_text(json.dumps({"diff_id": str(chain), "parent": None, "size": 0}))


def test_overlay_mount_description(tmp_path):
    s = Store(tmp_path / "root")
    chains = [Digest.of(str(i).encode()) for i in range(3)]
    for c in chains:
        fake_snapshot(s, c)
    m = s.snapshots.overlay_mount(chains, tmp_path / "u", tmp_path / "w", tmp_path / "t")
    assert (m.fstype, m.source, m.target, m.cwd) == ("overlay", "overlay", tmp_path / "t", s.layout.snapshots)
    lower = m.options[0].removeprefix("lowerdir=").split(":")
    assert lower == [f"{c.hex}/fs" for c in reversed(chains)]  # top first
    for rel in lower:
        assert (m.cwd / rel).is_dir()
    assert m.options[1:] == [f"upperdir={tmp_path / 'u'}", f"workdir={tmp_path / 'w'}", "index=off"]
    assert m.data == ",".join(m.options)
    single = s.snapshots.overlay_mount(chains[:1], tmp_path / "u", tmp_path / "w", tmp_path / "t")
    assert single.options[0] == f"lowerdir={chains[0].hex}/fs"


def test_overlay_mount_with_many_layers_uses_short_links(tmp_path):
    s = Store(tmp_path / "root")
    chains = [Digest.of(str(i).encode()) for i in range(120)]
    for c in chains:
        fake_snapshot(s, c)
    m = s.snapshots.overlay_mount(chains, tmp_path / "u", tmp_path / "w", tmp_path / "t")
    assert len(m.data) < PAGE_SIZE
    lower = m.options[0].removeprefix("lowerdir=").split(":")
    assert len(lower) == 120
    for rel, c in zip(lower, reversed(chains), strict=True):
        assert os.path.samefile(m.cwd / rel, s.snapshots.path(c))


def test_overlay_mount_refuses_missing_and_bad(tmp_path):
    s = Store(tmp_path / "root")
    c = Digest.of(b"x")
    with pytest.raises(NotFound):
        s.snapshots.overlay_mount([c], tmp_path / "u", tmp_path / "w", tmp_path / "t")
    fake_snapshot(s, c)
    with pytest.raises(Invalid):
        s.snapshots.overlay_mount([], tmp_path / "u", tmp_path / "w", tmp_path / "t")
    with pytest.raises(Invalid):
        s.snapshots.overlay_mount([c], tmp_path / "a,b", tmp_path / "w", tmp_path / "t")
