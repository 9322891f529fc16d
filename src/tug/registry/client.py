"""The registry API as tug uses it: resolve manifests, fetch and push blobs, push manifests, check a login.

Pulls try the configured mirrors of a registry first, in order, and fall back to the registry itself; pushes go
to the registry only. Every manifest is size-capped (4 MiB), checked for HTML error pages, unknown media types and
ambiguity, and its digest verified against the reference (by digest) or the registry's `Docker-Content-Digest`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from tug.errors import Corrupt, Denied, Invalid, NotFound, Unauthorized, Unavailable
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.manifest import MAX_MANIFEST_BYTES, Index, Manifest, parse
from tug.oci.platform import Platform, host_platform, select_platform
from tug.oci.reference import Reference
from tug.records import field, record
from tug.registry import progress, upload
from tug.registry.auth import repository_scope
from tug.registry.config import RegistryConfig, api_host
from tug.registry.download import fetch_from
from tug.registry.parallel import OnComplete, SinkFactory, fetch_blobs_parallel
from tug.registry.sink import BlobSink, BytesSink
from tug.registry.status import status_error
from tug.registry.transport import Transport, drain

DEFAULT_ACCEPT = (mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")
_FALLBACK = (NotFound, Unavailable, Unauthorized, Denied)


@record(frozen=True)
class ResolvedManifest:
    descriptor: Descriptor
    raw: bytes = field(repr=False)
    media_type: str

    def parse(self) -> Manifest | Index:
        return parse(self.raw, self.media_type)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES


@record(frozen=True)
class ResolvedImage:
    """A reference resolved to one image manifest; `index` is the list/index it was picked from, if any."""

    manifest: ResolvedManifest
    index: ResolvedManifest | None = None


def _read_capped(resp, limit: int) -> bytes:
    chunks, total = [], 0
    while total <= limit:
        data = resp.read(min(65536, limit + 1 - total))
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def check_manifest(ref: Reference, raw: bytes, content_type: str, header_digest: str | None,
                   host: str) -> ResolvedManifest:
    """Validate a manifest answer; pure apart from hashing. Raises Invalid or Corrupt with one line."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml") or raw.lstrip()[:1] == b"<":
        raise Invalid(f"registry {host} answered {ref} with an HTML page, not a manifest")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise Invalid(f"manifest {ref} is over the {MAX_MANIFEST_BYTES} byte limit")
    if ctype in SCHEMA1:
        raise Invalid(f"manifest {ref} is Docker schema 1, which tug does not support")
    known = ctype in mt.MANIFESTS or ctype in mt.INDEXES
    doc = parse(raw, ctype if known else None, where=f"manifest {ref}")
    if known and doc.media_type != ctype:
        raise Invalid(f"manifest {ref} says it is {doc.media_type} but was served as {ctype}")
    algo = ref.digest.algorithm if ref.digest else "sha256"
    digest = Digest.of(raw, algo)
    if ref.digest is not None and digest != ref.digest:
        raise Corrupt(f"manifest {ref} has content with digest {digest}")
    if header_digest:
        try:
            claimed = Digest.parse(header_digest.strip())
        except Invalid:
            claimed = None
        if claimed is not None and claimed.algorithm == algo and claimed != digest:
            raise Corrupt(f"manifest {ref}: registry {host} says digest {claimed}, content has {digest}")
    return ResolvedManifest(Descriptor(doc.media_type, digest, len(raw)), raw, doc.media_type)


class RegistryClient:
    """One client per engine command. Thread-safe for `fetch_blobs_parallel` (urllib3 pools, locked caches)."""

    def __init__(self, config: RegistryConfig | None = None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config or RegistryConfig()
        self.transport = Transport(self.config, sleep=sleep)
        self._dead: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RegistryClient({self.transport!r})"

    # -- endpoints ----------------------------------------------------------------------------------------------
    def endpoints(self, ref: Reference, pull: bool = True) -> list[str]:
        """The hosts to try for `ref`: live mirrors first (pulls only), then the registry's API host."""
        hosts = []
        if pull:
            with self._lock:
                hosts = [m for m in self.config.mirrors_for(ref.registry) if m not in self._dead]
        return [*hosts, api_host(ref.registry)]

    def _try_endpoints(self, ref: Reference, action: Callable[[str], object], can_fall_back=lambda: True):
        hosts = self.endpoints(ref)
        for i, host in enumerate(hosts):
            try:
                return action(host)
            except _FALLBACK as e:
                if i == len(hosts) - 1 or not can_fall_back():
                    raise
                if isinstance(e, Unavailable):
                    with self._lock:
                        self._dead.add(host)
        raise AssertionError("unreachable")

    # -- manifests ----------------------------------------------------------------------------------------------
    def resolve(self, ref: Reference, accept: Sequence[str] = DEFAULT_ACCEPT) -> ResolvedManifest:
        """GET the manifest or index `ref` names (tag or digest), verified; mirrors first."""

        def at(host: str) -> ResolvedManifest:
            resp = self.transport.request("GET", host, f"/v2/{ref.repository}/manifests/{ref.object}",
                                          scopes=[repository_scope(ref.repository)],
                                          headers={"Accept": ", ".join(accept)}, stream=True)
            try:
                if resp.status != 200:
                    raise status_error(resp, f"manifest {ref}", host)
                length = resp.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > MAX_MANIFEST_BYTES:
                    raise Invalid(f"manifest {ref} is {int(length)} bytes, over the {MAX_MANIFEST_BYTES} byte limit")
                raw = _read_capped(resp, MAX_MANIFEST_BYTES)
            finally:
                drain(resp)
            return check_manifest(ref, raw, resp.headers.get("Content-Type", ""),
                                  resp.headers.get("Docker-Content-Digest"), host)

        return self._try_endpoints(ref, at)

    def list_tags(self, ref: Reference, page: int = 1000, limit: int = 100_000) -> list[str]:
        """The repository's tags (`GET /v2/<name>/tags/list`, following the `Link: <...>; rel="next"` pages)."""
        import json
        import re

        def at(host: str) -> list[str]:
            tags: list[str] = []
            path: str | None = f"/v2/{ref.repository}/tags/list?n={page}"
            while path and len(tags) < limit:
                resp = self.transport.request("GET", host, path, scopes=[repository_scope(ref.repository)],
                                              stream=True)
                try:
                    if resp.status != 200:
                        raise status_error(resp, f"tags of {ref.repository}", host)
                    raw = _read_capped(resp, MAX_MANIFEST_BYTES)
                finally:
                    drain(resp)
                try:
                    got = json.loads(raw).get("tags") or []
                except (ValueError, AttributeError):
                    raise Invalid(f"tags of {ref.repository} from {host}: not a JSON tag list") from None
                tags += [t for t in got if isinstance(t, str)]
                m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', resp.headers.get("Link", ""))
                path = m.group(1) if m else None
            return tags

        return self._try_endpoints(ref, at)

    def head(self, ref: Reference, accept: Sequence[str] = DEFAULT_ACCEPT) -> Descriptor | None:
        """HEAD the manifest: its descriptor as the registry states it (digest unverified), None if missing."""

        def at(host: str) -> Descriptor | None:
            resp = self.transport.request("HEAD", host, f"/v2/{ref.repository}/manifests/{ref.object}",
                                          scopes=[repository_scope(ref.repository)],
                                          headers={"Accept": ", ".join(accept)})
            drain(resp)
            if resp.status == 404:
                raise NotFound(f"manifest {ref} not found on {host}")
            if resp.status != 200:
                raise status_error(resp, f"manifest {ref}", host)
            dg, length = resp.headers.get("Docker-Content-Digest"), resp.headers.get("Content-Length", "")
            if not dg or not length.isdigit():
                raise Invalid(f"registry {host} answered HEAD {ref} without a digest or length")
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
            return Descriptor(ctype, Digest.parse(dg), int(length))

        try:
            return self._try_endpoints(ref, at)
        except NotFound:
            return None

    def resolve_image(self, ref: Reference, platform: Platform | str | None = None) -> ResolvedImage:
        """Resolve `ref` to one image manifest, following an index to `platform` (default: this host's)."""
        top = self.resolve(ref)
        if not top.is_index:
            return ResolvedImage(top)
        index = top.parse()
        desc = select_platform(index, platform or host_platform())
        if desc.media_type not in mt.MANIFESTS:
            raise Invalid(f"index {ref} points at {desc.media_type!r} for the platform, not an image manifest")
        child = self.resolve(ref.with_digest(desc.digest))
        if child.is_index:
            raise Invalid(f"index {ref} nests another index for the platform; tug does not follow nested indexes")
        return ResolvedImage(child, top)

    def push_manifest(self, ref: Reference, raw: bytes, media_type: str) -> Digest:
        """PUT a manifest or index under `ref`'s tag (or digest); returns its digest."""
        if len(raw) > MAX_MANIFEST_BYTES:
            raise Invalid(f"manifest for {ref} is over the {MAX_MANIFEST_BYTES} byte limit")
        digest = Digest.of(raw, ref.digest.algorithm if ref.digest else "sha256")
        if ref.digest is not None and digest != ref.digest:
            raise Invalid(f"manifest to push has digest {digest}, not the {ref.digest} its reference names")
        host = api_host(ref.registry)
        resp = self.transport.request("PUT", host, f"/v2/{ref.repository}/manifests/{ref.object}",
                                      scopes=[repository_scope(ref.repository, "pull,push")], body=raw,
                                      headers={"Content-Type": media_type})
        drain(resp)
        if resp.status not in (200, 201, 202):
            raise status_error(resp, f"manifest push to {ref}", host)
        claimed = resp.headers.get("Docker-Content-Digest")
        if claimed and claimed.strip() != str(digest):
            raise Corrupt(f"registry {host} stored the manifest for {ref} as {claimed.strip()}, not {digest}")
        return digest

    # -- blobs --------------------------------------------------------------------------------------------------
    def fetch_blob(self, ref: Reference, descriptor: Descriptor, sink: BlobSink, offset: int = 0, *,
                   on_event: progress.OnEvent = progress.ignore, cancel: threading.Event | None = None) -> int:
        """Stream a blob into `sink` from byte `offset`; returns the bytes received over the network.

        Exactly `descriptor.size - offset` bytes reach the sink, or an error is raised (Corrupt when the registry
        has more or fewer bytes; Unavailable when the connection keeps breaking). The digest is the sink's to check.
        A mirror is only left for the next endpoint before the first byte reached the sink.
        """
        stats: dict[str, int] = {}

        def at(host: str) -> int:
            fetch_from(self.transport, host, ref.repository, descriptor, sink, offset, on_event, cancel, stats)
            return stats.get("received", 0)

        return self._try_endpoints(ref, at, can_fall_back=lambda: not stats.get("written"))

    def fetch_blob_bytes(self, ref: Reference, descriptor: Descriptor, limit: int = 64 << 20) -> bytes:
        """A small blob (an image config) in memory, digest verified."""
        if descriptor.size > limit:
            raise Invalid(f"blob {descriptor.digest} is {descriptor.size} bytes, over the {limit} byte limit")
        sink = BytesSink(descriptor)
        self.fetch_blob(ref, descriptor, sink)
        sink.verify()
        return sink.getvalue()

    def fetch_blobs_parallel(self, ref: Reference, descriptors: Sequence[Descriptor], sink_factory: SinkFactory,
                             max_workers: int = 3, on_event: progress.OnEvent = progress.ignore,
                             on_complete: OnComplete | None = None) -> dict[str, int]:
        """Several blobs in a small thread pool; see `tug.registry.parallel.fetch_blobs_parallel`."""
        return fetch_blobs_parallel(self, ref, descriptors, sink_factory, max_workers, on_event, on_complete)

    def blob_exists(self, ref: Reference, descriptor: Descriptor) -> bool:
        host = api_host(ref.registry)
        return upload.blob_exists(self.transport, host, ref.repository, descriptor,
                                  [repository_scope(ref.repository)])

    def push_blob(self, ref: Reference, descriptor: Descriptor, opener: upload.Opener,
                  mount_from: Sequence[str] = ()) -> str:
        """Make a blob present in `ref`'s repository: "exists", "mounted" (from one of `mount_from`, repository
        paths on the same registry) or "uploaded". `opener()` returns a fresh readable binary file each call."""
        return upload.push_blob(self.transport, api_host(ref.registry), ref.repository, descriptor, opener,
                                mount_from)

    # -- login --------------------------------------------------------------------------------------------------
    def check_login(self, registry: str, user: str, secret: str) -> None:
        """Prove `user`/`secret` work on `registry` (what `tug login` does before saving); raises Unauthorized."""
        host = api_host(registry)
        cfg = RegistryConfig(**{**self.config.__dict__, "credentials": lambda h: (user, secret) if h == host else None})
        transport = Transport(cfg, sleep=self.transport.sleep)
        try:
            resp = transport.request("GET", host, "/v2/", scopes=[])
        except Unauthorized:
            raise Unauthorized(f"login to {registry} failed: the registry refused the credentials") from None
        drain(resp)
        if resp.status in (401, 403):
            raise Unauthorized(f"login to {registry} failed: the registry refused the credentials")
        if resp.status != 200:
            raise status_error(resp, "login", host)

