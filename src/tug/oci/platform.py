"""Platforms (`os/arch[/variant]`): the host's, normalised names, and picking one manifest out of an index.

Matching follows containerd's rules: names are normalised first (`x86_64` -> `amd64`, `aarch64` -> `arm64`,
`armhf` -> `arm/v7`, `arm64/v8` -> `arm64`), then a host accepts its own platform and the compatible older ones in
a fixed order of preference (an `arm64` host takes `arm64`, then `arm/v8`, `arm/v7`, ...; `amd64/v3` takes
`amd64/v3`, `amd64/v2`, `amd64`, then `386`). The best-ranked descriptor wins; ties go to the first in the index.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tug.errors import Invalid, NotFound
from tug.oci.descriptor import Descriptor
from tug.records import record

_ARCH_ALIASES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386", "386": "386",
    "aarch64": "arm64", "arm64": "arm64",
    "armhf": "arm", "armel": "arm", "armv7l": "arm", "armv6l": "arm", "armv5l": "arm", "arm": "arm",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64le", "loong64": "loong64",
}
_ARCH_DEFAULT_VARIANT = {"armhf": "v7", "armel": "v6", "armv7l": "v7", "armv6l": "v6", "armv5l": "v5"}


@record(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/arm64/v8`, `linux/amd64`, `arm64` (os defaults to linux); the result is normalised."""
        parts = text.strip().lower().split("/")
        if not text.strip() or len(parts) > 3 or any(not p for p in parts):
            raise Invalid(f"invalid platform {text!r} (want os/arch[/variant], e.g. linux/amd64)")
        if len(parts) == 1:
            parts = ["linux", parts[0]]
        if parts[1] not in _ARCH_ALIASES and not parts[1].isalnum():
            raise Invalid(f"invalid platform {text!r}: unknown architecture {parts[1]!r}")
        return normalize(cls(parts[0], parts[1], parts[2] if len(parts) == 3 else ""))

    @classmethod
    def from_json(cls, obj: Any) -> Platform | None:
        """A descriptor's `platform` object, normalised; None if absent or malformed."""
        if not isinstance(obj, dict):
            return None
        os_, arch, variant = obj.get("os"), obj.get("architecture"), obj.get("variant") or ""
        if not isinstance(os_, str) or not isinstance(arch, str) or not isinstance(variant, str) or not os_ or not arch:
            return None
        return normalize(cls(os_.lower(), arch.lower(), variant.lower()))

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


def normalize(p: Platform) -> Platform:
    arch = _ARCH_ALIASES.get(p.architecture, p.architecture)
    variant = p.variant or _ARCH_DEFAULT_VARIANT.get(p.architecture, "")
    if variant and variant[0].isdigit():
        variant = f"v{variant}"
    if arch == "arm64" and variant in ("v8", "v8.0"):
        variant = ""
    elif arch == "arm" and not variant:
        variant = "v7"
    elif arch == "amd64" and variant == "v1":
        variant = ""
    return Platform(p.os, arch, variant)


def host_platform() -> Platform:
    """The platform of this machine, from uname (linux only in practice)."""
    u = os.uname()
    return normalize(Platform(u.sysname.lower(), u.machine.lower(), ""))


def _vnum(variant: str) -> int:
    try:
        return int(variant.removeprefix("v").split(".")[0]) if variant else 0
    except ValueError:
        return -1


def compatible(host: Platform) -> list[Platform]:
    """The platforms `host` can run, best first."""
    h = normalize(host)
    out = [h]
    if h.architecture == "amd64":
        n = _vnum(h.variant) or 1
        out += [Platform(h.os, "amd64", f"v{v}" if v > 1 else "") for v in range(n - 1, 0, -1)]
        out.append(Platform(h.os, "386", ""))
    elif h.architecture == "arm64":
        out += [Platform(h.os, "arm", f"v{v}") for v in (8, 7, 6, 5)]
    elif h.architecture == "arm":
        n = _vnum(h.variant)
        out += [Platform(h.os, "arm", f"v{v}") for v in range(n - 1, 4, -1)]
    seen: list[Platform] = []
    for p in out:
        if p not in seen:
            seen.append(p)
    return seen


def matches(host: Platform, candidate: Platform) -> bool:
    return normalize(candidate) in compatible(host)


def select_platform(index: Any, platform: Platform | str) -> Descriptor:
    """The descriptor of the manifest in `index` (an Index or descriptors) that best fits `platform`.

    Raises NotFound naming the platforms the index offers when none fits.
    """
    want = Platform.parse(platform) if isinstance(platform, str) else normalize(platform)
    descriptors: Iterable[Descriptor] = getattr(index, "manifests", index)
    ranked = compatible(want)
    best: tuple[int, Descriptor] | None = None
    offered: list[str] = []
    for desc in descriptors:
        p = Platform.from_json(desc.platform)
        if p is None:
            continue
        if p.os != "unknown":
            offered.append(str(p))
        if p in ranked:
            rank = ranked.index(p)
            if best is None or rank < best[0]:
                best = (rank, desc)
    if best is None:
        shown = ", ".join(dict.fromkeys(offered)) or "none"
        raise NotFound(f"no manifest for platform {want} in the index (offered: {shown})")
    return best[1]
