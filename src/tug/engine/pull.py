"""`tug pull`: resolve, fetch verified blobs in parallel, unpack each layer while it arrives, then record the image
in one transaction.

Downloads run in the registry's small thread pool (`fetch_blobs_parallel`), itself started in one helper thread.
This thread unpacks layer N (once the layers below it are unpacked) from the bytes its download has written so far,
following the ingest file as it grows (`Following`), so download, decompression and file creation overlap. The
snapshot is only published once the whole blob has arrived and its digest is verified (the `before_publish` hook
of `Snapshots.ensure` waits for that); a failed download leaves neither blob nor snapshot. Both threads are joined
before `pull` returns.
"""

from __future__ import annotations

import queue
import threading

from tug.engine import progress
from tug.engine.engine import Engine
from tug.engine.layers import unpack_blob
from tug.engine.record import LayerBlob, record_raw
from tug.errors import Corrupt, Invalid, Unavailable
from tug.oci import mediatypes as mt
from tug.oci import reference
from tug.oci.descriptor import Descriptor
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Manifest
from tug.records import record


@record(frozen=True)
class PullResult:
    image_id: str
    digest: str  # manifest digest
    reference: str  # normalised
    downloaded: bool  # False when everything was already present


class _IngestSink:
    """A content-store ingest as the registry's blob sink; resumes from a partial left by an earlier pull.

    `following` reads the bytes as they are written (for the unpacker); it ends when the blob is committed, or with
    an error when the download fails or is abandoned.
    """

    def __init__(self, eng: Engine, desc: Descriptor) -> None:
        self.ingest = eng.content.ingest(desc.digest, desc.size, resume=True)
        self.offset = self.ingest.offset
        from tug.store.streams import Following

        self.following = Following(self.ingest.reader_fd(), self.ingest.written)
        self.committed = False

    def write(self, data: bytes) -> None:
        self.ingest.write(data)
        self.following.grew(self.ingest.written)

    def commit(self) -> None:
        try:
            with self.ingest:
                self.ingest.commit()
        except BaseException as e:
            self.following.finish(e)
            raise
        self.committed = True
        self.following.finish()

    def abandon(self) -> None:
        self.ingest.__exit__(None, None, None)
        self.following.finish(Unavailable("the download of this layer stopped before its end"))


def pull(eng: Engine, name: str, platform: str | None = None, on_event: progress.OnEvent = progress.ignore,
         tls_verify: bool | None = None) -> PullResult:
    from tug.engine.registries import client as make_client
    from tug.store.locks import lock

    ref = reference.parse(name)
    client = make_client(eng, tls_verify, ref.registry)
    if ref.tag:
        on_event(progress.message(f"{ref.tag}: Pulling from {ref.repository}"))
    resolved = client.resolve_image(ref, platform)
    doc = resolved.manifest.parse()
    if not isinstance(doc, Manifest):
        raise Invalid(f"{ref} did not resolve to an image manifest")
    top = resolved.index or resolved.manifest
    manifest_digest = str(top.descriptor.digest)
    if eng.content.has(doc.config.digest):
        config_bytes = eng.content.read(doc.config.digest)
    else:
        config_bytes = client.fetch_blob_bytes(ref, doc.config)
    cfg = ImageConfig.parse(config_bytes, where=f"{ref} config")
    diff_ids = cfg.diff_ids
    if len(diff_ids) != len(doc.layers):
        raise Invalid(f"{ref}: the manifest lists {len(doc.layers)} layers but the config {len(diff_ids)}")
    with lock(eng.layout, "gc", shared=True):
        missing = [d for d in doc.layers if not eng.content.has(d.digest)]
        for d in doc.layers:
            if d not in missing:
                on_event(progress.ProgressEvent(progress.layer_id(d.digest), progress.ALREADY_EXISTS))
        done: dict[str, threading.Event] = {str(d.digest): threading.Event() for d in missing}
        started: dict[str, threading.Event] = {str(d.digest): threading.Event() for d in missing}
        failures: queue.Queue[BaseException] = queue.Queue()
        sinks: dict[str, _IngestSink] = {}

        def sink_factory(desc: Descriptor) -> _IngestSink:
            s = _IngestSink(eng, desc)
            sinks[str(desc.digest)] = s
            started[str(desc.digest)].set()
            return s

        def on_complete(desc: Descriptor, sink: _IngestSink) -> None:  # type: ignore[override]
            sink.commit()
            done[str(desc.digest)].set()

        def download() -> None:
            try:
                client.fetch_blobs_parallel(ref, missing, sink_factory, on_event=on_event,
                                            on_complete=on_complete)  # type: ignore[arg-type]
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                failures.put(e)
            finally:
                for s in sinks.values():
                    s.abandon()
                for ev in (*done.values(), *started.values()):
                    ev.set()

        worker = threading.Thread(target=download, name="tug-pull", daemon=True)
        worker.start()
        layers: list[LayerBlob] = []
        parent = None
        streamed: set[str] = set()
        try:
            for desc, diff_id in zip(doc.layers, diff_ids, strict=True):
                key = str(desc.digest)
                if key not in started or key in streamed:  # present before, or a blob listed twice
                    if key in done:
                        done[key].wait()
                    layer = unpack_blob(eng, desc, parent, diff_id=diff_id)
                else:
                    started[key].wait()
                    if key not in sinks:
                        raise Unavailable(f"the download of layer {desc.digest} did not start")
                    streamed.add(key)
                    layer = _unpack_arriving(eng, desc, parent, diff_id, sinks[key], done[key], on_event)
                layers.append(layer)
                parent = layer.diff_id if parent is None else _chain(parent, layer.diff_id)
        except BaseException:
            worker.join()
            if not failures.empty():  # the download's failure is the cause: report it, not the unpacker's view
                raise failures.get() from None
            raise
        finally:
            worker.join()
            for sink in sinks.values():
                sink.following.close()
        if not failures.empty():
            raise failures.get()
        tags = [str(ref)] if ref.tag else []
        image_id = record_raw(eng, config_bytes, layers, tags, manifest_raw=resolved.manifest.raw,
                              manifest_media_type=resolved.manifest.media_type,
                              repo_digest=(ref.name, manifest_digest))
    on_event(progress.message(f"Digest: {manifest_digest}"))
    return PullResult(image_id, manifest_digest, str(ref), bool(missing))


def _unpack_arriving(eng: Engine, desc: Descriptor, parent, diff_id, sink: _IngestSink,  # type: ignore[no-untyped-def]
                     done: threading.Event, on_event: progress.OnEvent) -> LayerBlob:
    """Unpack a layer from the bytes its download writes, publishing it once the blob is verified and stored."""
    lid = progress.layer_id(desc.digest)
    chain = diff_id if parent is None else _chain(parent, diff_id)

    def verified() -> None:
        done.wait()
        if not sink.committed:
            raise Unavailable(f"layer {desc.digest} was not downloaded completely")
        on_event(progress.ProgressEvent(lid, progress.EXTRACTING, desc.size, desc.size))

    try:
        snap = eng.snapshots.ensure(chain, parent, lambda: sink.following, mt.layer_compression(desc.media_type),
                                    diff_id=diff_id, before_publish=verified)
    finally:
        sink.following.close()
    if snap.diff_id != diff_id:
        raise Corrupt(f"layer {desc.digest} unpacks to {snap.diff_id}, its config says {diff_id}")
    on_event(progress.ProgressEvent(lid, progress.PULL_COMPLETE))
    return LayerBlob(desc, diff_id, snap.size)


def _chain(parent, diff_id):  # type: ignore[no-untyped-def]
    from tug.oci.digest import Digest

    return Digest.of(f"{parent} {diff_id}".encode())


def ensure_image(eng: Engine, name: str, policy: str = "missing", platform: str | None = None,
                 on_event: progress.OnEvent = progress.ignore) -> None:
    """`--pull missing|always|never` for run and create."""
    from tug.engine import images
    from tug.errors import NotFound

    if policy != "always":
        try:
            images.find(eng, name)
            return
        except NotFound:
            if policy == "never":
                raise
        on_event(progress.message(f"Unable to find image '{reference.parse(name).familiar}' locally"))
    pull(eng, name, platform, on_event)
