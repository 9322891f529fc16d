"""`tug load`: images from a docker-archive (old `<id>/layer.tar` and docker 25 `blobs/` layouts), an OCI archive
or an OCI image layout directory, plain or gzip/zstd compressed, from a file or stdin.

Every blob is verified on the way in: OCI blobs against their digests, docker-archive layers against the diff ids
of the config. An archive that fails half way leaves the store as it was: blobs and snapshots this load added and
nothing references are removed again.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from tug.engine.engine import Engine
from tug.engine.record import LayerBlob
from tug.errors import Corrupt, Invalid, NotFound
from tug.oci import mediatypes as mt
from tug.oci import reference
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Index, Manifest, parse

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_JSON = 16 << 20
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


def _clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise Invalid(f"archive path {name!r} leaves the archive")
    return "/".join(parts)


class Source:
    """Named entries of an archive: members of a tar file, or files below an OCI layout directory."""

    def __init__(self, tar: tarfile.TarFile | None = None, directory: Path | None = None) -> None:
        self.tar = tar
        self.dir = directory
        self.members: dict[str, tarfile.TarInfo] = {}
        if tar is not None:
            for m in tar:
                if m.isreg() or m.issym() or m.islnk():
                    self.members[_clean(m.name)] = m

    def has(self, name: str) -> bool:
        name = _clean(name)
        if self.dir is not None:
            return (self.dir / name).is_file()
        return name in self.members

    def open(self, name: str) -> BinaryIO:
        name = _clean(name)
        if self.dir is not None:
            path = self.dir / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as e:
                raise NotFound(f"{name} is not in the image layout", where=str(self.dir)) from e
            return os.fdopen(fd, "rb")
        assert self.tar is not None
        m = self.members.get(name)
        f = self.tar.extractfile(m) if m is not None else None
        if f is None:
            raise NotFound(f"{name} is not in the archive")
        return f  # type: ignore[return-value]

    def read(self, name: str, limit: int = MAX_JSON) -> bytes:
        with self.open(name) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise Invalid(f"{name} in the archive is larger than {limit} bytes")
        return data


# -- opening what the user gave ---------------------------------------------------------------------------------


@contextmanager
def open_source(eng: Engine, path: str | None, stdin: BinaryIO | None) -> Iterator[Source]:
    """A Source for a directory, a (compressed) tar file, or stdin (spooled to the store's tmp/ first)."""
    if path and os.path.isdir(path):
        yield Source(directory=Path(path))
        return
    with ExitStack() as stack:
        if path:
            try:
                f: BinaryIO = stack.enter_context(open(path, "rb"))
            except OSError as e:
                raise NotFound(f"open {path}: {e.strerror}") from None
        else:
            assert stdin is not None
            f = stdin
        head = f.read(4) if not f.seekable() else _peek(f)
        compression = next((c for m, c in _MAGIC.items() if head.startswith(m)), "none")
        if compression != "none" or not f.seekable():
            f = stack.enter_context(_spool(eng, f, head if not f.seekable() else b"", compression))
        try:
            tar = stack.enter_context(tarfile.open(fileobj=f, mode="r:", encoding="utf-8",
                                                   errors="surrogateescape"))
            yield Source(tar=tar)
        except tarfile.TarError as e:
            raise Invalid(f"not an image archive: {e}", where=path or "stdin") from None


def _peek(f: BinaryIO) -> bytes:
    pos = f.tell()
    head = f.read(4)
    f.seek(pos)
    return head


@contextmanager
def _spool(eng: Engine, f: BinaryIO, head: bytes, compression: str) -> Iterator[BinaryIO]:
    from tug.store.layers import decompressed

    eng.layout.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=eng.layout.tmp, prefix="load-") as tmp:
        src = _Prefixed(head, f)
        with decompressed(src, compression) as raw:  # type: ignore[arg-type]
            shutil.copyfileobj(raw, tmp, 1 << 20)
        tmp.seek(0)
        yield tmp  # type: ignore[misc]


class _Prefixed:
    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = (self.head, b"") if n < 0 or n >= len(self.head) else (self.head[:n], self.head[n:])
            return out
        return self.rest.read(n)

    def readinto(self, buf: bytearray | memoryview) -> int:  # decompressors that read into their own buffers
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


# -- loading ----------------------------------------------------------------------------------------------------


class _Loader:
    def __init__(self, eng: Engine, src: Source) -> None:
        self.eng = eng
        self.src = src
        self.new_blobs: list[Digest] = []
        self.new_snaps: list[Digest] = []

    def ingest(self, name: str, expected: Digest | None = None, size: int | None = None) -> tuple[Digest, str]:
        """Copy an entry into the content store (verified when `expected` is known); (digest, compression)."""
        content = self.eng.content
        if expected is not None and content.has(expected):
            with content.open(expected) as f:
                head = f.read(4)
            return expected, next((c for m, c in _MAGIC.items() if head.startswith(m)), "none")
        with self.src.open(name) as f, content.ingest(expected, size) as ing:
            head = f.read(4)
            ing.write(head)
            while chunk := f.read(1 << 20):
                ing.write(chunk)
            digest = ing.commit()
        self.new_blobs.append(digest)
        return digest, next((c for m, c in _MAGIC.items() if head.startswith(m)), "none")

    def unpack(self, desc: Descriptor, parent: Digest | None, diff_id: Digest) -> LayerBlob:
        from tug.engine.layers import unpack_blob

        chain = diff_id if parent is None else Digest.of(f"{parent} {diff_id}".encode())
        existed = self.eng.snapshots.exists(chain)
        lb = unpack_blob(self.eng, desc, parent, diff_id=diff_id)
        if not existed:
            self.new_snaps.append(chain)
        return lb

    def layers(self, cfg: ImageConfig, descs: list[Descriptor]) -> list[LayerBlob]:
        if len(descs) != len(cfg.diff_ids):
            raise Invalid(f"the archive lists {len(descs)} layers, the image config {len(cfg.diff_ids)}")
        out, parent = [], None
        for desc, diff_id, chain in zip(descs, cfg.diff_ids, chain_ids(cfg.diff_ids), strict=True):
            out.append(self.unpack(desc, parent, diff_id))
            parent = chain
        return out

    def undo(self) -> None:
        """Remove what this load added that no image or container references."""
        from tug.engine import gc

        blobs, chains = gc.referenced(self.eng)
        for c in reversed(self.new_snaps):
            if c not in chains:
                self.eng.snapshots.remove(c)
        for d in self.new_blobs:
            if d not in blobs:
                self.eng.content.delete(d)


def _docker(ld: _Loader) -> list[tuple[str, list[str]]]:
    from tug.engine.record import record_raw

    entries = json.loads(ld.src.read("manifest.json"))
    if not isinstance(entries, list):
        raise Invalid("manifest.json of the docker archive is not a list")
    out = []
    for e in entries:
        config_bytes = ld.src.read(e["Config"])
        cfg = ImageConfig.parse(config_bytes, where=e["Config"])
        descs = []
        for name in e.get("Layers") or []:
            digest, compression = ld.ingest(name)
            media = {"none": mt.OCI_LAYER, "gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD}[compression]
            descs.append(Descriptor(media, digest, ld.eng.content.size(digest)))
        layers = ld.layers(cfg, descs)
        tags = [str(reference.parse(t)) for t in e.get("RepoTags") or []]
        out.append((record_raw(ld.eng, config_bytes, layers, tags=tags), tags))
    return out


def _blob_name(d: Digest) -> str:
    return f"blobs/{d.algorithm}/{d.hex}"


def _manifests(ld: _Loader, desc: Descriptor, depth: int = 0) -> Iterator[tuple[Descriptor, Manifest]]:
    if depth > 4:
        raise Invalid("image indexes nested too deeply")
    raw = ld.src.read(_blob_name(desc.digest))
    if Digest.of(raw, desc.digest.algorithm) != desc.digest:
        raise Corrupt(f"manifest {desc.digest} in the archive does not match its digest")
    doc = parse(raw, desc.media_type, where=str(desc.digest))
    if isinstance(doc, Index):
        from tug.engine.importer import host_arch

        plat = [m for m in doc.manifests if (m.platform or {}).get("architecture") in (None, host_arch())]
        for m in plat[:1] or doc.manifests[:1]:
            yield from _manifests(ld, m, depth + 1)
    else:
        yield desc, doc


def _name_of(annotations: dict[str, str]) -> str | None:
    for key in (CONTAINERD_NAME, REF_NAME):
        name = annotations.get(key)
        if name and (":" in name or "/" in name or "@" in name):
            try:
                return str(reference.parse(name))
            except Invalid:
                continue
    return None


def _oci(ld: _Loader) -> list[tuple[str, list[str]]]:
    from tug.engine.record import record_raw

    index = json.loads(ld.src.read("index.json"))
    out = []
    for i, m in enumerate(index.get("manifests") or []):
        top = Descriptor.from_json(m, where=f"index.json manifests[{i}]")
        name = _name_of(top.annotations)
        for _desc, man in _manifests(ld, top):
            config_bytes = ld.src.read(_blob_name(man.config.digest))
            if Digest.of(config_bytes) != man.config.digest:
                raise Corrupt(f"config {man.config.digest} in the archive does not match its digest")
            cfg = ImageConfig.parse(config_bytes, where=str(man.config.digest))
            for layer in man.layers:
                mt.layer_compression(layer.media_type)
                ld.ingest(_blob_name(layer.digest), layer.digest, layer.size)
            layers = ld.layers(cfg, man.layers)
            tags = [name] if name else []
            out.append((record_raw(ld.eng, config_bytes, layers, tags=tags, manifest_raw=man.raw,
                                   manifest_media_type=man.media_type), tags))
    return out


def load(eng: Engine, path: str | None = None, stdin: BinaryIO | None = None) -> list[str]:
    """Load every image of the archive; returns docker's lines (`Loaded image: NAME` / `Loaded image ID: ID`)."""
    from tug.store.locks import lock

    with open_source(eng, path, stdin) as src, lock(eng.layout, "gc", shared=True):
        ld = _Loader(eng, src)
        try:
            if src.has("manifest.json"):
                loaded = _docker(ld)
            elif src.has("index.json"):
                loaded = _oci(ld)
            else:
                raise Invalid("not an image archive: no manifest.json or index.json", where=path or "stdin")
        except BaseException as err:
            try:
                ld.undo()
            except Exception as cleanup:  # noqa: BLE001 - reported with the original
                if hasattr(err, "add_cleanup_error"):
                    err.add_cleanup_error(cleanup)
            raise
    lines = []
    for image_id, tags in loaded:
        if tags:
            lines.extend(f"Loaded image: {reference.parse(t).familiar}" for t in tags)
        else:
            lines.append(f"Loaded image ID: {image_id}")
    return lines
