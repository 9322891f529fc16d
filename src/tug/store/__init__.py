"""tug.store: blobs, metadata, locks, snapshots and layer application under one root.

`Store` (in `tug.store.facade`) bundles them. The package itself imports nothing, so a light user such as the
monitor's `tug.store.forget` does not pay for pathlib and typing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from tug.store.facade import Store

__all__ = ["Store"]


def __getattr__(name: str) -> object:
    if name == "Store":
        from tug.store.facade import Store

        return Store
    raise AttributeError(f"module 'tug.store' has no attribute {name!r}")
