"""`tug save`: images as a docker-archive (what `docker save` writes) or an OCI archive / OCI image layout dir.

The docker-archive is the layout docker 25 writes, which is an OCI image layout too: `blobs/sha256/<hex>` for
the config, one uncompressed layer tar per layer (its digest is the diff id) and an OCI manifest, plus `index.json`,
`oci-layout`, `manifest.json` (Config, RepoTags, Layers) and `repositories`. `docker load`, `podman load` and
`skopeo docker-archive:` read it.

The OCI form carries the blobs and manifests exactly as stored (compressed layers stay compressed, the manifest's
raw bytes keep their digest), with `org.opencontainers.image.ref.name` and `io.containerd.image.name` naming each.

Archives stream to any writable (stdout included): a layer that is stored compressed is decompressed twice, once
to learn the size its tar header needs and once to write it, so nothing is held in memory or spooled.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tug.engine import images
from tug.engine.engine import Engine
from tug.errors import Corrupt, Invalid
from tug.oci import mediatypes as mt
from tug.oci import reference
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.manifest import Manifest, build_manifest, parse
from tug.records import record
from tug.store.diff import Writable

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_CHUNK = 1 << 20


@record
class Saved:
    image: images.Image
    tags: list[str]  # full references to write for this image (none when it was named by id)
    manifest: Manifest
    config: bytes


def select(eng: Engine, names: list[str]) -> list[Saved]:
    """The images to save, each once, with the tags the names chose (all its tags when named by a tag)."""
    out: dict[str, Saved] = {}
    for name in names:
        img = images.find(eng, name)
        ref = images.normalise_safe(name)
        tag = ref if ref and ref in img.tags else None
        if img.id not in out:
            raw = eng.content.read(Digest.parse(img.manifest_digest))
            doc = parse(raw, where=f"manifest of {img.short_id}")
            if not isinstance(doc, Manifest):
                raise Corrupt(f"image {img.short_id} has an index where its manifest should be")
            out[img.id] = Saved(img, [], doc, eng.content.read(Digest.parse(img.id)))
        if tag and tag not in out[img.id].tags:
            out[img.id].tags.append(tag)
    return list(out.values())


# -- writing entries --------------------------------------------------------------------------------------------


class ArchiveOut:
    """Entries of an archive: a streamed tar, or files in a directory (an OCI layout dir)."""

    def __init__(self, out: Writable | None = None, directory: Path | None = None) -> None:
        self.out = out
        self.dir = directory
        self.written: set[str] = set()

    def _tar_write(self, data: bytes) -> None:
        assert self.out is not None
        self.out.write(data)

    def _header(self, name: str, size: int) -> None:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime, ti.uname, ti.gname = size, 0o644, 0, "", ""
        self._tar_write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def has(self, name: str) -> bool:
        return name in self.written or (self.dir is not None and (self.dir / name).exists())

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add_stream(name, len(data), _BytesReader(data))

    def add_stream(self, name: str, size: int, reader) -> None:  # noqa: ANN001 - anything with read(n)
        self.written.add(name)
        if self.dir is not None:
            path = self.dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            with open(tmp, "wb") as f:
                _copy(reader, f.write, size, name)
            os.replace(tmp, path)
            return
        self._header(name, size)
        _copy(reader, self._tar_write, size, name)
        self._tar_write(bytes(-size % 512))

    def add_dir(self, name: str) -> None:
        if self.dir is not None:
            (self.dir / name).mkdir(parents=True, exist_ok=True)
            return
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.uname, ti.gname = tarfile.DIRTYPE, 0o755, 0, "", ""
        self._tar_write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def close(self) -> None:
        if self.dir is None:
            self._tar_write(bytes(1024))


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.view = memoryview(data)

    def read(self, n: int = -1) -> bytes:
        chunk = bytes(self.view[:n] if n >= 0 else self.view)
        self.view = self.view[len(chunk):]
        return chunk


def _copy(reader, write, size: int, name: str) -> None:  # noqa: ANN001
    left = size
    while left > 0:
        chunk = reader.read(min(_CHUNK, left))
        if not chunk:
            raise Corrupt(f"{name} ended {left} bytes early while being saved")
        write(chunk)
        left -= len(chunk)


@contextmanager
def _uncompressed(eng: Engine, desc: Descriptor) -> Iterator[BinaryIO]:
    from tug.store.layers import decompressed

    with eng.content.open(desc.digest) as f, decompressed(f, mt.layer_compression(desc.media_type)) as raw:
        yield raw  # type: ignore[misc]


def _uncompressed_size(eng: Engine, desc: Descriptor) -> int:
    if mt.layer_compression(desc.media_type) == "none":
        return eng.content.size(desc.digest)
    n = 0
    with _uncompressed(eng, desc) as raw:
        while chunk := raw.read(_CHUNK):
            n += len(chunk)
    return n


def _blob(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


# -- the two formats --------------------------------------------------------------------------------------------


def _docker_image(eng: Engine, arc: ArchiveOut, s: Saved) -> tuple[Descriptor, dict, str]:
    """Blobs of one image in docker's form; returns its manifest descriptor, manifest.json entry and top layer."""
    cfg = images.config(eng, s.image)
    layer_descs = []
    for desc, diff_id in zip(s.manifest.layers, cfg.diff_ids, strict=True):
        name = _blob(diff_id)
        if mt.layer_compression(desc.media_type) == "none":
            size = eng.content.size(desc.digest)
            if not arc.has(name):
                with eng.content.open(desc.digest) as f:
                    arc.add_stream(name, size, f)
        else:
            size = _uncompressed_size(eng, desc)
            if not arc.has(name):
                with _uncompressed(eng, desc) as raw:
                    arc.add_stream(name, size, raw)
        layer_descs.append(Descriptor(mt.OCI_LAYER, diff_id, size))
    cfg_digest = Digest.parse(s.image.id)
    if not arc.has(_blob(cfg_digest)):
        arc.add_bytes(_blob(cfg_digest), s.config)
    manifest = build_manifest(Descriptor(mt.OCI_CONFIG, cfg_digest, len(s.config)), layer_descs)
    m_digest = Digest.of(manifest)
    if not arc.has(_blob(m_digest)):
        arc.add_bytes(_blob(m_digest), manifest)
    entry = {"Config": _blob(cfg_digest), "RepoTags": [reference.parse(t).familiar for t in s.tags] or None,
             "Layers": [_blob(d.digest) for d in layer_descs]}
    top = layer_descs[-1].digest.hex if layer_descs else ""
    return Descriptor(mt.OCI_MANIFEST, m_digest, len(manifest)), entry, top


def _oci_image(eng: Engine, arc: ArchiveOut, s: Saved) -> Descriptor:
    for desc in [s.manifest.config, *s.manifest.layers]:
        name = _blob(desc.digest)
        if not arc.has(name):
            with eng.content.open(desc.digest) as f:
                arc.add_stream(name, eng.content.size(desc.digest), f)
    d = Digest.parse(s.image.manifest_digest)
    if not arc.has(_blob(d)):
        arc.add_bytes(_blob(d), s.manifest.raw)
    return Descriptor(s.manifest.media_type, d, len(s.manifest.raw))


def _index_entries(desc: Descriptor, tags: list[str]) -> list[dict]:
    if not tags:
        return [desc.to_json()]
    out = []
    for t in tags:
        ref = reference.parse(t)
        d = desc.to_json()
        d["annotations"] = {CONTAINERD_NAME: str(ref), REF_NAME: ref.familiar}
        out.append(d)
    return out


def save(eng: Engine, names: list[str], fmt: str = "docker", out: Writable | None = None,
         directory: Path | None = None) -> None:
    """Write the images named to `out` (a tar stream) or into `directory` (an OCI layout dir, oci format only)."""
    if fmt not in ("docker", "oci"):
        raise Invalid(f"unknown archive format {fmt!r}", hint="docker or oci")
    if directory is not None and fmt != "oci":
        raise Invalid("saving into a directory writes an OCI image layout: use --format oci")
    chosen = select(eng, names)
    arc = ArchiveOut(out, directory)
    for sub in ("blobs", "blobs/sha256"):
        arc.add_dir(sub)
    index: list[dict] = []
    if directory is not None and (directory / "index.json").exists():
        old = json.loads((directory / "index.json").read_bytes()).get("manifests") or []
        mine = {str(reference.parse(t)) for s in chosen for t in s.tags}
        index = [m for m in old if (m.get("annotations") or {}).get(CONTAINERD_NAME) not in mine]
    manifest_json, repositories = [], {}
    for s in chosen:
        if fmt == "docker":
            desc, entry, top = _docker_image(eng, arc, s)
            manifest_json.append(entry)
            for t in s.tags:
                ref = reference.parse(t)
                repositories.setdefault(ref.familiar_name, {})[ref.tag or "latest"] = top
        else:
            desc = _oci_image(eng, arc, s)
        index.extend(_index_entries(desc, s.tags))
    arc.add_bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                            "manifests": index}).encode())
    if fmt == "docker":
        arc.add_bytes("manifest.json", json.dumps(manifest_json).encode())
    arc.add_bytes("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    if fmt == "docker" and repositories:
        arc.add_bytes("repositories", json.dumps(repositories).encode())
    arc.close()
