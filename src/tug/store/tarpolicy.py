"""What a layer's tar entry means and what of it we keep: pure decisions, no file system.

`classify` turns one `tarfile.TarInfo` into an `Entry`: a normalised path (a tuple of components, `()` is the
layer's root), a kind (with AUFS-style whiteouts recognised), numeric owners, the mode with setuid/setgid/sticky,
device numbers, nanosecond times and the xattrs worth keeping. Anything that could point outside the layer (an
absolute name, a `..` component, in the entry's name or a hard link's target) is refused with `Invalid` naming
the entry. Names of users and groups in the archive are never looked at.
"""

from __future__ import annotations

import base64
import tarfile
from decimal import Decimal, InvalidOperation
from enum import Enum

from tug.errors import Invalid
from tug.records import field, record

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
WHITEOUT_META_PREFIX = ".wh..wh."  # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): never content

# xattrs the snapshot format owns (overlayfs keeps its whiteout/opaque/redirect state there): an image must not
# smuggle them in. Whiteouts arrive as .wh. names and are turned into overlay's own form by the writer.
DROPPED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


class Kind(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    WHITEOUT = "whiteout"  # delete `path` from the layers below
    OPAQUE = "opaque"  # hide everything the layers below hold in the directory `path`
    SKIP = "skip"  # bookkeeping entries that carry no content


@record(frozen=True)
class Entry:
    name: str  # as written in the archive, for messages
    path: tuple[str, ...]
    kind: Kind
    mode: int = 0o644  # permission bits, setuid/setgid/sticky included (07777)
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime_ns: int = 0
    atime_ns: int = 0
    linkname: str = ""  # a symlink's target, verbatim
    link_path: tuple[str, ...] = ()  # a hard link's target, normalised
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return "/".join(self.path) or "/"


def normalize_name(name: str, *, entry: str | None = None, what: str = "entry") -> tuple[str, ...]:
    """Components of an archive path. `./a//b/` -> ('a', 'b'); `.` and `./` -> () (the root).

    Refuses absolute names and any `..` component: a layer has no business naming anything above a directory, and
    a lexically clean path is the first of two walls (the writer resolves inside the root as the second).
    """
    label = entry if entry is not None else name
    if name.startswith("/"):
        raise Invalid(f"tar {what} {label!r} has an absolute path", where=label)
    if "\x00" in name:
        raise Invalid(f"tar {what} {label!r} has a NUL byte in its name", where=label)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise Invalid(f"tar {what} {label!r} has a '..' component", where=label)
    return parts


def keep_xattr(key: str) -> bool:
    return not key.startswith(DROPPED_XATTR_PREFIXES)


def xattrs_from_pax(pax: dict[str, str]) -> dict[str, bytes]:
    """xattrs from PAX records: `SCHILY.xattr.KEY` (GNU tar, docker) and `LIBARCHIVE.xattr.KEY` (base64 values).

    tarfile decodes record values as UTF-8 with surrogateescape, so encoding them back gives the original bytes.
    """
    out: dict[str, bytes] = {}
    for rec, value in pax.items():
        if rec.startswith("SCHILY.xattr."):
            key = rec[len("SCHILY.xattr."):]
            raw = value.encode("utf-8", "surrogateescape")
        elif rec.startswith("LIBARCHIVE.xattr."):
            key = rec[len("LIBARCHIVE.xattr."):]
            try:
                raw = base64.b64decode(value + "=" * (-len(value) % 4))
            except ValueError:
                continue
        else:
            continue
        if key and keep_xattr(key):
            out[key] = raw
    return out


def _time_ns(pax: dict[str, str], key: str, fallback: float) -> int:
    text = pax.get(key)
    if text is not None:
        try:
            return int(Decimal(text) * 1_000_000_000)
        except InvalidOperation:
            pass
    return int(Decimal(str(fallback)) * 1_000_000_000)


def _kind_of(ti: tarfile.TarInfo) -> Kind | None:
    if ti.isreg():  # REGTYPE, AREGTYPE, CONTTYPE and GNU sparse files
        return Kind.FILE
    return {
        tarfile.DIRTYPE: Kind.DIR,
        tarfile.SYMTYPE: Kind.SYMLINK,
        tarfile.LNKTYPE: Kind.HARDLINK,
        tarfile.CHRTYPE: Kind.CHAR,
        tarfile.BLKTYPE: Kind.BLOCK,
        tarfile.FIFOTYPE: Kind.FIFO,
    }.get(ti.type)


def classify(ti: tarfile.TarInfo) -> Entry:
    """The decision for one archive member; raises Invalid for entries that must not be applied."""
    name = ti.name
    path = normalize_name(name)
    kind = _kind_of(ti)
    if kind is None:
        raise Invalid(f"tar entry {name!r} has an unsupported type {ti.type!r}", where=name)
    base = path[-1] if path else ""
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_MARKER:
            return Entry(name=name, path=path[:-1], kind=Kind.OPAQUE)
        if base.startswith(WHITEOUT_META_PREFIX):
            return Entry(name=name, path=path, kind=Kind.SKIP)
        target = base[len(WHITEOUT_PREFIX):]
        if not target or target in (".", ".."):
            raise Invalid(f"tar entry {name!r} is a whiteout of nothing", where=name)
        return Entry(name=name, path=path[:-1] + (target,), kind=Kind.WHITEOUT)
    if not path and kind is not Kind.DIR:
        raise Invalid(f"tar entry {name!r} would replace the layer's root with a {kind.value}", where=name)
    if ti.uid < 0 or ti.gid < 0:
        raise Invalid(f"tar entry {name!r} has a negative owner", where=name)
    pax = ti.pax_headers or {}
    mtime_ns = _time_ns(pax, "mtime", ti.mtime)
    link_path: tuple[str, ...] = ()
    if kind is Kind.HARDLINK:
        link_path = normalize_name(ti.linkname, entry=name, what="hard link target of")
        if not link_path:
            raise Invalid(f"tar entry {name!r} is a hard link to the layer's root", where=name)
        if link_path == path:
            raise Invalid(f"tar entry {name!r} is a hard link to itself", where=name)
    elif kind is Kind.SYMLINK and not ti.linkname:
        raise Invalid(f"tar entry {name!r} is a symlink with an empty target", where=name)
    return Entry(
        name=name,
        path=path,
        kind=kind,
        mode=ti.mode & 0o7777,
        uid=ti.uid,
        gid=ti.gid,
        size=ti.size if kind is Kind.FILE else 0,
        mtime_ns=mtime_ns,
        atime_ns=_time_ns(pax, "atime", ti.mtime) if "atime" in pax else mtime_ns,
        linkname=ti.linkname if kind is Kind.SYMLINK else "",
        link_path=link_path,
        devmajor=ti.devmajor if kind in (Kind.CHAR, Kind.BLOCK) else 0,
        devminor=ti.devminor if kind in (Kind.CHAR, Kind.BLOCK) else 0,
        xattrs=xattrs_from_pax(pax),
    )
