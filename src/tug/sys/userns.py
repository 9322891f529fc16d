"""User namespaces at the kernel boundary (issue 7): which one this process is in, making one with given id maps,
and idmapped bind mounts (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, Linux 5.12+).

In a user namespace other than the host's, overlayfs keeps its markers in `user.overlay.*` xattrs (mount option
`userxattr`), since `trusted.*` needs CAP_SYS_ADMIN in the host's namespace; cgroups are not the process's to make.
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure

# ctypes and libc are imported by the functions that make namespaces and mounts: the store and the runtime's start
# path only ask in_initial(), and should not pay for them

SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, AT_RECURSIVE, AT_EMPTY_PATH, AT_FDCWD = 1, 0x8000, 0x1000, -100
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_IDMAP = 0x00100000


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


def make(uid_map: str, gid_map: str) -> int:
    """An fd of a new user namespace whose uid_map/gid_map are these texts (a short-lived child creates it, we
    write its maps; the fd keeps the namespace)."""
    from tug.sys import ns

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
    import ctypes

    from tug.sys.libc import libc

    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                    ("userns_fd", ctypes.c_uint64)]

    libc.syscall.restype = ctypes.c_long
    tree = libc.syscall(SYS_OPEN_TREE, AT_FDCWD, src.encode(), OPEN_TREE_CLONE | os.O_CLOEXEC | AT_RECURSIVE)
    if tree < 0:
        err = ctypes.get_errno()
        raise SystemFailure(f"open_tree: {os.strerror(err)}", where=src)
    try:
        attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
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
