"""Where blob bytes go: the small protocol between the registry client and whoever stores the bytes.

`RegistryClient.fetch_blob` calls `sink.write(chunk)` for each chunk in order, starting at the offset it was asked
to resume from; it guarantees the total is exactly the descriptor's size or raises. Checking the digest is the
sink's job (the store hashes as it ingests); `HashingSink` does it for callers that keep bytes elsewhere.
"""

from __future__ import annotations

from typing import Protocol

from tug.errors import Corrupt
from tug.oci.descriptor import Descriptor


class BlobSink(Protocol):
    def write(self, data: bytes) -> object: ...


class HashingSink:
    """Hashes what passes through to `inner` (may be None) and checks it against the descriptor in `verify()`.

    For a resumed download, feed the bytes already kept through `prime(data)` first so the hash covers them.
    """

    def __init__(self, descriptor: Descriptor, inner: BlobSink | None = None) -> None:
        self.descriptor = descriptor
        self.inner = inner
        self.size = 0
        self._hash = descriptor.digest.hasher()

    def prime(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        if self.inner is not None:
            self.inner.write(data)

    def verify(self) -> None:
        d = self.descriptor
        if self.size != d.size:
            raise Corrupt(f"blob {d.digest} is {self.size} bytes, its descriptor says {d.size}")
        got = self._hash.hexdigest()
        if got != d.digest.hex:
            raise Corrupt(f"blob {d.digest} has content with digest {d.digest.algorithm}:{got}",
                          hint="the registry sent other bytes than the manifest names")


class BytesSink(HashingSink):
    """Keeps the bytes in memory (configs, small blobs) and verifies them."""

    def __init__(self, descriptor: Descriptor) -> None:
        super().__init__(descriptor)
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        super().write(data)
        self.chunks.append(data)

    def getvalue(self) -> bytes:
        return b"".join(self.chunks)
