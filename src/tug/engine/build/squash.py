"""`--squash` (the layers this build added, as one) and `--squash-all` (the whole image as one layer).

Both compute the squashed layer as the difference an overlay sees: the kept lower layers (none for --squash-all)
are mounted with a fresh upper in a private namespace, and the layers to squash are applied into the merged tree
in order (a whiteout deletes, an opaque directory is emptied first), so the upper ends up holding exactly their
combined effect; it is then written like any build layer. History entries stay, marked empty but the last.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tug.engine.build.sandbox import run_in_root
from tug.engine.record import LayerBlob
from tug.oci import mediatypes as mt
from tug.oci.digest import chain_ids

if TYPE_CHECKING:
    from tug.engine.build.executor import Builder

WH = ".wh."
OPQ = ".wh..wh..opq"


def _remove(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _apply_tar(fileobj: Any) -> None:
    """Apply one layer tar into the current root (we are chrooted in the merged overlay)."""
    with tarfile.open(fileobj=fileobj, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
        for ti in tf:
            name = "/" + ti.name.strip("/").removeprefix("./")
            head, base = os.path.split(name)
            if base == OPQ:
                for child in os.listdir(head or "/"):
                    _remove(os.path.join(head, child))
                continue
            if base.startswith(WH):
                _remove(os.path.join(head, base[len(WH):]))
                continue
            if ti.isdir():
                if not os.path.isdir(name) or os.path.islink(name):
                    _remove(name)
                    os.mkdir(name)
            else:
                _remove(name)
                if ti.issym():
                    os.symlink(ti.linkname, name)
                elif ti.islnk():
                    os.link("/" + ti.linkname.strip("/"), name)
                elif ti.isreg():
                    src = tf.extractfile(ti)
                    with open(name, "wb") as out:
                        assert src is not None
                        shutil.copyfileobj(src, out)
                elif ti.ischr() or ti.isblk():
                    kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
                    os.mknod(name, kind | ti.mode, os.makedev(ti.devmajor, ti.devminor))
                elif ti.isfifo():
                    os.mkfifo(name, ti.mode)
            if not ti.islnk():
                os.lchown(name, ti.uid, ti.gid)
                if not ti.issym():
                    os.chmod(name, ti.mode)
                    os.utime(name, (ti.mtime, ti.mtime))
            for key, value in ti.pax_headers.items():
                if key.startswith("SCHILY.xattr.") and not ti.issym():
                    os.setxattr(name, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"))


def squash(b: Builder, raw: dict[str, Any], layers: list[LayerBlob], keep: int) -> tuple[dict[str, Any],
                                                                                        list[LayerBlob]]:
    """Squash every layer above the first `keep` into one; the new config and layer list."""
    from tug.store.layers import decompressed

    lower, top = layers[:keep], layers[keep:]
    if len(top) <= 1:
        return raw, layers
    eng = b.eng
    opened = [(eng.content.open(x.descriptor.digest), mt.layer_compression(x.descriptor.media_type)) for x in top]

    def fn(_fds: dict[str, int]) -> None:
        for f, compression in opened:
            with decompressed(f, compression) as stream:
                _apply_tar(stream)

    work = Path(tempfile.mkdtemp(prefix="squash-", dir=b.work))
    try:
        upper = run_in_root(eng, chain_ids([x.diff_id for x in lower]), work, {}, fn)
        from tug.engine.build.executor import State
        from tug.oci.digest import Digest

        base_state = State({}, lower, Digest.of(b"{}"))  # only its chain is used
        layer = b.write_layer(upper, base_state)
    finally:
        for f, _ in opened:
            f.close()
        shutil.rmtree(work, ignore_errors=True)
    new_layers = [*lower, layer] if layer is not None else list(lower)
    history = list(raw.get("history") or [])
    with_layer = [i for i, h in enumerate(history) if not h.get("empty_layer")]
    for i in with_layer[keep:]:
        history[i] = {**history[i], "empty_layer": True}
    if layer is not None:
        last = with_layer[-1] if with_layer[keep:] else len(history) - 1
        history[last] = {k: v for k, v in history[last].items() if k != "empty_layer"}
    raw = {**raw, "history": history}
    return raw, new_layers
