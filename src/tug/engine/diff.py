"""`tug diff CONTAINER`: what the container changed in its root file system, as `docker diff` prints it."""

from __future__ import annotations

from tug.engine import containers
from tug.engine.engine import Engine
from tug.errors import NotFound
from tug.store.diff import Change


def changes(eng: Engine, ref: str) -> list[Change]:
    from tug.engine.commit import placeholder_filter
    from tug.store.overlay_changes import LowerView, changes

    ctr = containers.find(eng, ref)
    upper = eng.container_dir(ctr.id) / "upper"
    if not upper.is_dir():
        raise NotFound(f"container {ctr.short_id} has no writable layer", where=str(upper))
    lower = LowerView([eng.snapshots.path(c) for c in reversed(containers.image_chain(ctr))])
    return changes(upper, lower, exclude=placeholder_filter(eng, ctr))
