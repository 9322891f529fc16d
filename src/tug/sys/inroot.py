"""Resolve and create paths strictly inside a container root (a directory fd), like `RESOLVE_IN_ROOT`.

Mount destinations come from the spec and the image: a symlink such as `/proc -> /etc/host` must resolve to
`<root>/etc/host`, never to the host's `/etc/host`. Existing prefixes are opened with openat2(RESOLVE_IN_ROOT);
a missing component is created in its resolved parent (never through a path), and a dangling symlink is
followed by rewriting the path under the root, as the kernel would inside the container.
"""

from __future__ import annotations

import errno
import os
import stat

from tug.errors import Invalid
from tug.sys.openat2 import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
_MAX_LINKS = 40


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def open_path(root_fd: int, path: str, flags: int = os.O_PATH) -> int:
    """An fd (CLOEXEC) for `path` resolved inside `root_fd`; raises OSError (ENOENT...) like open."""
    rel = "/".join(_parts(path)) or "."
    return openat2(root_fd, rel, flags, 0, _RESOLVE)


def ensure(root_fd: int, path: str, kind: str = "dir", mode: int = 0o755) -> int:
    """An O_PATH fd for `path` inside the root, creating missing directories (and a final file when
    kind == "file"). Symlinks on the way resolve inside the root."""
    parts = _parts(path)
    links = 0
    while True:
        try:
            return openat2(root_fd, "/".join(parts) or ".", os.O_PATH, 0, _RESOLVE)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        # find the longest existing prefix
        i = len(parts) - 1
        while i > 0:
            try:
                os.close(openat2(root_fd, "/".join(parts[:i]), os.O_PATH, 0, _RESOLVE))
                break
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise
                i -= 1
        parent = openat2(root_fd, "/".join(parts[:i]) or ".", os.O_PATH | os.O_DIRECTORY, 0, _RESOLVE)
        try:
            name = parts[i]
            if name == "..":
                raise Invalid(f"{path}: cannot create '..'", where=path)
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(name, dir_fd=parent)
                base = [] if target.startswith("/") else parts[:i]
                parts = base + _parts(target) + parts[i + 1:]
                parts = _normalise(parts)
                continue
            last = i == len(parts) - 1
            _create(parent, name, "file" if (last and kind == "file") else "dir", mode)
        finally:
            os.close(parent)


def _normalise(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        else:
            out.append(p)
    return out


def _create(parent: int, name: str, kind: str, mode: int) -> None:
    try:
        if kind == "dir":
            os.mkdir(name, mode, dir_fd=parent)
        else:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                             dir_fd=parent))
    except FileExistsError:
        pass


def parent_and_name(root_fd: int, path: str) -> tuple[int, str]:
    """An fd of the directory that will hold `path` (created inside the root) and the last component."""
    parts = _parts(path)
    if not parts:
        raise Invalid("the root itself has no parent", where=path)
    return ensure(root_fd, "/".join(parts[:-1])), parts[-1]
