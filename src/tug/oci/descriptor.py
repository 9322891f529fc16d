"""Content descriptors: what a manifest says about a blob (media type, digest, size)."""

from __future__ import annotations

from tug.errors import Invalid
from tug.oci.digest import Digest
from tug.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict, compare=False)
    platform: dict[str, Any] | None = field(default=None, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, obj: Any, where: str = "descriptor") -> Descriptor:
        if not isinstance(obj, dict):
            raise Invalid("descriptor is not an object", where=where)
        try:
            mt, dg, size = obj["mediaType"], obj["digest"], obj["size"]
        except KeyError as e:
            raise Invalid(f"descriptor lacks {e.args[0]!r}", where=where) from None
        if not isinstance(mt, str) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Invalid("descriptor has a bad mediaType or size", where=where)
        known = {"mediaType", "digest", "size", "annotations", "platform"}
        return cls(
            media_type=mt,
            digest=Digest.parse(dg),
            size=size,
            annotations=dict(obj.get("annotations") or {}),
            platform=obj.get("platform"),
            extra={k: v for k, v in obj.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        out.update(self.extra)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = dict(self.platform)
        return out
