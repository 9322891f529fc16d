"""Image manifests and indexes (OCI and Docker v2 schema 2), parsed from their raw bytes.

The raw bytes are kept: a document with a digest is never re-serialised before hashing.
"""

from __future__ import annotations

import json
from typing import Any

from tug.errors import Invalid
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.records import field, record

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@record(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]
    raw: bytes = field(repr=False)
    annotations: dict[str, str] = field(default_factory=dict)


@record(frozen=True)
class Index:
    media_type: str
    manifests: list[Descriptor]
    raw: bytes = field(repr=False)
    annotations: dict[str, str] = field(default_factory=dict)


def _load(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise Invalid(f"manifest is {len(raw)} bytes, over the {MAX_MANIFEST_BYTES} byte limit", where=where)
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise Invalid(f"manifest is not JSON: {e}", where=where) from None
    if not isinstance(doc, dict):
        raise Invalid("manifest is not a JSON object", where=where)
    return doc


def parse(raw: bytes, content_type: str | None = None, where: str = "manifest") -> Manifest | Index:
    """Parse a manifest or an index. The media type comes from the document, else from `content_type`.

    A document with both `manifests` and `layers`/`config` is ambiguous and refused.
    """
    doc = _load(raw, where)
    has_index = "manifests" in doc
    has_manifest = "layers" in doc or "config" in doc
    if has_index and has_manifest:
        raise Invalid("document is ambiguous between an image manifest and an index", where=where)
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type:
        media_type = mt.OCI_INDEX if has_index else mt.OCI_MANIFEST
    if doc.get("schemaVersion") != 2:
        raise Invalid(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}", where=where)
    annotations = dict(doc.get("annotations") or {})
    if media_type in mt.INDEXES:
        if has_manifest or not isinstance(doc.get("manifests"), list):
            raise Invalid(f"{media_type} without a manifests list", where=where)
        descs = [Descriptor.from_json(d, f"{where} manifests[{i}]") for i, d in enumerate(doc["manifests"])]
        return Index(media_type, descs, raw, annotations)
    if media_type in mt.MANIFESTS:
        if has_index or "config" not in doc or not isinstance(doc.get("layers"), list):
            raise Invalid(f"{media_type} without config and layers", where=where)
        config = Descriptor.from_json(doc["config"], f"{where} config")
        layers = [Descriptor.from_json(d, f"{where} layers[{i}]") for i, d in enumerate(doc["layers"])]
        return Manifest(media_type, config, layers, raw, annotations)
    raise Invalid(f"unknown manifest media type {media_type!r}", where=where)


def build_manifest(config: Descriptor, layers: list[Descriptor], media_type: str = mt.OCI_MANIFEST,
                   annotations: dict[str, str] | None = None) -> bytes:
    """Serialise a new manifest deterministically (sorted keys are not used: field order is the spec's)."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "config": config.to_json(),
                           "layers": [d.to_json() for d in layers]}
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, separators=(",", ":")).encode()
