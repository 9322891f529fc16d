"""`tug system check [--repair]`: walk the store, verify what it holds, and repair what can be repaired.

It checks the database, every blob against its digest, every snapshot directory against its row and `layer.json`,
every image (config, manifest, layer blobs, snapshots), the tags and `index.json`, the containers' rows and
directories, and what crashed commands left (temp files and directories, unreferenced blobs and snapshots).

`--repair` removes what is unreferenced or corrupt and re-creates what can be re-created (a snapshot from its
layer blob, a lost layer row from `layer.json`, index.json from the tags); it never touches anything healthy. An
image whose config or manifest is missing or corrupt cannot run or be saved: repair removes it. The whole walk
holds the store's `gc` lock exclusively, so no command writes under it while it looks.
"""

from __future__ import annotations

import json
import os
import shutil

from tug.engine.engine import Engine
from tug.errors import TugError
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Manifest, parse
from tug.records import field, record


@record
class Problem:
    kind: str  # blob, snapshot, image, tag, index, container, leftover, database
    where: str
    message: str
    repair: str | None = None  # what --repair does about it; None: it cannot
    repaired: bool = False

    def __str__(self) -> str:
        state = (" (repaired: " + self.repair + ")") if self.repaired else (
            f" (--repair: {self.repair})" if self.repair else " (cannot be repaired)")
        return f"{self.kind} {self.where}: {self.message}{state}"


@record
class Report:
    problems: list[Problem] = field(default_factory=list)
    images_ok: list[str] = field(default_factory=list)

    @property
    def unrepaired(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]


class _Checker:
    def __init__(self, eng: Engine, repair: bool, verify: bool) -> None:
        self.eng = eng
        self.repair = repair
        self.verify = verify
        self.report = Report()
        self.bad_blobs: set[Digest] = set()

    def problem(self, kind: str, where: str, message: str, repair: str | None, fix=None) -> None:  # noqa: ANN001
        p = Problem(kind, where, message, repair)
        if self.repair and repair is not None and fix is not None:
            try:
                fix()
                p.repaired = True
            except (OSError, TugError) as e:
                p.message += f"; repair failed: {e}"
        self.report.problems.append(p)

    # -- the parts --------------------------------------------------------------------------------------------

    def database(self) -> None:
        rows = self.eng.metadata.query("PRAGMA quick_check")
        result = [r[0] for r in rows]
        if result != ["ok"]:
            self.problem("database", str(self.eng.layout.db_path), "; ".join(result[:3]), None)

    def leftovers(self) -> None:
        from tug.store.locks import lock

        eng = self.eng
        snaps = eng.snapshots.root
        if snaps.is_dir():
            for p in sorted(snaps.iterdir()):
                if not p.name.startswith((".tmp-", ".rm-")):
                    continue
                try:
                    with lock(eng.layout, f"snapshot-{p.name.split('-')[1]}", blocking=False):
                        self.problem("leftover", str(p), "a snapshot a killed command was making or removing",
                                     "removed", lambda p=p: shutil.rmtree(p))
                except TugError:
                    continue  # in use: someone is working on it right now
        for p in sorted(eng.root.glob(".*.tmp")):
            pid = p.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                self.problem("leftover", str(p), "a half-written file of a killed command", "removed", p.unlink)
        tmp = eng.layout.tmp
        for p in sorted(tmp.glob("export-*")) if tmp.is_dir() else []:
            if p.is_dir() and not any(p.iterdir()):
                self.problem("leftover", str(p), "the mount point of a killed export", "removed", p.rmdir)
        from tug.engine.build import workdir  # builds a SIGKILL left behind (their lock is free)

        for p in workdir.stale(tmp):
            self.problem("leftover", str(p), "the scratch directory of a killed build", "removed",
                         lambda p=p: workdir.remove_one(eng, p))
        if self.repair:
            eng.content.recover()

    def blobs(self) -> None:
        content = self.eng.content
        for d in content.list():
            if not self.verify:
                continue
            h = d.hasher()
            with content.open(d) as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            if h.hexdigest() != d.hex:
                self.bad_blobs.add(d)
                self.problem("blob", str(d), f"content has digest {d.algorithm}:{h.hexdigest()}", "removed",
                             lambda d=d: content.delete(d))

    def snapshots(self) -> None:
        from tug.engine.gc import snapshots_on_disk

        eng = self.eng
        md = eng.metadata
        for c in sorted(snapshots_on_disk(eng)):
            d = eng.snapshots.root / c.hex
            row = md.get_layer(c)
            doc = None
            try:
                doc = json.loads((d / "layer.json").read_bytes())
            except FileNotFoundError:
                pass
            except ValueError:
                self.problem("snapshot", str(c), "layer.json is not JSON", "removed",
                             lambda c=c: eng.snapshots.remove(c))
                continue
            if doc is None and d.exists():
                self.problem("snapshot", str(c), "directory without layer.json", "removed",
                             lambda c=c: eng.snapshots.remove(c))
            elif doc is None:
                self.problem("snapshot", str(c), "a row without a directory", "row removed",
                             lambda c=c: md.delete_layer(c))
            elif row is None:
                self.problem("snapshot", str(c), "a directory without a row", "row restored from layer.json",
                             lambda c=c: eng.snapshots.get(c))
            elif row["diff_id"] != doc.get("diff_id"):
                self.problem("snapshot", str(c), f"row says diff id {row['diff_id']}, layer.json "
                             f"{doc.get('diff_id')}", "removed", lambda c=c: eng.snapshots.remove(c))

    def _image_parts(self, image_id: str, manifest_digest: str | None) -> tuple[ImageConfig, Manifest]:
        content = self.eng.content
        cfg_d = Digest.parse(image_id)
        if cfg_d in self.bad_blobs or not content.has(cfg_d):
            raise LookupError("its config blob is missing or corrupt")
        cfg = ImageConfig.parse(content.read(cfg_d))
        if not manifest_digest:
            raise LookupError("it has no manifest")
        md_d = Digest.parse(manifest_digest)
        if md_d in self.bad_blobs or not content.has(md_d):
            raise LookupError("its manifest blob is missing or corrupt")
        doc = parse(content.read(md_d))
        if not isinstance(doc, Manifest) or doc.config.digest != cfg_d:
            raise LookupError("its manifest does not name its config")
        if len(doc.layers) != len(cfg.diff_ids):
            raise LookupError("its manifest and config disagree on the number of layers")
        return cfg, doc

    def images(self) -> None:
        eng = self.eng
        md = eng.metadata
        for row in md.list_images():
            iid = row["id"]
            try:
                cfg, doc = self._image_parts(iid, row.get("manifest_digest"))
            except (LookupError, TugError) as e:
                self.problem("image", iid, f"cannot be used: {e}", "image removed", lambda i=iid: md.delete_image(i))
                continue
            ok = True
            parent = None
            for desc, diff_id, chain in zip(doc.layers, cfg.diff_ids, chain_ids(cfg.diff_ids), strict=True):
                blob_ok = desc.digest not in self.bad_blobs and eng.content.has(desc.digest)
                if not eng.snapshots.exists(chain):
                    if blob_ok:
                        self.problem("image", iid, f"snapshot of layer {chain} is missing", "unpacked from its blob",
                                     lambda d=desc, p=parent, i=diff_id: self._unpack(d, p, i))
                    else:
                        self.problem("image", iid, f"layer {chain}: neither blob nor snapshot is present",
                                     "image removed", lambda i=iid: md.delete_image(i))
                        ok = False
                        break
                elif not blob_ok:
                    self.problem("image", iid, f"layer blob {desc.digest} is missing (it runs, but cannot be saved "
                                 "or pushed)", None)
                    ok = False
                parent = chain
            if ok:
                if md.image_layers(iid) != [str(c) for c in chain_ids(cfg.diff_ids)]:
                    self.problem("image", iid, "its layer rows do not match its config", "rows rewritten",
                                 lambda i=iid, c=cfg, r=row: md.add_image(
                                     i, layers=[str(x) for x in chain_ids(c.diff_ids)],
                                     manifest_digest=r.get("manifest_digest"),
                                     manifest_media_type=r.get("manifest_media_type"), created=r.get("created"),
                                     size=int(r.get("size") or 0), added_at=r.get("added_at")))
                self.report.images_ok.append(iid)

    def _unpack(self, desc, parent: Digest | None, diff_id: Digest) -> None:  # noqa: ANN001
        from tug.engine.layers import unpack_blob

        unpack_blob(self.eng, desc, parent, diff_id=diff_id)

    def containers(self) -> None:
        eng = self.eng
        md = eng.metadata
        rows = {r["id"]: r for r in md.list_containers()}
        cdir = eng.layout.containers
        for p in sorted(cdir.iterdir()) if cdir.is_dir() else []:
            if p.name not in rows:
                self.problem("container", p.name, "a directory without a record (a killed create or rm)",
                             "directory removed", lambda p=p: shutil.rmtree(p))
        for cid, row in rows.items():
            if not (cdir / cid).is_dir():
                self.problem("container", cid, "a record without its directory", "record removed",
                             lambda c=cid: md.delete_container(c))
                continue
            extra = json.loads(row.get("config") or "{}").get("extra") or {}
            for c in extra.get("chain_ids", []):
                if not eng.snapshots.exists(Digest.parse(c)):
                    self.problem("container", cid, f"its image layer {c} is gone", None)

    def garbage(self) -> None:
        from tug.engine.gc import referenced, snapshots_on_disk

        eng = self.eng
        blobs, chains = referenced(eng)
        for d in list(eng.content.list()):
            if d not in blobs and d not in self.bad_blobs:
                self.problem("blob", str(d), "referenced by no image", "removed", lambda d=d: eng.content.delete(d))
        for c in sorted(snapshots_on_disk(eng)):
            if c not in chains and eng.snapshots.exists(c):
                self.problem("snapshot", str(c), "used by no image or container", "removed",
                             lambda c=c: eng.snapshots.remove(c))

    def index(self) -> None:
        from tug.engine.images import _sync_index
        from tug.oci.descriptor import Descriptor

        eng = self.eng
        from tug.oci import reference

        have = {(n, str(d.digest)) for n, d in eng.layout.read_index()}
        want = set()
        for name, image_id in eng.metadata.list_tags():
            row = eng.metadata.get_image(image_id)
            if row and row.get("manifest_digest"):
                ref = reference.parse(name)
                want.add((ref.familiar if ref.registry == reference.DEFAULT_REGISTRY else str(ref),
                          row["manifest_digest"]))
        if have != want:
            self.problem("index", str(eng.layout.index_path), "does not match the tags", "rewritten",
                         lambda: _sync_index(eng, Descriptor))


def check(eng: Engine, repair: bool = False, verify: bool = True) -> Report:
    """Run every check (and repairs); returns what was found."""
    from tug.store.locks import lock

    with lock(eng.layout, "gc"), lock(eng.layout, "index"):
        c = _Checker(eng, repair, verify)
        c.database()
        c.leftovers()
        c.blobs()
        c.snapshots()
        c.images()
        c.containers()
        c.garbage()
        c.index()
    return c.report
