"""/dev inside the container: device nodes from `linux.devices` plus the defaults, and the standard symlinks.

Nodes are made with mknod relative to their resolved parent dir; when mknod is refused (no CAP_MKNOD, or a
nodev upper), the host's node is bind-mounted onto an empty file instead.
"""

from __future__ import annotations

import os
import stat

from tug.sys import inroot
from tug.sys import mount as m

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DEVICES: list[dict[str, Any]] = [
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
    {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666},
    {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 0o666},
    {"path": "/dev/random", "type": "c", "major": 1, "minor": 8, "fileMode": 0o666},
    {"path": "/dev/urandom", "type": "c", "major": 1, "minor": 9, "fileMode": 0o666},
    {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0, "fileMode": 0o666},
]
SYMLINKS = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
            ("/proc/self/fd/2", "/dev/stderr")]
_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def all_devices(spec_devices: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    given = {d["path"] for d in spec_devices or ()}
    return [*(spec_devices or ()), *(d for d in DEFAULT_DEVICES if d["path"] not in given)]


def create(root_fd: int, devices: list[dict[str, Any]]) -> None:
    for dev in devices:
        _create_one(root_fd, dev)


def _create_one(root_fd: int, dev: dict[str, Any]) -> None:
    path = dev["path"]
    kind = _TYPES.get(dev.get("type", "c"))
    if kind is None:
        raise ValueError(f"device {path}: unknown type {dev.get('type')!r}")
    mode = dev.get("fileMode", 0o666) & 0o7777
    parent, name = inroot.parent_and_name(root_fd, path)
    try:
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(f"device {path}: a directory is in the way")
            os.unlink(name, dir_fd=parent)
        except FileNotFoundError:
            pass
        try:
            os.mknod(name, kind | mode, os.makedev(dev.get("major", 0), dev.get("minor", 0)), dir_fd=parent)
        except PermissionError:
            _bind_host_node(parent, name, path)
            return
        os.chown(name, dev.get("uid", 0), dev.get("gid", 0), dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(parent)


def _bind_host_node(parent: int, name: str, path: str) -> None:
    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644,
                     dir_fd=parent))
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    try:
        m.mount(path, m.fd_path(fd), None, m.MS_BIND, where=path)
    finally:
        os.close(fd)


def symlinks(root_fd: int, devpts: bool, kcore: bool = True) -> None:
    links = list(SYMLINKS)
    if kcore and os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    for target, path in links:
        parent, name = inroot.parent_and_name(root_fd, path)
        try:
            os.symlink(target, name, dir_fd=parent)
        except FileExistsError:
            pass
        finally:
            os.close(parent)
    if devpts:  # /dev/ptmx must be the container's own devpts instance
        parent, name = inroot.parent_and_name(root_fd, "/dev/ptmx")
        try:
            try:
                os.unlink(name, dir_fd=parent)
            except FileNotFoundError:
                pass
            os.symlink("pts/ptmx", name, dir_fd=parent)
        finally:
            os.close(parent)
