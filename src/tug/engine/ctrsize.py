"""A container's sizes as docker reports them (`ps -s`, `inspect -s`): SizeRw, the bytes its writable layer holds,
and SizeRootFs, those plus its image's."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tug.engine.containers import Container
    from tug.engine.engine import Engine


def tree_bytes(top: str) -> int:
    """Apparent bytes of the files under `top` (one filesystem, symlinks not followed, a hard link counted once)."""
    from tug.engine.df import walk

    return sum(s.st_size for _, s in walk(top) if not stat.S_ISDIR(s.st_mode))


def sizes(eng: Engine, ctr: Container) -> tuple[int, int]:
    """(SizeRw, SizeRootFs). A --rootfs container's writable layer is its directory."""
    if ctr.options.rootfs:
        rw = tree_bytes(ctr.options.rootfs)
        return rw, rw
    rw = tree_bytes(str(eng.container_dir(ctr.id) / "upper"))
    image = 0
    if ctr.image_id:
        row = eng.metadata.get_image(ctr.image_id)
        image = int((row or {}).get("size") or 0)
    return rw, rw + image
