"""What a container changed: its overlay upper directory compared with the merged view of the layers below.

`LowerView` answers "what is at this path in the image" by reading the snapshot directories top down as overlayfs
merges them (a 0/0 character device hides a name, `trusted.overlay.opaque=y` hides everything below a directory,
a non-directory hides the lower directories of the same name). It never follows a symlink: each component is
looked at with lstat.

`changes` gives the `docker diff` lines: `D` for a whiteout (and for each lower name an opaque directory hid), `A`
for a name the image did not have, `C` for one it had, except a directory whose type, mode and mtime are as in the
image (it is only in the upper because something below it changed).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from tug.store.diff import OPAQUE_XATTRS, Change, Node, walk


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    for k in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, k, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


class LowerView:
    """The merged, read-only view of snapshot directories given top first."""

    def __init__(self, layers: list[Path | str]) -> None:
        self.layers = [os.fspath(p) for p in layers]

    def _resolve_dir(self, layer: str, parts: tuple[str, ...]) -> tuple[str, str | None, bool]:
        """Walk `parts` as directories in one layer: ('dir'|'absent'|'stop', path, opaque seen on the way)."""
        cur = layer
        opaque = False
        for comp in parts:
            cur = os.path.join(cur, comp)
            st = _lstat(cur)
            if st is None:
                return "absent", None, opaque
            if _whiteout(st) or not stat.S_ISDIR(st.st_mode):
                return "stop", None, opaque
            opaque = opaque or _opaque(cur)
        return "dir", cur, opaque

    def lookup(self, parts: tuple[str, ...]) -> os.stat_result | None:
        """lstat of the path in the merged lower layers, None when absent (or hidden)."""
        if not parts:
            return _lstat(self.layers[0]) if self.layers else None
        for layer in self.layers:
            how, d, opaque = self._resolve_dir(layer, parts[:-1])
            if how == "stop":
                return None
            if how == "dir":
                assert d is not None
                st = _lstat(os.path.join(d, parts[-1]))
                if st is not None:
                    return None if _whiteout(st) else st
            if opaque:
                return None
        return None

    def listdir(self, parts: tuple[str, ...]) -> set[str]:
        """The names in the merged directory."""
        seen: set[str] = set()
        out: set[str] = set()
        for layer in self.layers:
            how, d, opaque = self._resolve_dir(layer, parts)
            if how == "stop":
                break
            if how == "dir":
                assert d is not None
                for name in os.listdir(d):
                    if name in seen:
                        continue
                    seen.add(name)
                    st = _lstat(os.path.join(d, name))
                    if st is not None and not _whiteout(st):
                        out.add(name)
            if opaque:
                break
        return out


def _same_dir(a: os.stat_result, b: os.stat_result) -> bool:
    return (stat.S_ISDIR(a.st_mode) and stat.S_ISDIR(b.st_mode) and a.st_mode == b.st_mode
            and a.st_uid == b.st_uid and a.st_gid == b.st_gid and int(a.st_mtime) == int(b.st_mtime))


def _same_but_time(a: os.stat_result, b: os.stat_result) -> bool:
    return (stat.S_ISDIR(a.st_mode) and stat.S_ISDIR(b.st_mode) and a.st_mode == b.st_mode
            and a.st_uid == b.st_uid and a.st_gid == b.st_gid)


def _only_excluded(upper: str, rel: str, exclude: Callable[[Node], bool]) -> bool:
    """True when everything in the upper directory `rel` is excluded (it was copied up only for those)."""
    fd = os.open(os.path.join(upper, rel), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        names = os.listdir(fd)
        for name in names:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if not exclude(Node(f"{rel}/{name}", fd, name, st)):
                return False
        return bool(names)
    finally:
        os.close(fd)


def changes(upper: Path | str, lower: LowerView, exclude: Callable[[Node], bool] | None = None) -> list[Change]:
    """The A/C/D list of an upper directory over `lower`, sorted by path as docker prints it."""
    out: list[Change] = []
    opaque_under: list[str] = []  # upper directories marked opaque, as "rel/" prefixes (a stack along the walk)
    skip_under: str | None = None
    for node in walk(upper):
        rel = node.rel
        if skip_under is not None:
            if rel.startswith(skip_under):
                continue
            skip_under = None
        if exclude is not None and exclude(node):
            if node.is_dir:
                skip_under = rel + "/"
            continue
        while opaque_under and not rel.startswith(opaque_under[-1]):
            opaque_under.pop()
        parts = tuple(rel.split("/"))
        path = "/" + rel
        if node.is_whiteout():
            out.append(Change("D", path))
            continue
        hidden = bool(opaque_under)
        below = None if hidden else lower.lookup(parts)
        if below is None:
            out.append(Change("A", path))
        opaque = node.is_opaque()
        if below is not None and (opaque or not _same_dir(node.st, below)) and not (
                not opaque and exclude is not None and _same_but_time(node.st, below)
                and _only_excluded(os.fspath(upper), rel, exclude)):
            out.append(Change("C", path))
        if opaque:
            if below is not None and stat.S_ISDIR(below.st_mode):
                mine = set(os.listdir(os.path.join(os.fspath(upper), rel)))
                out.extend(Change("D", f"{path}/{n}") for n in sorted(lower.listdir(parts) - mine))
            opaque_under.append(rel + "/")
    out.sort(key=lambda c: c.path)
    return out
