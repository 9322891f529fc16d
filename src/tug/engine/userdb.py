"""Reading a small file of the container's root (its /etc/passwd, /etc/group) from the layer directories.

The layers are searched top-down as overlay would merge them; any symlink on the way or a whiteout stops the search
(the file is then treated as absent), so nothing outside a layer is ever read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_BYTES = 4 << 20


def _lookup(layer: Path, rel: str) -> tuple[str, bytes | None]:
    """('found', data) | ('absent', None) | ('stop', None) for one layer."""
    cur = layer
    parts = rel.split("/")
    for i, part in enumerate(parts):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            # an overlay whiteout for this name in this layer hides lower ones
            wh = cur.with_name(".wh." + part)
            return ("stop", None) if os.path.lexists(wh) else ("absent", None)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return ("stop", None)
        if stat.S_ISLNK(st.st_mode):
            return ("stop", None)
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            return ("stop", None)
    if not stat.S_ISREG(os.lstat(cur).st_mode):
        return ("stop", None)
    fd = os.open(cur, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        return ("found", f.read(MAX_BYTES))


def read_file(layers: list[Path], rel: str) -> str | None:
    for layer in layers:
        how, data = _lookup(layer, rel)
        if how == "found":
            return (data or b"").decode("utf-8", "replace")
        if how == "stop":
            return None
    return None
