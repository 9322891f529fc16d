"""`tug history IMAGE`: one row per history entry of the config, newest first, as `docker history` shows it.

Entries that made a layer (not `empty_layer`) take that layer's size, in order. The IMAGE column names a local
image whose layers and history are exactly this prefix of the image's (its parent, when it was committed or built
here), else `<missing>`, as docker does for layers that came from a registry.
"""

from __future__ import annotations

from tug.engine import images
from tug.engine.engine import Engine
from tug.oci.digest import chain_ids
from tug.records import record


@record(frozen=True)
class HistoryRow:
    id: str  # "sha256:..." or "<missing>"
    created: str
    created_by: str
    size: int
    comment: str
    author: str
    tags: tuple[str, ...]
    empty_layer: bool


def _prefix_index(eng: Engine) -> dict[tuple[tuple[str, ...], int], images.Image]:
    out = {}
    for img in images.list_images(eng):
        try:
            cfg = images.config(eng, img)
        except Exception:  # noqa: BLE001 - a broken image elsewhere must not break this listing
            continue
        out.setdefault((tuple(str(d) for d in cfg.diff_ids), len(cfg.history)), img)
    return out


def history(eng: Engine, name: str) -> list[HistoryRow]:
    img = images.find(eng, name)
    cfg = images.config(eng, img)
    diff_ids = [str(d) for d in cfg.diff_ids]
    sizes = []
    for chain in chain_ids(cfg.diff_ids):
        row = eng.metadata.get_layer(chain)
        sizes.append(int(row["size"]) if row else 0)
    entries = cfg.history or [{"created": cfg.created, "created_by": ""}] * max(1, len(diff_ids))
    known = _prefix_index(eng)
    rows: list[HistoryRow] = []
    layer = 0
    for i, h in enumerate(entries):
        empty = bool(h.get("empty_layer"))
        size = 0
        if not empty and layer < len(sizes):
            size = sizes[layer]
            layer += 1
        match = known.get((tuple(diff_ids[:layer]), i + 1))
        if i == len(entries) - 1:
            match = img
        rows.append(HistoryRow(match.id if match else "<missing>", h.get("created") or "", h.get("created_by") or "",
                               size, h.get("comment") or "", h.get("author") or "",
                               match.tags if match else (), empty))
    rows.reverse()
    return rows
