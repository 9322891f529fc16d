"""What a RUN step asks of its build container (kept apart from runner.py so a cached step imports nothing heavy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tug.engine.build.sandbox import RootSpec
from tug.records import field, record


@record
class BindSource:
    """A `--mount=type=bind` source: a path inside a root (the context, or a stage/image)."""

    root: RootSpec
    path: str
    target: str
    readonly: bool
    is_dir: bool = True
    layers: Path | None = None  # writable: a persistent `upper/` + `work/` here (a cache mount's from=), else fresh


@record
class RunRequest:
    command: list[str]
    env: list[str]
    network: str  # "none" | "host" | "bridge"
    binds: list[BindSource] = field(default_factory=list)
    caches: list[tuple[Path, str]] = field(default_factory=list)  # (host dir, target)
    tmpfs: list[str] = field(default_factory=list)
    secrets: list[tuple[Path, str]] = field(default_factory=list)  # (host file, target)
    sockets: list[tuple[Path, str]] = field(default_factory=list)  # (host unix socket, target): ssh agents
    settings: dict[str, Any] = field(default_factory=dict)  # RunOptions fields: `build -m/--ulimit/...` (runsettings)
