"""Recording a finished image: config and manifest blobs written, then one metadata transaction.

Import, pull, commit, build and load all end here, so an image is either wholly present or absent: the rows are
written only after every blob and snapshot they name is in place.
"""

from __future__ import annotations

from typing import Any

from tug.engine.engine import Engine
from tug.oci import mediatypes as mt
from tug.oci import reference
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import build_manifest
from tug.records import record


@record(frozen=True)
class LayerBlob:
    """One layer as an image records it (pull, import, load, commit, build and the build cache alike)."""

    descriptor: Descriptor  # the blob as stored (compressed or not)
    diff_id: Digest  # digest of the uncompressed tar
    size: int  # bytes unpacked in the snapshot

    def to_json(self) -> dict[str, Any]:
        return {"descriptor": self.descriptor.to_json(), "diff_id": str(self.diff_id), "size": self.size}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LayerBlob:
        return cls(Descriptor.from_json(doc["descriptor"]), Digest.parse(doc["diff_id"]), int(doc["size"]))


def stored_layers(eng: Engine, manifest_digest: str, cfg: ImageConfig, name: str) -> list[LayerBlob]:
    """An image's layers as the store holds them: its manifest's blobs, its config's diff ids, its snapshots' sizes
    (what a new image built on it records again). `name` says which image in errors."""
    from tug.errors import Corrupt, NotFound
    from tug.oci.manifest import Manifest, parse

    doc = parse(eng.content.read(Digest.parse(manifest_digest)), where=f"manifest of {name}")
    if not isinstance(doc, Manifest) or len(doc.layers) != len(cfg.diff_ids):
        raise Corrupt(f"image {name}: manifest and config disagree on the layers")
    out = []
    for desc, diff_id, chain in zip(doc.layers, cfg.diff_ids, chain_ids(cfg.diff_ids), strict=True):
        row = eng.metadata.get_layer(chain)
        if row is None:
            raise NotFound(f"image {name}: layer {chain} is not in the store", hint="tug system check")
        out.append(LayerBlob(desc, diff_id, int(row["size"])))
    return out


def record_image(eng: Engine, cfg: ImageConfig, layers: list[LayerBlob], tags: list[str] = (),  # type: ignore[assignment]
                 manifest_raw: bytes | None = None, manifest_media_type: str = mt.OCI_MANIFEST,
                 repo_digest: tuple[str, str] | None = None) -> str:
    """Store config (and manifest unless given raw), then the image row, layer rows and tags. Returns the id."""
    return record_raw(eng, cfg.to_bytes(), layers, tags, manifest_raw, manifest_media_type, repo_digest)


def record_raw(eng: Engine, config_bytes: bytes, layers: list[LayerBlob], tags: list[str] = (),  # type: ignore[assignment]
               manifest_raw: bytes | None = None, manifest_media_type: str = mt.OCI_MANIFEST,
               repo_digest: tuple[str, str] | None = None) -> str:
    cfg = ImageConfig.parse(config_bytes)
    config_digest = eng.content.put(config_bytes)
    cfg_media = mt.OCI_CONFIG if manifest_media_type == mt.OCI_MANIFEST else mt.DOCKER_CONFIG
    if manifest_raw is None:
        manifest_raw = build_manifest(Descriptor(cfg_media, config_digest, len(config_bytes)),
                                      [lb.descriptor for lb in layers], manifest_media_type)
    manifest_digest = eng.content.put(manifest_raw)
    image_id = str(config_digest)
    chains = chain_ids([lb.diff_id for lb in layers])
    md = eng.metadata
    with md.transaction():
        md.add_image(image_id, manifest_digest=str(manifest_digest), manifest_media_type=manifest_media_type,
                     created=cfg.created, size=sum(lb.size for lb in layers),
                     layers=[str(c) for c in chains])
        for t in tags:
            md.set_tag(str(reference.parse(t)), image_id)
        if repo_digest is not None:
            md.add_repo_digest(repo_digest[0], repo_digest[1], image_id)
    from tug.engine.images import sync_index

    sync_index(eng)
    return image_id
