"""`tug commit`: a container's writable layer becomes the top layer of a new image.

The upper directory is written as a reproducible layer tar straight into the content store (uncompressed, so the
blob's digest is the diff id), unpacked into its snapshot on top of the image's chain, and recorded with a config
that is the parent's plus the container's settings, the `-c` changes and one history entry. Every lower layer is
the parent's own blob and snapshot: nothing below is copied.

Mount points the runtime had to create in the container's root (an empty `/etc/hosts` where the image had none)
are not changes the user made and are left out, as docker leaves them in its init layer.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tug.engine import containers, images
from tug.engine.changes import apply_changes
from tug.engine.containers import Container
from tug.engine.engine import Engine
from tug.engine.record import LayerBlob, stored_layers
from tug.errors import Corrupt, Invalid, NotFound, Unavailable
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest, chain_ids
from tug.oci.times import now_rfc3339
from tug.records import field, record
from tug.store.diff import Node

RUNTIME_FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv")


@record
class CommitOptions:
    container: str
    reference: str | None = None
    message: str = ""
    author: str = ""
    changes: list[str] = field(default_factory=list)
    pause: bool = True


def mount_points(eng: Engine, ctr: Container) -> set[str]:
    """Paths (relative, no leading '/') the runtime mounts over in this container's root."""
    out = set(RUNTIME_FILES)
    try:
        spec = json.loads((containers.bundle_dir(eng, ctr.id) / "config.json").read_bytes())
    except (OSError, ValueError):
        return out
    for m in spec.get("mounts") or []:
        dest = str(m.get("destination") or "").strip("/")
        if dest:
            out.add(os.path.normpath(dest))
    return out


def placeholder_filter(eng: Engine, ctr: Container):  # noqa: ANN201 - a predicate
    """exclude(node): an empty file or directory at a mount point that the image does not have."""
    from tug.store.overlay_changes import LowerView

    points = mount_points(eng, ctr)
    lower = LowerView([eng.snapshots.path(c) for c in reversed(containers.image_chain(ctr))])

    def exclude(node: Node) -> bool:
        if node.rel not in points:
            return False
        st = node.st
        empty = (stat.S_ISREG(st.st_mode) and st.st_size == 0) or (
            stat.S_ISDIR(st.st_mode) and not os.listdir(f"/proc/self/fd/{node.dirfd}/{node.name}"))
        return empty and lower.lookup(tuple(node.rel.split("/"))) is None

    return exclude


@contextlib.contextmanager
def paused(eng: Engine, ctr: Container, pause: bool) -> Iterator[None]:
    """Freeze a running container's cgroup (v1 freezer or v2 `cgroup.freeze`) for the duration of the block."""
    if not pause or ctr.status != "running":
        yield
        return
    from tug.errors import TugError

    try:
        cg = containers.cgroup_of(eng, ctr)
        cg.freeze()
    except TugError as e:
        raise Unavailable(f"cannot pause container {ctr.short_id} for the commit: {e.one_line()}",
                          hint="commit with --pause=false, or stop the container first") from None
    try:
        yield
    finally:
        cg.thaw()


def parent_layers(eng: Engine, image: images.Image) -> list[LayerBlob]:
    """The parent image's layers as the new image records them (the same blobs, diff ids and snapshot sizes)."""
    return stored_layers(eng, image.manifest_digest, images.config(eng, image), image.short_id)


def container_config(base: dict[str, Any], ctr: Container) -> dict[str, Any]:
    """The image config's `config` as the container ran: its command, entrypoint, env, user, workdir, labels."""
    cfg = copy.deepcopy(base)
    o = ctr.options
    if o.entrypoint is not None:
        cfg["Entrypoint"] = [o.entrypoint] if o.entrypoint else None
        if not o.command:
            cfg["Cmd"] = None
    if o.command:
        cfg["Cmd"] = list(o.command)
    env = list(cfg.get("Env") or [])
    for e in o.env:
        if "=" in e:
            k = e.split("=", 1)[0]
            env = [x for x in env if x.split("=", 1)[0] != k] + [e]
    if env:
        cfg["Env"] = env
    if o.user:
        cfg["User"] = o.user
    if o.workdir:
        cfg["WorkingDir"] = o.workdir
    if o.labels:
        labels = dict(cfg.get("Labels") or {})
        labels.update(dict(lb.split("=", 1) if "=" in lb else (lb, "") for lb in o.labels))
        cfg["Labels"] = labels
    if o.expose:
        ports = dict(cfg.get("ExposedPorts") or {})
        ports.update({p if "/" in p else f"{p}/tcp": {} for p in o.expose})
        cfg["ExposedPorts"] = ports
    return {k: v for k, v in cfg.items() if v is not None}


def source_date_epoch(eng: Engine) -> int | None:
    """SOURCE_DATE_EPOCH from tug's environment: the time written into the layer (mtimes capped) and config."""
    text = eng.env.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise Invalid(f"SOURCE_DATE_EPOCH={text!r} is not a number of seconds")
    return int(text)


def write_upper(eng: Engine, ctr: Container, top: Digest | None) -> LayerBlob:
    """The container's changes as a layer blob in the store, unpacked as a snapshot on top of `top`."""
    from tug.engine.layers import unpack_blob
    from tug.store.diff import write_layer

    upper = eng.container_dir(ctr.id) / "upper"
    if not upper.is_dir():
        raise NotFound(f"container {ctr.short_id} has no writable layer", where=str(upper))
    with eng.content.ingest() as ing:
        res = write_layer(upper, ing, exclude=placeholder_filter(eng, ctr), clamp_mtime=source_date_epoch(eng))
        digest = ing.commit()
    if digest != res.diff_id:  # pragma: no cover - the same bytes went to both hashes
        raise Corrupt(f"layer of {ctr.short_id} hashed to {digest} in the store and {res.diff_id} while written")
    desc = Descriptor(mt.OCI_LAYER, digest, res.size)
    return unpack_blob(eng, desc, top, diff_id=res.diff_id)


def commit(eng: Engine, opts: CommitOptions) -> str:
    """Make the image; returns its id. Bad input (`-c`, the reference) fails before anything is written."""
    from tug.engine import lifecycle
    from tug.engine.record import record_image
    from tug.oci import reference
    from tug.oci.image_config import ImageConfig
    from tug.store.locks import lock

    tags = [str(reference.parse(opts.reference))] if opts.reference else []
    ctr = containers.find(eng, opts.container)
    lifecycle.refresh(eng, ctr)
    if ctr.options.rootfs or not ctr.image_id:
        raise Invalid(f"container {ctr.short_id} runs on --rootfs {ctr.options.rootfs}: it has no image to build on")
    parent = images.find(eng, ctr.image_id)
    pcfg = images.config(eng, parent)
    config = apply_changes(container_config(pcfg.config, ctr), opts.changes)
    lowers = parent_layers(eng, parent)
    epoch = source_date_epoch(eng)
    created = now_rfc3339() if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with lock(eng.layout, "gc", shared=True):  # nothing collects our new blob before the image names it
        with paused(eng, ctr, opts.pause):
            top = chain_ids([lb.diff_id for lb in lowers])[-1] if lowers else None
            layer = write_upper(eng, ctr, top)
        raw = copy.deepcopy(pcfg.raw)
        raw["created"] = created
        if opts.author:
            raw["author"] = opts.author
        else:
            raw.pop("author", None)
        raw["config"] = config
        raw.setdefault("rootfs", {"type": "layers"})["diff_ids"] = [str(d) for d in pcfg.diff_ids] + [
            str(layer.diff_id)]
        entry = {"created": created, "author": opts.author,
                 "created_by": " ".join(ctr.extra.get("args") or ctr.options.command), "comment": opts.message}
        raw["history"] = [*pcfg.history, {k: v for k, v in entry.items() if v}]
        for legacy in ("container", "container_config", "parent", "id"):
            raw.pop(legacy, None)
        return record_image(eng, ImageConfig(raw), [*lowers, layer], tags=tags)
