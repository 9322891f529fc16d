"""Progress as a stream of events: the engine forwards the registry's and adds its own; the CLI draws them."""

from __future__ import annotations

from collections.abc import Callable

from tug.registry.progress import (  # noqa: F401 - re-exported for the CLI and the API
    ALREADY_EXISTS,
    DOWNLOAD_COMPLETE,
    DOWNLOADING,
    EXTRACTING,
    LAYER_EXISTS,
    MOUNTED,
    PULL_COMPLETE,
    PULLING_FS_LAYER,
    PUSHED,
    PUSHING,
    VERIFYING,
    WAITING,
    ProgressEvent,
    layer_id,
)

OnEvent = Callable[[ProgressEvent], None]


def ignore(_e: ProgressEvent) -> None:
    pass


def message(text: str) -> ProgressEvent:
    """A line that belongs to no layer (`latest: Pulling from library/busybox`, `Digest: ...`)."""
    return ProgressEvent("", "", detail=text)
