"""`tug run`: create then start attached; honour --rm."""

from __future__ import annotations

from tug.engine import containers, lifecycle
from tug.engine.engine import Engine
from tug.spec.options import RunOptions


def run(eng: Engine, opts: RunOptions) -> int:
    ctr = containers.create(eng, opts)
    try:
        return lifecycle.start_foreground(eng, ctr)
    finally:
        if opts.rm:
            containers.remove(eng, ctr.id, force=True)
