"""The store facade: blobs, metadata, locks, snapshots and layer application under one root.

`Store(root)` bundles them, opening each lazily; `Store.open()` creates the layout and cleans up what a crash left.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.store.content import ContentStore
    from tug.store.layout import Layout
    from tug.store.metadata import Metadata
    from tug.store.snapshots import Snapshots


class Store:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @cached_property
    def layout(self) -> Layout:
        from tug.store.layout import Layout

        return Layout(self.root).ensure()

    @cached_property
    def content(self) -> ContentStore:
        from tug.store.content import ContentStore

        return ContentStore(self.layout)

    @cached_property
    def metadata(self) -> Metadata:
        from tug.store.metadata import Metadata

        return Metadata(self.layout.db_path)

    @cached_property
    def snapshots(self) -> Snapshots:
        from tug.store.snapshots import Snapshots

        return Snapshots(self.layout, self.metadata)

    def open(self) -> Store:
        self.recover()
        return self

    def recover(self) -> list[str]:
        """Remove temp files and directories of ingests and extractions that died (only those nobody holds)."""
        return self.content.recover() + self.snapshots.recover()
