"""A new user namespace for the container (OCI linux.uidMappings/gidMappings), made the way that keeps every other
namespace owned by the host: the runtime sets up mounts, devices and cgroups as host root, and the init joins the
user namespace last, just before it drops to the container's ids and execs.

So container root is an unprivileged host uid (the first mapped one), yet nothing mounted for it can be unmounted or
remounted from inside (the mount namespace belongs to the host's user namespace). The rootfs is bind-mounted with
an id mapping (mount_setattr MOUNT_ATTR_IDMAP) so that files owned by host uid 0 appear owned by container root;
where the filesystem refuses idmapped mounts (overlayfs as a whole does on 6.x; its layers can be idmapped), the
rootfs is used as it is and host-owned files show as the overflow id.
"""

from __future__ import annotations

from tug.errors import Invalid
from tug.sys import ns
from tug.sys import userns as sys_userns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

idmapped_bind = sys_userns.idmapped_bind  # rootfs.prepare binds the rootfs with it


def map_text(mappings: list[dict[str, Any]], what: str) -> str:
    """OCI [{containerID, hostID, size}] -> the text of /proc/PID/{uid,gid}_map."""
    lines = []
    for m in mappings or ():
        try:
            inside, outside, size = int(m["containerID"]), int(m["hostID"]), int(m["size"])
        except (KeyError, TypeError, ValueError):
            raise Invalid(f"config.json: linux.{what} entry {m!r} is not valid") from None
        if inside < 0 or outside < 0 or size <= 0:
            raise Invalid(f"config.json: linux.{what} entry {m!r} is not valid")
        lines.append(f"{inside} {outside} {size}\n")
    if not lines:
        raise Invalid(f"config.json: a new user namespace needs linux.{what}")
    return "".join(lines)


def make(spec: dict[str, Any]) -> int:
    """An fd of a new user namespace with the spec's mappings (a short-lived child creates it; the fd keeps it)."""
    linux = spec.get("linux") or {}
    return sys_userns.make(map_text(linux.get("uidMappings"), "uidMappings"),
                           map_text(linux.get("gidMappings"), "gidMappings"))


def enter(userns_fd: int) -> None:
    """Join the container's user namespace (the last namespace step, right before ids, caps and exec)."""
    import os

    ns.setns(userns_fd, ns.CLONE_NEWUSER, where="container user namespace")
    os.close(userns_fd)

