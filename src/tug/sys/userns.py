"""Which user namespace this process is in: the host's, or one of a rootless user's (issue 7).

In a user namespace other than the host's, overlayfs keeps its markers in `user.overlay.*` xattrs (mount option
`userxattr`), since `trusted.*` needs CAP_SYS_ADMIN in the host's namespace; cgroups are not the process's to make.
"""

from __future__ import annotations

_initial: bool | None = None


def in_initial() -> bool:
    """Whether this process is in the host's user namespace (its uid_map is the whole identity map)."""
    global _initial
    if _initial is None:
        with open("/proc/self/uid_map") as f:
            _initial = f.read().split() == ["0", "0", "4294967295"]
    return _initial


def overlay_xattr(name: str) -> str:
    """The xattr overlayfs reads for marker `name` ("opaque", "whiteout") in this user namespace."""
    return f"{'trusted' if in_initial() else 'user'}.overlay.{name}"
