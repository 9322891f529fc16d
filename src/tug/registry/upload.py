"""Pushing one blob: existence check, cross-repository mount, then a monolithic or chunked upload.

Monolithic: `POST /v2/<name>/blobs/uploads/` then `PUT <location>?digest=<d>` with the whole body. Chunked (when
`chunk_size` is set and the blob is larger): `PATCH <location>` with `Content-Range: start-end` per chunk, each
answer giving the next location, then an empty `PUT ?digest=`. The registry checks the digest on the final PUT.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import IO

from tug.errors import Corrupt, Invalid
from tug.oci.descriptor import Descriptor
from tug.registry.auth import repository_scope
from tug.registry.status import status_error
from tug.registry.transport import Transport, drain

EXISTS, MOUNTED, UPLOADED = "exists", "mounted", "uploaded"
Opener = Callable[[], IO[bytes]]


def _with_digest(url: str, digest: str) -> str:
    p = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(p.query, keep_blank_values=True) + [("digest", digest)]
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, urllib.parse.urlencode(query), ""))


def _location(transport: Transport, host: str, resp, what: str) -> str:
    loc = resp.headers.get("Location")
    if not loc:
        raise Invalid(f"registry {host} started an upload for {what} without a Location")
    return urllib.parse.urljoin(transport.base_url(host) + "/", loc)


def blob_exists(transport: Transport, host: str, repository: str, desc: Descriptor, scopes: list[str]) -> bool:
    resp = transport.request("HEAD", host, f"/v2/{repository}/blobs/{desc.digest}", scopes=scopes)
    drain(resp)
    if resp.status == 200:
        return True
    if resp.status == 404:
        return False
    raise status_error(resp, f"blob {desc.digest}", host)


def push_blob(transport: Transport, host: str, repository: str, desc: Descriptor, opener: Opener,
              mount_from: Sequence[str] = ()) -> str:
    """Make `desc` present in `repository`; returns EXISTS, MOUNTED or UPLOADED."""
    what = f"blob {desc.digest}"
    sources = [r for r in dict.fromkeys(mount_from) if r != repository]
    scopes = [repository_scope(repository, "pull,push"), *(repository_scope(r) for r in sources)]
    if blob_exists(transport, host, repository, desc, scopes):
        return EXISTS
    location = None
    for src in sources:
        query = urllib.parse.urlencode({"mount": str(desc.digest), "from": src})
        resp = transport.request("POST", host, f"/v2/{repository}/blobs/uploads/?{query}", scopes=scopes,
                                 headers={"Content-Length": "0"}, body=b"")
        drain(resp)
        if resp.status == 201:
            return MOUNTED
        if resp.status == 202:  # the registry could not mount and opened an upload instead
            location = _location(transport, host, resp, what)
            break
    if location is None:
        resp = transport.request("POST", host, f"/v2/{repository}/blobs/uploads/", scopes=scopes,
                                 headers={"Content-Length": "0"}, body=b"")
        drain(resp)
        if resp.status != 202:
            raise status_error(resp, f"upload of {what}", host)
        location = _location(transport, host, resp, what)
    chunk = transport.config.chunk_size
    if chunk and desc.size > chunk:
        location = _patch_chunks(transport, host, location, desc, opener, scopes, chunk)
        body: bytes | Opener = b""
        length = 0
    else:
        body, length = opener, desc.size
    resp = transport.request("PUT", host, _with_digest(location, str(desc.digest)), scopes=scopes, body=body,
                             headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
                             idempotent=False)
    drain(resp)
    if resp.status == 400 and b"DIGEST_INVALID" in (resp.data or b""):
        raise Corrupt(f"registry {host} says the bytes pushed for {what} do not match the digest")
    if resp.status not in (201, 204):
        raise status_error(resp, f"upload of {what}", host)
    return UPLOADED


def _patch_chunks(transport: Transport, host: str, location: str, desc: Descriptor, opener: Opener,
                  scopes: list[str], chunk: int) -> str:
    what = f"blob {desc.digest}"
    sent = 0
    with opener() as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            if sent + len(data) > desc.size:
                raise Corrupt(f"{what} to push is larger than its descriptor ({desc.size} bytes)")
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data)),
                       "Content-Range": f"{sent}-{sent + len(data) - 1}"}
            resp = transport.request("PATCH", host, location, scopes=scopes, headers=headers, body=data,
                                     idempotent=False)
            drain(resp)
            if resp.status != 202:
                raise status_error(resp, f"chunk at {sent} of {what}", host)
            location = _location(transport, host, resp, what)
            sent += len(data)
    if sent != desc.size:
        raise Corrupt(f"{what} to push has {sent} bytes, its descriptor says {desc.size}")
    return location
