"""Images in the store: find by name or id, list, tag, remove, inspect."""

from __future__ import annotations

from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, NotFound
from tug.oci import reference
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class Image:
    id: str  # "sha256:<config hex>"
    manifest_digest: str
    created: str
    size: int
    tags: tuple[str, ...]  # normalised full references

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


def _image(eng: Engine, row: dict[str, Any]) -> Image:
    tags = tuple(sorted(eng.metadata.tags_for_image(row["id"])))
    return Image(row["id"], row.get("manifest_digest") or "", row.get("created") or "", int(row.get("size") or 0), tags)


def normalise(name: str) -> str:
    return str(reference.parse(name))


def find(eng: Engine, name: str) -> Image:
    """An image by reference (`busybox`, `busybox:1`, `host/x@sha256:..`), by full id or by unambiguous id prefix."""
    md = eng.metadata
    ref = None
    try:
        ref = reference.parse(name)
    except Invalid:
        if not reference.looks_like_id(name):
            raise
    if ref is not None:
        image_id = md.get_tag(str(ref)) if ref.digest is None else None
        if ref.digest is not None:
            image_id = _by_manifest_digest(eng, str(ref.digest))
        if image_id:
            row = md.get_image(image_id)
            if row:
                return _image(eng, row)
    if reference.looks_like_id(name):
        prefix = name.removeprefix("sha256:")
        rows = md.find_images_by_prefix("sha256:" + prefix)
        if len(rows) == 1:
            return _image(eng, rows[0])
        if len(rows) > 1:
            raise Invalid(f"image id prefix {name!r} is ambiguous: {len(rows)} images match")
    raise NotFound(f"No such image: {name}")


def _by_manifest_digest(eng: Engine, digest: str) -> str | None:
    for row in eng.metadata.list_images():
        if row.get("manifest_digest") == digest or row["id"] == digest:
            return row["id"]
    return None


def config(eng: Engine, image: Image) -> ImageConfig:
    return ImageConfig.parse(eng.content.read(Digest.parse(image.id)), where=f"image {image.short_id} config")


def layer_chain(eng: Engine, image: Image) -> list[Digest]:
    return chain_ids(config(eng, image).diff_ids)


def list_images(eng: Engine, all_images: bool = True) -> list[Image]:
    imgs = [_image(eng, r) for r in eng.metadata.list_images()]
    imgs.sort(key=lambda i: i.created, reverse=True)
    return imgs


def tag(eng: Engine, source: str, target: str) -> None:
    img = find(eng, source)
    ref = reference.parse(target)
    if ref.digest is not None:
        raise Invalid(f"refusing to create a tag with a digest reference: {target}")
    md = eng.metadata
    with md.transaction():
        md.set_tag(str(ref), img.id)
    sync_index(eng)


def sync_index(eng: Engine) -> None:
    """Rewrite the OCI layout's index.json from the tags, so `skopeo inspect oci:ROOT:TAG` sees the store."""
    from tug.oci.descriptor import Descriptor
    from tug.store.locks import lock

    with lock(eng.layout, "index"):
        _sync_index(eng, Descriptor)


def _sync_index(eng: Engine, Descriptor) -> None:  # noqa: N803 - the class, imported lazily by the caller
    md = eng.metadata
    refs = []
    for name, image_id in md.list_tags():
        row = md.get_image(image_id)
        if not row or not row.get("manifest_digest"):
            continue
        d = Digest.parse(row["manifest_digest"])
        desc = Descriptor(row.get("manifest_media_type") or "application/vnd.oci.image.manifest.v1+json", d,
                          eng.content.size(d))
        ref = reference.parse(name)
        refs.append((ref.familiar if ref.registry == reference.DEFAULT_REGISTRY else str(ref), desc))
    eng.layout.write_index(refs)


def remove(eng: Engine, name: str, force: bool = False) -> list[str]:
    """`rmi`: untag; delete the image when no tag is left (and no container uses it unless force). Docker's lines."""
    img = find(eng, name)
    md = eng.metadata
    out: list[str] = []
    by_id = reference.looks_like_id(name) and not any(normalise_safe(name) == t for t in img.tags)
    users = [c for c in md.list_containers() if c.get("image_id") == img.id]
    with md.transaction():
        if not by_id and len(img.tags) > 1:
            md.delete_tag(normalise(name))
            out.append(f"Untagged: {reference.parse(name).familiar}")
            sync_index(eng)
            return out
        if users and not force:
            raise Conflict(f"unable to remove image {name} (must force) - image is being used by container "
                           f"{users[0]['id'][:12]}")
        if by_id and len(img.tags) > 1 and not force:
            raise Conflict(f"unable to delete {img.short_id} (must be forced) - image is referenced in multiple "
                           "repositories")
        for t in img.tags:
            md.delete_tag(t)
            out.append(f"Untagged: {reference.parse(t).familiar}")
        if users:
            sync_index(eng)
            return out
        md.delete_image(img.id)
    out.append(f"Deleted: {img.id}")
    from tug.engine import gc

    gc.collect(eng)
    sync_index(eng)
    return out


def normalise_safe(name: str) -> str | None:
    try:
        return normalise(name)
    except Invalid:
        return None


def repo_digests_of(eng: Engine, img: Image) -> list[tuple[str, str]]:
    """(repository, manifest digest) pairs recorded when the image was pulled or pushed."""
    return list(eng.metadata.repo_digests_for_image(img.id))


def inspect(eng: Engine, name: str) -> dict[str, Any]:
    img = find(eng, name)
    cfg = config(eng, img)
    raw = cfg.raw
    repo_digests = [f"{reference.parse(r).familiar_name}@{d}" for r, d in repo_digests_of(eng, img)]
    return {
        "Id": img.id,
        "RepoTags": [reference.parse(t).familiar for t in img.tags],
        "RepoDigests": sorted(set(repo_digests)),
        "Parent": "",
        "Comment": (cfg.history[-1].get("comment", "") if cfg.history else ""),
        "Created": raw.get("created", ""),
        "DockerVersion": "",
        "Author": raw.get("author", ""),
        "Config": cfg.config,
        "Architecture": raw.get("architecture", ""),
        "Os": raw.get("os", ""),
        "Size": img.size,
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
        "Metadata": {"LastTagTime": ""},
    }
