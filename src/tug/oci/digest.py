"""Content digests (`algorithm:hex`), as the OCI image spec defines them."""

from __future__ import annotations

import re

from tug.errors import Invalid
from tug.records import record

_HEX = {"sha256": 64, "sha512": 128}
_RE = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


@record(frozen=True, order=True)
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _RE.match(text)
        if not m:
            raise Invalid(f"invalid digest {text!r}")
        algo, hexpart = m.group(1), m.group(2)
        want = _HEX.get(algo)
        if want is None:
            raise Invalid(f"unsupported digest algorithm {algo!r}", where=text)
        if len(hexpart) != want or not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise Invalid(f"invalid {algo} digest {text!r}")
        return cls(algo, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        if algorithm == "sha256":
            return cls(algorithm, sha256_hex(data))
        import hashlib  # imported when something is hashed, not by every user of a digest

        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self):  # noqa: ANN201 - hashlib's type is private
        import hashlib

        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """The 12-hex form docker prints as an IMAGE ID or CONTAINER ID."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def sha256_hex(data: bytes) -> str:
    if len(data) < 1 << 20:  # configs and manifests: the built-in module, without loading OpenSSL (~2 ms)
        import _sha256

        return _sha256.sha256(data).hexdigest()
    import hashlib

    return hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: list[Digest]) -> list[Digest]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[Digest] = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            out.append(Digest.of(f"{out[-1]} {d}".encode()))
    return out
