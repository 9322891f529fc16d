"""Garbage collection by reference: blobs and snapshots that no image or container names are removed."""

from __future__ import annotations

import json

from tug.engine.engine import Engine
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Manifest, parse


def referenced(eng: Engine) -> tuple[set[Digest], set[Digest]]:
    """(blobs, snapshot chain ids) still in use."""
    blobs: set[Digest] = set()
    chains: set[Digest] = set()
    for row in eng.metadata.list_images():
        cfg_d = Digest.parse(row["id"])
        blobs.add(cfg_d)
        if row.get("manifest_digest"):
            md = Digest.parse(row["manifest_digest"])
            blobs.add(md)
            if eng.content.has(md):
                doc = parse(eng.content.read(md))
                if isinstance(doc, Manifest):
                    blobs.update(d.digest for d in doc.layers)
        if eng.content.has(cfg_d):
            chains.update(chain_ids(ImageConfig.parse(eng.content.read(cfg_d)).diff_ids))
    for row in eng.metadata.list_containers():
        extra = json.loads(row.get("config") or "{}").get("extra") or {}
        chains.update(Digest.parse(c) for c in extra.get("chain_ids", []))
    from tug.engine.build.cache import BuildCache  # the build cache keeps its steps' results (tug builder prune)

    cache_blobs, cache_chains = BuildCache(eng.root).referenced()
    return blobs | cache_blobs, chains | cache_chains


def collect(eng: Engine) -> tuple[int, int]:
    """Remove unreferenced blobs and snapshots; returns how many of each went."""
    from tug.store.locks import lock

    with lock(eng.layout, "gc"):
        blobs, chains = referenced(eng)
        nb = ns = 0
        for d in list(eng.content.list()):
            if d not in blobs:
                eng.content.delete(d)
                nb += 1
        for c in sorted(snapshots_on_disk(eng)):
            if c not in chains:
                eng.snapshots.remove(c)
                ns += 1
    return nb, ns


def snapshots_on_disk(eng: Engine) -> set[Digest]:
    """Chain ids with a row or a directory (a crash between the rename and the row leaves a directory alone)."""
    out = {Digest.parse(r["chain_id"]) for r in eng.metadata.list_layers()}
    root = eng.snapshots.root
    if root.is_dir():
        for p in root.iterdir():
            if len(p.name) == 64 and all(ch in "0123456789abcdef" for ch in p.name):
                out.add(Digest("sha256", p.name))
    return out
