"""Several blobs at once: a small thread pool, the only threads in tug's pull path.

`fetch_blobs_parallel` runs up to `max_workers` downloads in threads of this function and joins them all before it
returns; nothing keeps running afterwards. It is called by the engine from a plain tug process (never from
`tug-runtime`, which must stay single-threaded). Sinks, `on_complete` and `on_event` are called from the worker
threads: one sink is only ever touched by one thread; `on_event` must be thread-safe (appending to a queue is).
The first failure cancels the downloads not yet finished (they stop at their next chunk) and is raised once all
workers have stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tug.oci.descriptor import Descriptor
from tug.oci.reference import Reference
from tug.registry import progress
from tug.registry.download import Cancelled
from tug.registry.sink import BlobSink

SinkFactory = Callable[[Descriptor], BlobSink]
OnComplete = Callable[[Descriptor, BlobSink], None]


def fetch_blobs_parallel(client: Any, ref: Reference, descriptors: Sequence[Descriptor], sink_factory: SinkFactory,
                         max_workers: int = 3, on_event: progress.OnEvent = progress.ignore,
                         on_complete: OnComplete | None = None) -> dict[str, int]:
    """Fetch every descriptor into `sink_factory(descriptor)`; returns bytes received per digest.

    A sink may carry an `offset` attribute (bytes it already holds from an earlier, interrupted pull): the
    download resumes there with `Range`. `on_complete(descriptor, sink)` runs in the worker right after the last
    byte (between the "Verifying Checksum" and "Download complete" events): verify and commit there; an
    exception from it fails the pull like a download error.
    """
    cancel = threading.Event()
    received: dict[str, int] = {}
    lock = threading.Lock()
    todo = list(dict.fromkeys(descriptors))
    for d in todo:
        on_event(progress.ProgressEvent(progress.layer_id(d.digest), progress.PULLING_FS_LAYER, 0, d.size))
    for d in todo[max_workers:]:
        on_event(progress.ProgressEvent(progress.layer_id(d.digest), progress.WAITING, 0, d.size))

    def one(desc: Descriptor) -> None:
        if cancel.is_set():
            return
        lid = progress.layer_id(desc.digest)
        try:
            sink = sink_factory(desc)
            offset = int(getattr(sink, "offset", 0) or 0)
            n = client.fetch_blob(ref, desc, sink, offset, on_event=on_event, cancel=cancel)
            on_event(progress.ProgressEvent(lid, progress.VERIFYING, desc.size, desc.size))
            if on_complete is not None:
                on_complete(desc, sink)
            on_event(progress.ProgressEvent(lid, progress.DOWNLOAD_COMPLETE, desc.size, desc.size))
            with lock:
                received[str(desc.digest)] = n
        except Cancelled:
            return
        except BaseException:
            cancel.set()
            raise

    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="tug-fetch") as pool:
        futures = [pool.submit(one, d) for d in todo]
        for f in futures:
            err = f.exception()
            if err is not None:
                errors.append(err)
    if errors:
        first = errors[0]
        for other in errors[1:]:
            if hasattr(first, "add_cleanup_error"):
                first.add_cleanup_error(other)
        raise first
    return received
