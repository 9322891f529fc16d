"""Image references parsed and normalised as docker does.

`busybox` -> `docker.io/library/busybox:latest`; `quay.io/rhdp/open-adventure`; `host:port/ns/repo:tag`;
`repo@sha256:...`; `repo:tag@sha256:...`.
"""

from __future__ import annotations

import re

from tug.errors import Invalid
from tug.oci.digest import Digest
from tug.records import record

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
_LEGACY_REGISTRIES = {"index.docker.io", "registry-1.docker.io"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DOMAIN = re.compile(
    r"^(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)


@record(frozen=True)
class Reference:
    registry: str
    repository: str  # path within the registry, e.g. library/busybox
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name, e.g. docker.io/library/busybox."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar_name(self) -> str:
        """What docker prints in REPOSITORY: `busybox`, `quay.io/rhdp/open-adventure`."""
        if self.registry == DEFAULT_REGISTRY:
            repo = self.repository
            return repo.removeprefix("library/") if repo.count("/") == 1 else repo
        return self.name

    @property
    def object(self) -> str:
        """What goes after `/manifests/` in a registry URL: the digest when there is one, else the tag."""
        if self.digest:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: Digest) -> Reference:
        return Reference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    @property
    def familiar(self) -> str:
        s = self.familiar_name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_REGISTRY, name
    if domain in _LEGACY_REGISTRIES:
        domain = DEFAULT_REGISTRY
    if domain == DEFAULT_REGISTRY and "/" not in remainder:
        remainder = f"library/{remainder}"
    return domain, remainder


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse a reference; a missing tag becomes `latest` unless a digest is given or default_tag is False."""
    if not text or text != text.strip() or len(text) > 4096:
        raise Invalid(f"invalid reference format: {text!r}")
    rest = text
    digest = None
    if "@" in rest:
        rest, _, dg = rest.partition("@")
        try:
            digest = Digest.parse(dg)
        except Invalid:
            raise Invalid(f"invalid reference format: {text!r} has a bad digest") from None
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise Invalid(f"invalid reference format: bad tag {tag!r} in {text!r}")
    if not rest:
        raise Invalid(f"invalid reference format: {text!r}")
    domain, path = _split_domain(rest)
    if not _DOMAIN.match(domain):
        raise Invalid(f"invalid reference format: bad registry {domain!r} in {text!r}")
    for comp in path.split("/"):
        if not _COMPONENT.match(comp):
            if comp.lower() == comp:
                raise Invalid(f"invalid reference format: {text!r}")
            raise Invalid(f"invalid reference format: repository name must be lowercase: {text!r}")
    if len(domain) + 1 + len(path) > 255:
        raise Invalid(f"invalid reference format: repository name too long: {text!r}")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def looks_like_id(text: str) -> bool:
    """A (prefix of a) 64-hex image or container id, with or without `sha256:`."""
    t = text.removeprefix("sha256:")
    return 1 <= len(t) <= 64 and re.fullmatch(r"[0-9a-f]+", t) is not None
