"""`Engine`: one store root and one runroot, and the rooms below opened lazily.

Everything tug does goes through an Engine; the CLI and the API build one from their options. There is no global
state: two Engines on two roots are independent (the tests rely on it).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from tug.engine.roots import DEFAULT_ROOT, DEFAULT_RUNROOT, store_paths  # noqa: F401 - defaults re-exported
from tug.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.store import Store
    from tug.store.content import ContentStore
    from tug.store.layout import Layout
    from tug.store.metadata import Metadata
    from tug.store.snapshots import Snapshots



@record
class Engine:
    root: Path
    runroot: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_env(cls, root: str | None = None, runroot: str | None = None) -> Engine:
        root, runroot = store_paths(root, runroot)
        return cls(Path(root), Path(runroot))

    @cached_property
    def store(self) -> Store:
        """The store under `root`; its parts (layout, content, metadata, snapshots) open lazily."""
        from tug.store import Store

        return Store(self.root)

    @property
    def layout(self) -> Layout:
        return self.store.layout

    @property
    def content(self) -> ContentStore:
        return self.store.content

    @property
    def metadata(self) -> Metadata:
        return self.store.metadata

    @property
    def snapshots(self) -> Snapshots:
        return self.store.snapshots

    @property
    def runtime_root(self) -> Path:
        return self.runroot / "runtime"

    def container_dir(self, container_id: str) -> Path:
        return self.layout.containers / container_id
