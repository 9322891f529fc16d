"""The image configuration document (`application/vnd.oci.image.config.v1+json` and Docker's equivalent).

`ImageConfig` keeps the whole document as a dict (unknown fields survive a round trip) and gives typed reads of
what tug uses.
"""

from __future__ import annotations

import json

from tug.errors import Invalid
from tug.oci.digest import Digest
from tug.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record
class ImageConfig:
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, where: str = "image config") -> ImageConfig:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise Invalid(f"image config is not JSON: {e}", where=where) from None
        if not isinstance(doc, dict):
            raise Invalid("image config is not a JSON object", where=where)
        rootfs = doc.get("rootfs")
        if rootfs is not None and (not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids", []), list)):
            raise Invalid("image config has a malformed rootfs", where=where)
        return cls(doc)

    def to_bytes(self) -> bytes:
        return json.dumps(self.raw, separators=(",", ":")).encode()

    @property
    def config(self) -> dict[str, Any]:
        c = self.raw.get("config")
        if not isinstance(c, dict):
            c = {}
            self.raw["config"] = c
        return c

    @property
    def diff_ids(self) -> list[Digest]:
        return [Digest.parse(d) for d in (self.raw.get("rootfs") or {}).get("diff_ids") or []]

    @property
    def env(self) -> list[str]:
        return list(self.config.get("Env") or [])

    @property
    def cmd(self) -> list[str] | None:
        return self.config.get("Cmd")

    @property
    def entrypoint(self) -> list[str] | None:
        return self.config.get("Entrypoint")

    @property
    def working_dir(self) -> str:
        return self.config.get("WorkingDir") or ""

    @property
    def user(self) -> str:
        return self.config.get("User") or ""

    @property
    def exposed_ports(self) -> list[str]:
        return sorted((self.config.get("ExposedPorts") or {}).keys())

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})

    @property
    def stop_signal(self) -> str:
        return self.config.get("StopSignal") or ""

    @property
    def volumes(self) -> list[str]:
        return sorted((self.config.get("Volumes") or {}).keys())

    @property
    def created(self) -> str:
        return self.raw.get("created") or ""

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.raw.get("history") or [])

    @property
    def architecture(self) -> str:
        return self.raw.get("architecture") or ""

    @property
    def os(self) -> str:
        return self.raw.get("os") or ""
