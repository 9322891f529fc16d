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

import ctypes
import os

from tug.errors import Invalid, SystemFailure
from tug.sys import ns
from tug.sys import userns as sys_userns
from tug.sys.libc import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, AT_RECURSIVE, AT_EMPTY_PATH, AT_FDCWD = 1, 0x8000, 0x1000, -100
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_IDMAP = 0x00100000


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


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
    return make_mapped(map_text(linux.get("uidMappings"), "uidMappings"),
                       map_text(linux.get("gidMappings"), "gidMappings"))


def make_mapped(uid_map: str, gid_map: str) -> int:
    """An fd of a new user namespace whose uid_map/gid_map are these texts."""
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(go_w)  # or the read below never sees the parent's close
            os.close(up_r)
            ns.unshare(ns.CLONE_NEWUSER)
            os.write(up_w, b"1")
            os.read(go_r, 1)
        except BaseException:  # noqa: BLE001 - the parent reads the failure from the pipe
            code = 1
        os._exit(code)
    os.close(up_w)
    os.close(go_r)
    try:
        if os.read(up_r, 1) != b"1":
            raise SystemFailure("cannot create a user namespace (unshare CLONE_NEWUSER failed)")
        for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
            try:
                with open(f"/proc/{pid}/{name}", "w") as f:
                    f.write(text)
            except OSError as e:
                raise SystemFailure(f"writing {name}: {e.strerror}", where=f"/proc/{pid}/{name}") from None
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(go_w)
        os.close(up_r)
        os.waitpid(pid, 0)


def idmapped_bind(src: str, dst: str, userns_fd: int) -> bool:
    """Bind `src` onto `dst` with the user namespace's id mapping; False when the filesystem refuses."""
    libc.syscall.restype = ctypes.c_long
    tree = libc.syscall(SYS_OPEN_TREE, AT_FDCWD, src.encode(), OPEN_TREE_CLONE | os.O_CLOEXEC | AT_RECURSIVE)
    if tree < 0:
        err = ctypes.get_errno()
        raise SystemFailure(f"open_tree: {os.strerror(err)}", where=src)
    try:
        attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
        if libc.syscall(SYS_MOUNT_SETATTR, tree, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)) < 0:
            err = ctypes.get_errno()
            if err in (1, 22, 95):  # EPERM (a filesystem of an ancestor user namespace, rootless), EINVAL,
                return False  # EOPNOTSUPP: this filesystem cannot be idmapped
            raise SystemFailure(f"mount_setattr(MOUNT_ATTR_IDMAP): {os.strerror(err)}", where=src)
        if libc.syscall(SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, dst.encode(), MOVE_MOUNT_F_EMPTY_PATH) < 0:
            err = ctypes.get_errno()
            raise SystemFailure(f"move_mount: {os.strerror(err)}", where=dst)
        return True
    finally:
        os.close(tree)


def enter(userns_fd: int) -> None:
    """Join the container's user namespace (the last namespace step, right before ids, caps and exec)."""
    ns.setns(userns_fd, ns.CLONE_NEWUSER, where="container user namespace")
    os.close(userns_fd)


def wants_cgroup(spec: dict[str, Any]) -> bool:
    """A runtime in a user namespace other than the host's (rootless) makes no cgroup for a spec that names none
    and limits nothing: the user cannot create one unless it was delegated (issue 7)."""
    linux = spec.get("linux") or {}
    return bool(linux.get("cgroupsPath") or linux.get("resources")) or sys_userns.in_initial()
