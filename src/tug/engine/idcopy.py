"""`--userns=auto` where the store's filesystem cannot be idmapped (issue 7): chown-on-copy.

Each lower layer gets a copy whose owners are shifted into the container's range, made once per layer and mapping
and kept under the store (`<root>/idmapped/<uid>-<gid>-<size>/<chain id>/fs`, published by a rename, so a copy
that exists is complete). The container's upper and work dirs and its hosts/hostname/resolv.conf are given to the
container's root. Unlike the idmapped way, the upper dir then holds host ids: what the container writes is owned
by START+uid on disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from tug.errors import SystemFailure
from tug.spec.userns import Mappings

OVERFLOW = 65534  # what an id outside the mapping becomes (the kernel's overflow id)


def copies_dir(store_root: Path, maps: Mappings) -> Path:
    u, g = maps.uids[0], maps.gids[0]
    return store_root / "idmapped" / f"{u.outside}-{g.outside}-{u.size}"


def shift_tree(root: Path, maps: Mappings) -> None:
    """lchown every entry below (and including) `root` from container ids to host ids, keeping setuid/setgid bits
    (chown clears them)."""
    def one(path: str) -> None:
        st = os.lstat(path)
        uid = maps.host_uid(st.st_uid)
        gid = maps.host_gid(st.st_gid)
        os.lchown(path, OVERFLOW if uid is None else uid, OVERFLOW if gid is None else gid)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            os.chmod(path, stat.S_IMODE(st.st_mode))
    one(str(root))
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            one(os.path.join(d, name))


def shifted_copy(layer_fs: Path, dest_root: Path, maps: Mappings) -> Path:
    """The shifted copy of one snapshot's `fs` dir, made now if it is not there yet."""
    dest = dest_root / layer_fs.parent.name
    if (dest / "fs").is_dir():
        return dest / "fs"
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = dest_root / f".{layer_fs.parent.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    # cp -a keeps hard links, device nodes, xattrs (overlay's opaque marks) and times
    r = subprocess.run(["cp", "-a", "--reflink=auto", str(layer_fs), str(tmp / "fs")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemFailure(f"--userns: copying a layer for the container's ids failed: {r.stderr.strip()}",
                            where=str(layer_fs))
    shift_tree(tmp / "fs", maps)
    try:
        os.rename(tmp, dest)
    except OSError:  # another container made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / "fs"


def prune(store_root: Path) -> None:
    """Remove the copies of layers whose snapshot is gone (its image was removed; no container can use it)."""
    snapshots = store_root / "snapshots"
    for per_map in (store_root / "idmapped").glob("*-*-*"):
        for copy in per_map.iterdir():
            if not copy.name.startswith(".") and not (snapshots / copy.name).is_dir():
                shutil.rmtree(copy, ignore_errors=True)


def prepare(m: dict[str, Any], store_root: Path) -> str:
    """Copies of the lower layers, and the container's own files given to its root; the overlay's mount data with
    the copies as lower dirs."""
    req = m["idmap"]
    maps = Mappings.from_document(req)
    lowers = req["paths"][:req["lowers"]]
    dest_root = copies_dir(store_root, maps)
    prune(store_root)
    copies = [str(shifted_copy(Path(p), dest_root, maps)) for p in lowers]
    uid, gid = req["root"]
    cdir = Path(req["paths"][req["lowers"]])
    for name in ("upper", "work", "hosts", "hostname", "resolv.conf"):
        p = cdir / name
        if p.exists() and os.lstat(p).st_uid == 0:
            os.lchown(p, uid, gid)
    opts = [o for o in m["data"].split(",") if not o.startswith("lowerdir=")]
    return ",".join(["lowerdir=" + ":".join(reversed(copies)), *opts])
