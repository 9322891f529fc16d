"""Streaming one blob from one registry host into a sink, resuming a broken connection with `Range`.

Reads at most the descriptor's size + 1 bytes: a server that sends more fails with Corrupt, one that promises
(Content-Length) or ends with fewer fails with Corrupt. A connection that breaks mid-body is resumed from the last
byte received (`Range: bytes=N-`), a few times, so a layer cut at 60% fetches only its remaining 40% again.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from urllib3.exceptions import HTTPError

from tug.errors import Corrupt, Invalid, Unavailable
from tug.oci.descriptor import Descriptor
from tug.registry import progress
from tug.registry.auth import repository_scope
from tug.registry.sink import BlobSink
from tug.registry.status import status_error
from tug.registry.transport import Transport, drain

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class Cancelled(Exception):
    """Raised inside a download when another parallel download failed (internal to this room)."""


def _range_start(resp: Any, size: int, what: str) -> int:
    m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
    if not m:
        raise Invalid(f"registry answered 206 without a valid Content-Range for {what}")
    total = m.group(3)
    if total != "*" and int(total) != size:
        raise Corrupt(f"{what} is {total} bytes on the registry, its descriptor says {size}")
    return int(m.group(1))


def fetch_from(transport: Transport, host: str, repository: str, desc: Descriptor, sink: BlobSink, offset: int,
               on_event: progress.OnEvent, cancel: threading.Event | None, stats: dict[str, int]) -> None:
    """Fetch `desc` from `host` into `sink`, starting at `offset`. `stats` gets `received` and `written` counts."""
    size = desc.size
    what = f"blob {desc.digest}"
    lid = progress.layer_id(desc.digest)
    if offset < 0 or offset > size:
        raise Invalid(f"cannot resume {what} at byte {offset}: it has {size} bytes")
    pos = offset
    breaks = 0
    chunk = transport.config.read_chunk
    scopes = [repository_scope(repository)]
    first = True
    while first or pos < size:
        first = False
        headers = {"Accept-Encoding": "identity"}
        if pos > 0:
            headers["Range"] = f"bytes={pos}-"
        resp = transport.request("GET", host, f"/v2/{repository}/blobs/{desc.digest}", scopes=scopes,
                                 headers=headers, stream=True)
        progressed = False
        try:
            if resp.status == 416 and pos > 0:
                raise Corrupt(f"{what} is truncated on the registry: it has no bytes from {pos} of {size}")
            if resp.status not in (200, 206):
                raise status_error(resp, what, host)
            skip = 0
            if resp.status == 206:
                start = _range_start(resp, size, what)
                if start != pos:
                    raise Invalid(f"registry resumed {what} at byte {start}, not at {pos}")
            elif pos > 0:
                skip = pos  # the server ignored Range: drop what we already have
            length = resp.headers.get("Content-Length")
            if length is not None and length.strip().isdigit():
                body = int(length) - skip
                if body > size - pos:
                    raise Corrupt(f"{what} is larger than its descriptor ({pos + body} bytes offered, {size} expected)")
                if body < size - pos:
                    raise Corrupt(f"{what} is truncated: the registry offers {pos + body} of {size} bytes")
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    want = min(chunk, skip + (size - pos) + 1)
                    data = resp.read1(want)  # what has arrived: the unpacker follows the blob as it grows
                    if not data:
                        break
                    stats["received"] = stats.get("received", 0) + len(data)
                    if skip:
                        drop = min(skip, len(data))
                        data, skip = data[drop:], skip - drop
                        if not data:
                            continue
                    if pos + len(data) > size:
                        raise Corrupt(f"{what} is larger than its descriptor ({size} bytes)")
                    sink.write(data)
                    pos += len(data)
                    stats["written"] = stats.get("written", 0) + len(data)
                    progressed = True
                    on_event(progress.ProgressEvent(lid, progress.DOWNLOADING, pos, size))
            except (HTTPError, OSError) as e:
                breaks += 1
                if breaks > transport.config.retries:
                    raise Unavailable(f"download of {what} from {host} broke at byte {pos} of {size} "
                                      f"{breaks} times: {type(e).__name__}") from None
                on_event(progress.ProgressEvent(lid, progress.RETRYING, pos, size, detail=f"attempt {breaks + 1}"))
                continue
        finally:
            drain(resp)
        if pos < size:
            if not progressed:
                raise Corrupt(f"{what} is truncated: the registry sent {pos} of {size} bytes")
            breaks += 1
            if breaks > transport.config.retries:
                raise Corrupt(f"{what} is truncated: the registry sent {pos} of {size} bytes")
