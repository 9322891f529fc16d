"""`tug push`: every blob of a local image made present in the registry (exists, mounted or uploaded), then the
manifest, byte for byte as stored (so the digest the registry reports is the one tug has)."""

from __future__ import annotations

from tug.engine import images, progress
from tug.engine.engine import Engine
from tug.errors import Invalid
from tug.oci import reference
from tug.oci.digest import Digest
from tug.oci.manifest import Manifest, parse


def push(eng: Engine, name: str, on_event: progress.OnEvent = progress.ignore,
         tls_verify: bool | None = None) -> str:
    from tug.engine.registries import client as make_client

    ref = reference.parse(name)
    img = images.find(eng, name)
    if not img.manifest_digest:
        raise Invalid(f"image {name} has no manifest to push")
    mdigest = Digest.parse(img.manifest_digest)
    raw = eng.content.read(mdigest)
    row = eng.metadata.get_image(img.id) or {}
    doc = parse(raw, row.get("manifest_media_type"))
    if not isinstance(doc, Manifest):
        raise Invalid(f"image {name}'s manifest is an index; push the platform image instead")
    client = make_client(eng, tls_verify, ref.registry)
    on_event(progress.message(f"The push refers to repository [{ref.name}]"))
    same_registry = [reference.parse(r).repository for r, _ in images.repo_digests_of(eng, img)
                     if reference.parse(r).registry == ref.registry and reference.parse(r).repository != ref.repository]
    for desc in [*doc.layers, doc.config]:
        lid = progress.layer_id(desc.digest)
        on_event(progress.ProgressEvent(lid, progress.PUSHING, 0, desc.size))
        how = client.push_blob(ref, desc, lambda d=desc.digest: eng.content.open(d), mount_from=same_registry)
        state = {"exists": progress.LAYER_EXISTS, "mounted": progress.MOUNTED}.get(how, progress.PUSHED)
        on_event(progress.ProgressEvent(lid, state, desc.size, desc.size))
    digest = client.push_manifest(ref, raw, row.get("manifest_media_type") or doc.media_type)
    with eng.metadata.transaction():
        eng.metadata.add_repo_digest(ref.name, str(digest), img.id)
    on_event(progress.message(f"{ref.tag or 'latest'}: digest: {digest} size: {len(raw)}"))
    return str(digest)
