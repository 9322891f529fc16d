"""`tug import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image, as `docker import`."""

from __future__ import annotations

import platform
from typing import BinaryIO

from tug.engine.changes import apply_changes
from tug.engine.engine import Engine
from tug.engine.layers import unpack_blob
from tug.engine.record import record_image
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.image_config import ImageConfig
from tug.oci.times import now_rfc3339

_MAGIC = {b"\x1f\x8b": ("gzip", mt.OCI_LAYER_GZIP), b"\x28\xb5\x2f\xfd": ("zstd", mt.OCI_LAYER_ZSTD)}


def host_arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def import_tarball(eng: Engine, stream: BinaryIO, tags: list[str], changes: list[str] = (),  # type: ignore[assignment]
                   message: str = "", source: str = "-", platform_text: str | None = None) -> str:
    """Ingest the tarball as a layer blob, unpack it into its snapshot, record the image. Returns the image id.
    `platform_text` (`--platform os/arch[/variant]`) sets the image's platform; the host's by default."""
    from tug.oci.platform import Platform
    from tug.store.locks import lock

    plat = Platform.parse(platform_text) if platform_text else Platform("linux", host_arch())  # before any write
    # a shared hold on "gc": collection (exclusive) cannot remove the new blob or snapshot before it is recorded
    with lock(eng.layout, "gc", shared=True):
        return _import(eng, stream, tags, list(changes), message, source, plat.to_json())


def _import(eng: Engine, stream: BinaryIO, tags: list[str], changes: list[str], message: str, source: str,
            plat: dict[str, str]) -> str:
    head = stream.read(4)
    media_type = mt.OCI_LAYER
    for magic, (_, mtype) in _MAGIC.items():
        if head.startswith(magic):
            media_type = mtype
    with eng.content.ingest() as ing:
        ing.write(head)
        while chunk := stream.read(1 << 20):
            ing.write(chunk)
        digest = ing.commit()
    desc = Descriptor(media_type, digest, eng.content.size(digest))
    layer = unpack_blob(eng, desc, parent=None)
    created = now_rfc3339()
    cfg = ImageConfig({
        **plat,
        "created": created,
        "config": apply_changes({}, list(changes)),
        "rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id)]},
        "history": [{"created": created, "created_by": "", "comment": message or f"Imported from {source}"}],
    })
    return record_image(eng, cfg, [layer], tags=list(tags))
