"""Download progress as events: the registry emits them through a callback, the engine forwards them, the CLI draws.

States are docker's words. The registry only emits the download side (Waiting, Pulling fs layer, Downloading,
Verifying Checksum, Download complete, Already exists); Extracting and Pull complete come from the engine.
"""

from __future__ import annotations

from collections.abc import Callable

from tug.records import record

PULLING_FS_LAYER = "Pulling fs layer"
WAITING = "Waiting"
DOWNLOADING = "Downloading"
RETRYING = "Retrying"
VERIFYING = "Verifying Checksum"
DOWNLOAD_COMPLETE = "Download complete"
EXTRACTING = "Extracting"
PULL_COMPLETE = "Pull complete"
ALREADY_EXISTS = "Already exists"
PUSHING = "Pushing"
PUSHED = "Pushed"
MOUNTED = "Mounted from"
LAYER_EXISTS = "Layer already exists"


@record(frozen=True)
class ProgressEvent:
    """One line of docker's pull/push output: `id` is the layer's short digest (12 hex), as docker prints it."""

    id: str
    state: str
    current: int = 0
    total: int = 0
    detail: str = ""


OnEvent = Callable[[ProgressEvent], None]


def layer_id(digest: object) -> str:
    """docker's layer id: the first 12 hex digits of the digest."""
    text = str(digest)
    return text.split(":", 1)[-1][:12]


def ignore(_event: ProgressEvent) -> None:
    """The default callback: drop events."""
