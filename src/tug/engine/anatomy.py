"""`tug image anatomy IMAGE`: per layer, what it adds, changes and deletes, and the bytes that later layers waste.

Each layer blob is read once as a stream (decompressed on the fly, file contents hashed as they pass), so memory
grows with the number of paths, never with the bytes: a 30 GB image is analysed like a 30 MB one. The merged view
is a tree of paths, each remembering the layer, size and content hash of its visible version.

Wasted bytes: a file's copy is wasted when a later layer overwrites it, deletes it (a whiteout, a whiteout of a
directory above it, an opaque directory, a non-directory over its directory); N copies of a path waste N-1 of
them, and a file that ends deleted wastes all its copies. Hard links within a layer hold no bytes of their own.
"""

from __future__ import annotations

import hashlib
import tarfile
from typing import Any

from tug.engine import images
from tug.engine.engine import Engine
from tug.errors import Invalid
from tug.oci import mediatypes as mt
from tug.oci.digest import Digest
from tug.oci.manifest import Manifest, parse
from tug.records import field, record


@record
class LayerReport:
    index: int
    diff_id: str
    created_by: str
    size: int = 0  # bytes of file content in the layer
    files: int = 0
    added: int = 0
    added_bytes: int = 0
    changed_content: int = 0
    changed_meta: int = 0
    deleted: int = 0  # whiteouts and paths hidden by opaque directories
    deleted_bytes: int = 0
    wasted: int = 0  # bytes of this layer's files that later layers overwrite or delete


@record
class Anatomy:
    image: str
    layers: list[LayerReport]
    total: int  # bytes of file content over all layers
    wasted: int
    top_waste: list[tuple[str, int]] = field(default_factory=list)  # paths with the most wasted bytes

    @property
    def wasted_pct(self) -> float:
        return 100.0 * self.wasted / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"Image": self.image, "Total": self.total, "Wasted": self.wasted,
                "WastedPercent": round(self.wasted_pct, 3),
                "Layers": [vars(lr) for lr in self.layers],
                "TopWaste": [{"Path": p, "Wasted": n} for p, n in self.top_waste]}


class _Leaf:
    __slots__ = ("layer", "size", "digest", "meta")

    def __init__(self, layer: int, size: int, digest: bytes, meta: tuple[int, int, int]) -> None:
        self.layer, self.size, self.digest, self.meta = layer, size, digest, meta


class _Tree:
    """The merged view: nested dicts for directories, `_Leaf` for everything else (directories' own metadata in
    the `""` key)."""

    def __init__(self, reports: list[LayerReport]) -> None:
        self.root: dict[str, Any] = {}
        self.reports = reports
        self.waste_by_path: dict[str, int] = {}

    def _dir(self, parts: tuple[str, ...], create: bool) -> dict[str, Any] | None:
        node = self.root
        for p in parts:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                if not create:
                    return None
                if isinstance(nxt, _Leaf):
                    self._waste("/".join(parts), nxt)
                nxt = {}
                node[p] = nxt
            node = nxt
        return node

    def _waste(self, path: str, leaf: _Leaf) -> None:
        if leaf.size:
            self.reports[leaf.layer].wasted += leaf.size
            self.waste_by_path[path] = self.waste_by_path.get(path, 0) + leaf.size

    def _drop(self, path: str, node: Any, below: int) -> tuple[int, int]:
        """Waste everything in `node` from layers under `below`; returns (paths, bytes) dropped."""
        if isinstance(node, _Leaf):
            self._waste(path, node)
            return 1, node.size
        n = b = 0
        for name, child in list(node.items()):
            if name == "":
                continue
            cn, cb = self._drop(f"{path}/{name}", child, below)
            n, b = n + cn, b + cb
        return n, b

    def remove(self, parts: tuple[str, ...], layer: int) -> tuple[int, int]:
        parent = self._dir(parts[:-1], create=False)
        if parent is None or parts[-1] not in parent:
            return 0, 0
        node = parent.pop(parts[-1])
        return self._drop("/".join(parts), node, layer)

    def clear_dir(self, parts: tuple[str, ...], layer: int) -> tuple[int, int]:
        """An opaque directory: hide what lower layers put in it (this layer's own entries stay)."""
        d = self._dir(parts, create=True)
        assert d is not None
        n = b = 0
        for name, child in list(d.items()):
            if name == "" or (isinstance(child, _Leaf) and child.layer == layer):
                continue
            if isinstance(child, dict):
                cn, cb = self.clear_dir((*parts, name), layer)
                if len(child) <= 1:
                    d.pop(name)
            else:
                d.pop(name)
                cn, cb = self._drop("/".join((*parts, name)), child, layer)
            n, b = n + cn, b + cb
        return n, b

    def put(self, parts: tuple[str, ...], leaf: _Leaf) -> _Leaf | None:
        """Place a non-directory; returns the version it replaced (a replaced directory is wasted whole)."""
        parent = self._dir(parts[:-1], create=True)
        assert parent is not None
        old = parent.get(parts[-1])
        parent[parts[-1]] = leaf
        if isinstance(old, dict):
            self._drop("/".join(parts), old, leaf.layer)
            return None
        return old

    def put_dir(self, parts: tuple[str, ...]) -> None:
        self._dir(parts, create=True)


def _hash(stream, size: int) -> bytes:  # noqa: ANN001 - tarfile's file object
    h = hashlib.sha256()
    left = size
    while left > 0:
        chunk = stream.read(min(1 << 20, left))
        if not chunk:
            break
        h.update(chunk)
        left -= len(chunk)
    return h.digest()[:16]


def _layer(eng: Engine, tree: _Tree, desc, report: LayerReport) -> None:  # noqa: ANN001
    from tug.store.layers import decompressed
    from tug.store.tarpolicy import Kind, classify

    li = report.index
    links: dict[tuple[str, ...], _Leaf] = {}
    with eng.content.open(desc.digest) as f, decompressed(f, mt.layer_compression(desc.media_type)) as raw, \
            tarfile.open(fileobj=raw, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
        for ti in tf:
            e = classify(ti)
            if e.kind is Kind.SKIP:
                continue
            if e.kind is Kind.WHITEOUT:
                n, b = tree.remove(e.path, li)
                report.deleted += max(n, 1)
                report.deleted_bytes += b
                continue
            if e.kind is Kind.OPAQUE:
                n, b = tree.clear_dir(e.path, li)
                report.deleted += n
                report.deleted_bytes += b
                continue
            if e.kind is Kind.DIR:
                if e.path:
                    tree.put_dir(e.path)
                continue
            meta = (e.mode, e.uid, e.gid)
            if e.kind is Kind.FILE:
                data = tf.extractfile(ti)
                leaf = _Leaf(li, e.size, _hash(data, e.size) if data else b"", meta)
                report.size += e.size
            elif e.kind is Kind.HARDLINK:
                target = links.get(e.link_path)
                leaf = _Leaf(li, 0, target.digest if target else b"", meta)
            else:
                leaf = _Leaf(li, 0, (e.linkname or f"{e.kind.value}:{e.devmajor}:{e.devminor}").encode(), meta)
            links[e.path] = leaf
            report.files += 1
            old = tree.put(e.path, leaf)
            if old is None:
                report.added += 1
                report.added_bytes += leaf.size
            else:
                tree._waste("/".join(e.path), old)
                if old.digest == leaf.digest and old.size == leaf.size:
                    report.changed_meta += 1
                else:
                    report.changed_content += 1


def analyse(eng: Engine, name: str, top: int = 10) -> Anatomy:
    img = images.find(eng, name)
    cfg = images.config(eng, img)
    doc = parse(eng.content.read(Digest.parse(img.manifest_digest)))
    if not isinstance(doc, Manifest):
        raise Invalid(f"image {img.short_id} has no single manifest")
    made = [h.get("created_by", "") or h.get("comment", "") for h in cfg.history if not h.get("empty_layer")]
    reports = [LayerReport(i, str(d), made[i] if i < len(made) else "") for i, d in enumerate(cfg.diff_ids)]
    tree = _Tree(reports)
    for desc, report in zip(doc.layers, reports, strict=True):
        _layer(eng, tree, desc, report)
    worst = sorted(tree.waste_by_path.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Anatomy(img.id, reports, sum(r.size for r in reports), sum(r.wasted for r in reports),
                   [("/" + p, n) for p, n in worst])


def parse_limit(text: str) -> tuple[str, float]:
    """`--max-waste`: ('pct', 5.0) for "5%", else ('bytes', N) for "1048576", "10MB", "512k"."""
    t = text.strip()
    if t.endswith("%"):
        try:
            return "pct", float(t[:-1])
        except ValueError:
            raise Invalid(f"invalid --max-waste {text!r}: expected BYTES or PCT%") from None
    from tug.spec.sizes import ram_in_bytes

    return "bytes", float(ram_in_bytes(t, "--max-waste"))
