"""Where a store and its runtime state live: `--root`/`TUG_ROOT` (default /var/lib/tug) and `--runroot`/
`TUG_RUNROOT` (default /run/tug). One home for the defaults, importable by the commands that must start before (or
without) the engine: `tug run` starts its monitor with the runroot, `tug exec` and a replayed `tug build` need only
paths."""

from __future__ import annotations

import os

DEFAULT_ROOT = "/var/lib/tug"
DEFAULT_RUNROOT = "/run/tug"


def store_paths(root: str | None, runroot: str | None) -> tuple[str, str]:
    """(root, runroot), absolute: the options given, else the environment, else the defaults."""
    return (os.path.abspath(root or os.environ.get("TUG_ROOT") or DEFAULT_ROOT),
            os.path.abspath(runroot or os.environ.get("TUG_RUNROOT") or DEFAULT_RUNROOT))
