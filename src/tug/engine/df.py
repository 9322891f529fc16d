"""`tug system df`, `tug system prune`, `tug image prune`: disk use that adds up, and what a prune frees.

`measure` walks the whole store once as `du -sbx` does (apparent sizes of every file, directory and symlink, a
hard-linked inode once, never onto another file system) and files each byte under one object: a blob, a snapshot,
a container's directory, a volume, the store's own metadata (database, index, locks, directories), or leftovers
of crashed commands. The rows of `system df` are sums of those objects, so their total is the store's `du`.

What a prune frees is computed on the same objects: the containers, images and volumes it would remove, then
every blob and snapshot that nothing kept still references (shared layers stay while anything uses them), plus
the leftovers. `--dry-run` reports exactly that sum; a real prune removes the same set.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator

from tug.engine.engine import Engine
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Manifest, parse
from tug.records import field, record


@record
class Usage:
    objects: dict[str, int] = field(default_factory=dict)  # key -> bytes
    total: int = 0

    def add(self, key: str, n: int) -> None:
        self.objects[key] = self.objects.get(key, 0) + n
        self.total += n

    def sum(self, keys) -> int:  # noqa: ANN001 - any iterable of keys
        return sum(self.objects.get(k, 0) for k in set(keys))


def _key(parts: tuple[str, ...]) -> str:
    top = parts[0] if parts else ""
    if top == "blobs" and len(parts) >= 3:
        return f"blob:{parts[1]}:{parts[2]}"
    if top == "snapshots" and len(parts) >= 2:
        name = parts[1]
        if len(name) == 64:
            return f"snap:sha256:{name}"
        if name.startswith((".tmp-", ".rm-")):
            return f"junk:snapshots/{name}"
    if top == "containers" and len(parts) >= 2:
        return f"ctr:{parts[1]}"
    if top == "volumes" and len(parts) >= 2:
        return f"vol:{parts[1]}"
    if top in ("build-cache", "buildcache"):
        return "build"
    if top == "tmp" and len(parts) >= 3 and parts[1] == "ingest":
        return f"ingest:{parts[2]}"
    return "meta"


def measure(eng: Engine) -> Usage:
    """Every byte under the root, by object (the database's WAL checkpointed first, its -shm index left out)."""
    checkpoint(eng)
    usage = Usage()
    root = str(eng.root)
    usage.add("meta", os.lstat(root).st_size)
    for parts, s in walk(root):
        if parts != ("tug.db-shm",):
            usage.add(_key(parts), s.st_size)
    return usage


def walk(top: str) -> Iterator[tuple[tuple[str, ...], os.stat_result]]:
    """Every entry under `top` with its path below it: one filesystem, symlinks not followed, a hard-linked file
    once. Nothing when `top` does not exist."""
    try:
        dev = os.lstat(top).st_dev
    except FileNotFoundError:
        return
    seen: set[int] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(top, ())]
    while stack:
        path, parts = stack.pop()
        try:
            it = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with it:
            for e in it:
                try:
                    s = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if s.st_dev != dev:
                    continue
                is_dir = stat.S_ISDIR(s.st_mode)
                if s.st_nlink > 1 and not is_dir:
                    if s.st_ino in seen:
                        continue
                    seen.add(s.st_ino)
                sub = (*parts, e.name)
                yield sub, s
                if is_dir:
                    stack.append((e.path, sub))


def checkpoint(eng: Engine) -> None:
    """Fold the WAL into the database file and truncate it, so its size does not float between measurements."""
    try:
        eng.metadata.query("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # noqa: BLE001 - a busy database keeps its WAL; the numbers are then a little higher
        pass


# -- what references what ---------------------------------------------------------------------------------------


@record
class Model:
    image_refs: dict[str, set[str]]  # image id -> blob and snapshot keys
    image_tagged: dict[str, bool]
    ctr_refs: dict[str, set[str]]  # container id -> snapshot keys
    ctr_image: dict[str, str | None]
    ctr_running: dict[str, bool]
    ctr_volumes: dict[str, set[str]]


def model(eng: Engine) -> Model:
    from tug.engine import lifecycle
    from tug.engine.containers import _from_row

    md = eng.metadata
    image_refs: dict[str, set[str]] = {}
    tagged: dict[str, bool] = {}
    for row in md.list_images():
        refs = {f"blob:{row['id']}"}
        chains = [Digest.parse(c) for c in md.image_layers(row["id"])]
        try:
            cfg = ImageConfig.parse(eng.content.read(Digest.parse(row["id"])))
            chains = chain_ids(cfg.diff_ids)
        except Exception:  # noqa: BLE001 - a broken config: keep what the rows say
            pass
        refs.update(f"snap:{c}" for c in chains)
        if row.get("manifest_digest"):
            refs.add(f"blob:{row['manifest_digest']}")
            try:
                doc = parse(eng.content.read(Digest.parse(row["manifest_digest"])))
                if isinstance(doc, Manifest):
                    refs.update(f"blob:{d.digest}" for d in doc.layers)
            except Exception:  # noqa: BLE001
                pass
        image_refs[row["id"]] = refs
        tagged[row["id"]] = bool(md.tags_for_image(row["id"]))
    ctr_refs, ctr_image, running, vols = {}, {}, {}, {}
    for row in md.list_containers():
        ctr = _from_row(row)
        lifecycle.refresh(eng, ctr)
        ctr_refs[ctr.id] = {f"snap:{c}" for c in ctr.extra.get("chain_ids", [])}
        ctr_image[ctr.id] = ctr.image_id
        running[ctr.id] = ctr.status in ("running", "paused", "restarting")
        vols[ctr.id] = {v.split(":", 1)[0] for v in ctr.options.volumes
                        if ":" in v and not v.startswith(("/", "."))}
    return Model(image_refs, tagged, ctr_refs, ctr_image, running, vols)


@record
class Plan:
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    freed: int = 0


def plan(eng: Engine, usage: Usage, m: Model, *, containers: bool, images: str, volumes: bool) -> Plan:
    """What a prune removes: stopped containers; images ('dangling', 'unused' or 'none') that no kept container
    uses; unused volumes; then the bytes of everything nothing kept references."""
    p = Plan()
    if containers:
        p.containers = sorted(c for c, run in m.ctr_running.items() if not run)
    kept_ctrs = [c for c in m.ctr_refs if c not in p.containers]
    used = {m.ctr_image[c] for c in kept_ctrs}
    if images != "none":
        p.images = sorted(i for i in m.image_refs
                          if i not in used and (images == "unused" or not m.image_tagged[i]))
    if volumes:
        in_use = set().union(*(m.ctr_volumes[c] for c in kept_ctrs)) if kept_ctrs else set()
        p.volumes = sorted(k[4:] for k in usage.objects if k.startswith("vol:") and k[4:] not in in_use)
    kept: set[str] = set()
    for i, refs in m.image_refs.items():
        if i not in p.images:
            kept |= refs
    for c in kept_ctrs:
        kept |= m.ctr_refs[c]
    freed = [k for k in usage.objects if k.startswith(("blob:", "snap:")) and k not in kept]
    freed += [f"ctr:{c}" for c in p.containers] + [f"vol:{v}" for v in p.volumes]
    freed += [k for k in usage.objects if k.startswith("junk:") or _stale_ingest(eng, k)]
    p.freed = usage.sum(freed)
    return p


def _stale_ingest(eng: Engine, key: str) -> bool:
    """An ingest temp file the store's recovery would remove now (see store/content.py)."""
    import time

    from tug.store.content import STALE_PARTIAL_SECONDS, STALE_TMP_SECONDS

    if not key.startswith("ingest:"):
        return False
    name = key[len("ingest:"):]
    age = STALE_TMP_SECONDS if name.endswith(".tmp") else STALE_PARTIAL_SECONDS if name.endswith(".partial") else None
    try:
        return age is not None and time.time() - os.lstat(eng.layout.ingest / name).st_mtime > age
    except FileNotFoundError:
        return False


def execute(eng: Engine, p: Plan) -> dict[str, list[str]]:
    """Remove what the plan names, then collect what became unreferenced. Returns docker's report lines."""
    import shutil

    from tug.engine import containers, gc
    from tug.engine.images import sync_index
    from tug.oci import reference

    out: dict[str, list[str]] = {"containers": [], "images": [], "volumes": []}
    for cid in p.containers:
        containers.remove(eng, cid)
        out["containers"].append(cid)
    md = eng.metadata
    for iid in p.images:
        with md.transaction():
            for t in md.delete_image(iid):
                out["images"].append(f"untagged: {reference.parse(t).familiar}")
        out["images"].append(f"deleted: {iid}")
    if p.images:
        sync_index(eng)
    for v in p.volumes:
        shutil.rmtree(eng.layout.volumes / v, ignore_errors=True)
        out["volumes"].append(v)
    gc.collect(eng)
    eng.content.recover()
    eng.snapshots.recover()
    checkpoint(eng)
    return out


def rows(eng: Engine) -> tuple[list[dict], int]:
    """`system df`: Images, Containers, Local Volumes, Build Cache and the store's own Metadata; and the total."""
    usage = measure(eng)
    m = model(eng)
    image_keys = [k for k in usage.objects if k.startswith(("blob:", "snap:", "junk:", "ingest:"))]
    reclaim_images = plan(eng, usage, m, containers=False, images="unused", volumes=False).freed
    ctr_keys = [f"ctr:{c}" for c in m.ctr_running]
    stopped = [f"ctr:{c}" for c, run in m.ctr_running.items() if not run]
    vol_keys = [k for k in usage.objects if k.startswith("vol:")]
    used_vols = set().union(*m.ctr_volumes.values()) if m.ctr_volumes else set()
    used_images = {i for i in m.ctr_image.values() if i}
    out = [
        {"Type": "Images", "TotalCount": len(m.image_refs), "Active": len(used_images & set(m.image_refs)),
         "Size": usage.sum(image_keys), "Reclaimable": reclaim_images},
        {"Type": "Containers", "TotalCount": len(ctr_keys), "Active": sum(m.ctr_running.values()),
         "Size": usage.sum(ctr_keys), "Reclaimable": usage.sum(stopped)},
        {"Type": "Local Volumes", "TotalCount": len(vol_keys),
         "Active": len([k for k in vol_keys if k[4:] in used_vols]), "Size": usage.sum(vol_keys),
         "Reclaimable": usage.sum(k for k in vol_keys if k[4:] not in used_vols)},
        {"Type": "Build Cache", "TotalCount": 1 if "build" in usage.objects else 0, "Active": 0,
         "Size": usage.objects.get("build", 0), "Reclaimable": usage.objects.get("build", 0)},
        {"Type": "Metadata", "TotalCount": 1, "Active": 1, "Size": usage.objects.get("meta", 0), "Reclaimable": 0},
    ]
    return out, usage.total


def dump(usage: Usage) -> str:  # pragma: no cover - a debugging aid
    return json.dumps(usage.objects, indent=1, sort_keys=True)
