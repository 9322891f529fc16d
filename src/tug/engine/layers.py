"""From a layer blob in the content store to its snapshot: decompress, hash, unpack once per chain id."""

from __future__ import annotations

import hashlib

from tug.engine.engine import Engine
from tug.engine.record import LayerBlob
from tug.errors import Corrupt
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest


def uncompressed_digest(eng: Engine, desc: Descriptor) -> Digest:
    """The diff id of a stored layer blob (one streaming pass)."""
    from tug.store.layers import decompressed

    h = hashlib.sha256()
    with eng.content.open(desc.digest) as f, decompressed(f, mt.layer_compression(desc.media_type)) as raw:
        while chunk := raw.read(1 << 20):
            h.update(chunk)
    return Digest("sha256", h.hexdigest())


def unpack_blob(eng: Engine, desc: Descriptor, parent: Digest | None, diff_id: Digest | None = None) -> LayerBlob:
    """Make sure the snapshot for this layer on top of `parent` exists; return what the image records."""
    if diff_id is None:
        diff_id = uncompressed_digest(eng, desc) if desc.media_type != mt.OCI_LAYER else desc.digest
    chain = diff_id if parent is None else Digest.of(f"{parent} {diff_id}".encode())
    compression = mt.layer_compression(desc.media_type)
    snap = eng.snapshots.ensure(chain, parent, lambda: eng.content.open(desc.digest), compression, diff_id=diff_id)
    if snap.diff_id != diff_id:
        raise Corrupt(f"layer {desc.digest} unpacks to {snap.diff_id}, its config says {diff_id}")
    return LayerBlob(desc, diff_id, snap.size)
