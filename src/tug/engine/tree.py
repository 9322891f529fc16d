"""`tug image tree`: the layer stacks of images as one tree of shared layers, with the images and containers
standing on them.

Layers are nodes keyed by chain id, so a layer two images share (the same content on the same base) is one node
with both images below it. Each node has its size (bytes of file content in its snapshot), the history line that
made it, and the number of images using it; each image lists its tags and the containers made from it.
"""

from __future__ import annotations

from tug.engine import images
from tug.engine.engine import Engine
from tug.oci.digest import chain_ids
from tug.records import field, record


@record
class ImageLeaf:
    id: str
    tags: tuple[str, ...]
    containers: list[str]  # names


@record
class LayerNode:
    chain_id: str
    diff_id: str
    size: int
    created_by: str
    users: set[str] = field(default_factory=set)  # image ids whose stack holds this layer
    children: dict[str, LayerNode] = field(default_factory=dict)
    images: list[ImageLeaf] = field(default_factory=list)  # images whose top layer this is


@record
class Forest:
    roots: dict[str, LayerNode]
    images: list[ImageLeaf]  # all images shown
    stored: int  # bytes of the shown layers, each once
    unshared: int  # what they would take if every image had its own copy


def build(eng: Engine, names: list[str] | None = None) -> Forest:
    from tug.engine.containers import list_containers

    chosen = [images.find(eng, n) for n in names] if names else images.list_images(eng)
    chosen = list({i.id: i for i in chosen}.values())
    on_image: dict[str, list[str]] = {}
    for c in list_containers(eng):
        if c.image_id:
            on_image.setdefault(c.image_id, []).append(c.name)
    roots: dict[str, LayerNode] = {}
    leaves = []
    sizes: dict[str, int] = {}
    unshared = 0
    for img in sorted(chosen, key=lambda i: (i.created, i.id)):
        cfg = images.config(eng, img)
        made = [h.get("created_by", "") or h.get("comment", "") for h in cfg.history if not h.get("empty_layer")]
        leaf = ImageLeaf(img.id, img.tags, sorted(on_image.get(img.id, [])))
        leaves.append(leaf)
        level = roots
        node = None
        for i, (diff, chain) in enumerate(zip(cfg.diff_ids, chain_ids(cfg.diff_ids), strict=True)):
            key = str(chain)
            node = level.get(key)
            if node is None:
                row = eng.metadata.get_layer(chain)
                node = LayerNode(key, str(diff), int(row["size"]) if row else 0, made[i] if i < len(made) else "")
                level[key] = node
            node.users.add(img.id)
            sizes[key] = node.size
            unshared += node.size
            level = node.children
        if node is None:
            roots.setdefault("", LayerNode("", "", 0, "(no layers)")).images.append(leaf)
        else:
            node.images.append(leaf)
    return Forest(roots, leaves, sum(sizes.values()), unshared)
