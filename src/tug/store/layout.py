"""Where things live under the store root: an OCI image layout plus tug's database, snapshots and containers.

```
ROOT/oci-layout  index.json  blobs/sha256/<hex>   (readable by skopeo/umoci as `oci:ROOT:NAME`)
ROOT/tug.db                                        (SQLite, WAL)
ROOT/snapshots/<chainid-hex>/fs                    (one unpacked layer each)
ROOT/containers/<id>/  ROOT/volumes/  ROOT/locks/  ROOT/tmp/
```
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tug.oci.descriptor import Descriptor
from tug.oci.mediatypes import OCI_INDEX
from tug.sys.fs import fsync_dir

REF_NAME = "org.opencontainers.image.ref.name"


class Layout:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def ingest(self) -> Path:
        return self.root / "tmp" / "ingest"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def db_path(self) -> Path:
        return self.root / "tug.db"

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def ensure(self) -> Layout:
        """Create the directories and the OCI layout files if missing (idempotent, safe to race)."""
        if not self.root.is_dir():
            self.root.mkdir(mode=0o711, parents=True, exist_ok=True)  # as docker's root: no listing by others
        for d in (self.blobs, self.ingest, self.snapshots, self.containers, self.locks, self.volumes):
            d.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            atomic_write(self.root / "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        if not self.index_path.exists():
            self.write_index([])
        return self

    def write_index(self, refs: list[tuple[str, Descriptor]]) -> None:
        """Rewrite index.json atomically: one manifest descriptor per name, annotated with its ref name."""
        manifests = []
        for name, desc in refs:
            d = desc.to_json()
            d["annotations"] = {**d.get("annotations", {}), REF_NAME: name}
            manifests.append(d)
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        atomic_write(self.index_path, json.dumps(doc, indent=2).encode() + b"\n")

    def read_index(self) -> list[tuple[str, Descriptor]]:
        try:
            doc = json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return []
        out = []
        for i, m in enumerate(doc.get("manifests") or []):
            desc = Descriptor.from_json(m, where=f"{self.index_path} manifests[{i}]")
            out.append((desc.annotations.get(REF_NAME, ""), desc))
        return out


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file so readers see the old or the new content, never a part (temp file, fsync, rename, fsync)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
