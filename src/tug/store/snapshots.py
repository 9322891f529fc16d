"""Snapshots: one unpacked layer per chain id under `snapshots/<hex>/fs`, and the overlay mount that stacks them.

A snapshot is made once, under a lock on its chain id: the layer is unpacked into `snapshots/.tmp-<hex>-*`, its
diff id checked against the chain id, `layer.json` written beside `fs/`, the file system synced, and the directory
renamed into place in one step; only then is the layer row recorded. A crash leaves a temp directory that
`recover()` removes (its lock is free) or a complete directory whose row `recover()` restores from `layer.json`.

The store never mounts: `overlay_mount` returns a `MountSpec` that the engine performs in a private namespace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from tug.errors import Corrupt, Invalid, NotFound, Unavailable
from tug.oci.digest import Digest
from tug.records import field, record
from tug.store.layout import Layout
from tug.store.locks import lock
from tug.store.metadata import Metadata
from tug.sys import userns
from tug.sys.fs import fsync_dir, mark_topdir, syncfs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SHORT_LINKS = "l"  # snapshots/l/<16 hex> -> ../<hex>/fs, used when the lowerdir list would not fit in a page


@record(frozen=True)
class Snapshot:
    chain_id: Digest
    diff_id: Digest
    parent: Digest | None
    size: int  # bytes of file content unpacked
    path: Path  # the `fs` directory: the layer's tree, as an overlay lowerdir

    def __fspath__(self) -> str:
        return str(self.path)


@record(frozen=True)
class MountSpec:
    """A description of one overlay mount: `mount(source, target, fstype, 0, data)` after `chdir(cwd)`.

    `lowerdir` entries are relative to `cwd` (the snapshots directory) so that many layers fit in the one page the
    kernel accepts for mount data: the process that mounts MUST chdir to `cwd` first. Lower dirs are listed top
    first, as overlayfs wants them. `upperdir`/`workdir` are absolute.
    """

    fstype: str
    source: str
    target: Path
    options: list[str] = field(default_factory=list)
    cwd: Path | None = None

    @property
    def data(self) -> str:
        return ",".join(self.options)


def chain_of(parent: Digest | None, diff_id: Digest) -> Digest:
    return diff_id if parent is None else Digest.of(f"{parent} {diff_id}".encode())


class Snapshots:
    def __init__(self, layout: Layout, metadata: Metadata) -> None:
        self.layout = layout
        self.md = metadata
        self._spread = False

    @property
    def root(self) -> Path:
        return self.layout.snapshots

    def _dir(self, chain_id: Digest) -> Path:
        return self.root / chain_id.hex

    def path(self, chain_id: Digest) -> Path:
        return self._dir(chain_id) / "fs"

    def exists(self, chain_id: Digest) -> bool:
        return (self._dir(chain_id) / "layer.json").is_file()

    def get(self, chain_id: Digest) -> Snapshot | None:
        """The snapshot if it is complete on disk (its row is restored if a crash lost it)."""
        try:
            doc = json.loads((self._dir(chain_id) / "layer.json").read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            raise Corrupt(f"snapshot {chain_id} has a broken layer.json", where=str(self._dir(chain_id))) from None
        snap = Snapshot(chain_id, Digest.parse(doc["diff_id"]),
                        Digest.parse(doc["parent"]) if doc.get("parent") else None, int(doc["size"]),
                        self.path(chain_id))
        if self.md.get_layer(chain_id) is None:
            self.md.add_layer(chain_id, snap.diff_id, snap.parent, snap.size)
        return snap

    def ensure(self, chain_id: Digest, parent: Digest | None, opener: Callable[[], BinaryIO], compression: str,
               diff_id: Digest | None = None, before_publish: Callable[[], None] | None = None) -> Snapshot:
        """The snapshot of `chain_id`, unpacking the layer `opener()` gives if it is not there yet.

        Concurrent callers for one chain id unpack it once (the others wait on the lock and find it). The unpacked
        diff id must give `chain_id` on top of `parent` (and equal `diff_id` when given), or Corrupt.
        `before_publish()` runs after the unpack and before the snapshot is made visible; if it raises, nothing is
        kept (a pull that unpacks a blob while downloading it waits there for the blob's digest to be verified).
        """
        with lock(self.layout, f"snapshot-{chain_id.hex}"):
            found = self.get(chain_id)
            if found is not None:
                return found
            self._prepare_root()
            import shutil
            import tempfile

            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{chain_id.hex}-", dir=self.root))
            try:
                snap = self._unpack(tmp, chain_id, parent, opener, compression, diff_id)
                if before_publish is not None:
                    before_publish()
                os.rename(tmp, self._dir(chain_id))
                fsync_dir(self.root)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self.md.add_layer(chain_id, snap.diff_id, parent, snap.size)
            return snap

    def _prepare_root(self) -> None:
        """snapshots/ exists and spreads the trees made in it over the file system (`mark_topdir`), once a process."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._spread:
            mark_topdir(self.root)
            self._spread = True

    def _unpack(self, tmp: Path, chain_id: Digest, parent: Digest | None, opener: Callable[[], BinaryIO],
                compression: str, diff_id: Digest | None) -> Snapshot:
        os.chmod(tmp, 0o700)
        fs_dir = tmp / "fs"
        fs_dir.mkdir(mode=0o755)
        with opener() as stream:
            from tug.store.layers import apply_layer  # lazy: tarfile and friends only when unpacking
            result = apply_layer(stream, compression, fs_dir, where=f"layer {chain_id}")
        got = chain_of(parent, result.diff_id)
        if got != chain_id:
            raise Corrupt(f"layer unpacks to diff id {result.diff_id}, giving chain id {got}, expected {chain_id}",
                          where=str(chain_id))
        if diff_id is not None and diff_id != result.diff_id:
            raise Corrupt(f"layer unpacks to diff id {result.diff_id}, expected {diff_id}", where=str(chain_id))
        doc = {"chain_id": str(chain_id), "diff_id": str(result.diff_id),
               "parent": str(parent) if parent else None, "size": result.size}
        (tmp / "layer.json").write_text(json.dumps(doc) + "\n")
        syncfs(tmp)
        return Snapshot(chain_id, result.diff_id, parent, result.size, self.path(chain_id))

    def remove(self, chain_id: Digest) -> None:
        """Delete a snapshot (no error if it is gone). Whether anything still uses it is the caller's question."""
        with lock(self.layout, f"snapshot-{chain_id.hex}"):
            d = self._dir(chain_id)
            doomed = None
            if d.exists():
                import shutil
                import tempfile

                doomed = Path(tempfile.mkdtemp(prefix=f".rm-{chain_id.hex}-", dir=self.root))
                os.rename(d, doomed / "x")  # one atomic step out of sight, then the slow part
                fsync_dir(self.root)
            self.md.delete_layer(chain_id)
            short = self.root / SHORT_LINKS / chain_id.hex[:16]
            if short.is_symlink():
                short.unlink()
            if doomed is not None:
                shutil.rmtree(doomed)

    def recover(self) -> list[str]:
        """Remove what crashed extractions and removals left (temp dirs whose lock is free). Returns their names."""
        import shutil

        removed = []
        if not self.root.is_dir():
            return removed
        for p in self.root.iterdir():
            if not p.name.startswith((".tmp-", ".rm-")):
                continue
            hexpart = p.name.split("-")[1]
            try:
                with lock(self.layout, f"snapshot-{hexpart}", blocking=False):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p.name)
            except (Unavailable, Invalid):
                continue
        for row in self.md.list_layers():  # rows whose directory a crashed remove() already took away
            chain = Digest.parse(row["chain_id"])
            if not self.exists(chain):
                self.md.delete_layer(chain)
        return removed

    # -- the overlay mount ----------------------------------------------------------------------------------------

    def overlay_mount(self, chain_ids: list[Digest], upper: Path, work: Path, target: Path) -> MountSpec:
        """Describe the overlay of these snapshots (bottom to top) with `upper`/`work` onto `target`."""
        if not chain_ids:
            raise Invalid("an overlay needs at least one layer")
        for c in chain_ids:
            if not self.exists(c):
                raise NotFound(f"snapshot of layer {c} is not in the store", where=str(self._dir(c)),
                               hint="pull the image again")
        for p in (upper, work):
            if any(ch in str(p) for ch in ",:\\"):
                raise Invalid(f"overlay directory {p} has a ',', ':' or '\\' in its path", where=str(p))
        # index=off as docker sets it: with the inodes index on, sharing lower layers between many overlays (every
        # container of an image) can fail with EBUSY on kernels whose default is index=on
        tail = [f"upperdir={Path(upper).absolute()}", f"workdir={Path(work).absolute()}", "index=off"]
        if not userns.in_initial():  # rootless (issue 7): markers in user.overlay.* xattrs
            tail.append("userxattr")
        top_first = list(reversed(chain_ids))
        lower = "lowerdir=" + ":".join(f"{c.hex}/fs" for c in top_first)
        if len(",".join([lower, *tail])) >= PAGE_SIZE:
            lower = "lowerdir=" + ":".join(self._short_link(c) for c in top_first)
            if len(",".join([lower, *tail])) >= PAGE_SIZE:
                raise Invalid(f"too many layers ({len(chain_ids)}) for one overlay mount")
        return MountSpec("overlay", "overlay", Path(target), [lower, *tail], cwd=self.root)

    def _short_link(self, chain_id: Digest) -> str:
        name = chain_id.hex[:16]
        links = self.root / SHORT_LINKS
        links.mkdir(exist_ok=True)
        link = links / name
        want = f"../{chain_id.hex}/fs"
        if not link.is_symlink() or os.readlink(link) != want:
            tmp = links / f".{name}.{os.getpid()}"
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(want, tmp)
            os.replace(tmp, link)
        return f"{SHORT_LINKS}/{name}"
