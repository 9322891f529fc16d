"""Parsing of `-v`, `--mount` and `--tmpfs` into `MountRequest`s, with docker's rules and error texts.

The engine calls `requested_mounts()` first to learn which volumes it must create (named ones and anonymous ones,
including the image's VOLUMEs) and which bind sources must exist or be created; `spec.mounts` then turns the same
requests into config.json entries using the host paths the engine put in HostFacts.
"""

from __future__ import annotations

import posixpath
import re

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.records import field, record
from tug.spec.options import RunOptions
from tug.spec.sizes import ram_in_bytes, tmpfs_size_option

PROPAGATIONS = ("private", "rprivate", "slave", "rslave", "shared", "rshared")
_RW = ("rw", "ro")
_LABEL = ("z", "Z")
_COPY = ("nocopy",)
_CONSISTENCY = ("consistent", "cached", "delegated")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# tmpfs options docker accepts: mount flags (later ones win within a kind) and these data keys
_TMPFS_FLAGS = {
    "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid", "dev": "nodev", "nodev": "nodev",
    "exec": "noexec", "noexec": "noexec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
    "remount": "remount", "mand": "mand", "nomand": "mand", "atime": "noatime", "noatime": "noatime",
    "diratime": "nodiratime", "nodiratime": "nodiratime", "relatime": "relatime", "norelatime": "relatime",
    "strictatime": "strictatime", "nostrictatime": "strictatime",
    **{p: "propagation" for p in (*PROPAGATIONS, "bind", "rbind", "unbindable", "runbindable")},
}
_TMPFS_DATA = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")
TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev", "rprivate"]


@record(frozen=True)
class MountRequest:
    kind: str  # "bind" | "volume" | "tmpfs"
    target: str
    source: str = ""  # bind: host path; volume: name ("" = anonymous)
    readonly: bool = False
    propagation: str = ""  # "" = rprivate
    recursive: str = "enabled"  # bind-recursive: enabled | disabled | writable | readonly
    tmpfs_options: tuple[str, ...] = ()  # merged tmpfs options (flags and data)
    create_source: bool = False  # -v creates a missing host directory; --mount does not unless bind-create-src
    nocopy: bool = False
    subpath: str = ""
    origin: str = "-v"
    extra: dict[str, str] = field(default_factory=dict)


def _clean(p: str) -> str:
    return posixpath.normpath(p).replace("//", "/") if p else p


def _check_target(target: str) -> str | None:
    if not target:
        return "field Target must not be empty"
    if not target.startswith("/"):
        return f"invalid mount path: '{target}' mount path must be absolute"
    if _clean(target) == "/":
        return "invalid specification: destination can't be '/'"
    return None


def _valid_mode(mode: str) -> bool:
    if mode == "":
        return True
    counts = {"rw": 0, "label": 0, "prop": 0, "copy": 0, "cons": 0}
    for o in mode.split(","):
        kind = ("rw" if o in _RW else "label" if o in _LABEL else "prop" if o in PROPAGATIONS
                else "copy" if o in _COPY else "cons" if o in _CONSISTENCY else None)
        if kind is None:
            return False
        counts[kind] += 1
    return all(n <= 1 for n in counts.values())


def parse_volume(raw: str) -> MountRequest:
    """`-v [SRC:]DST[:MODE]`: SRC absolute = bind, else a named volume; no SRC = an anonymous volume."""
    bad = f"invalid volume specification: '{raw}'"
    arr = raw.split(":", 3)
    if arr[0] == "":
        raise Invalid(bad)
    mode = ""
    if len(arr) == 1:
        source, target = "", arr[0]
    elif len(arr) == 2:
        if _valid_mode(arr[1]):
            raise Invalid(bad)
        source, target = arr
    elif len(arr) == 3:
        source, target, mode = arr
    else:
        raise Invalid(bad)
    if not _valid_mode(mode):
        raise Invalid(f"invalid mode: {mode}")
    opts = mode.split(",") if mode else []
    kind = "bind" if source.startswith("/") else "volume"
    propagation = next((o for o in opts if o in PROPAGATIONS), "")
    err = _check_target(target)
    if err:
        raise Invalid(f"{bad}: {err}")
    if kind == "volume" and propagation:
        raise Invalid(f"{bad}: field BindOptions must not be specified")
    if kind == "bind" and "nocopy" in opts:
        raise Invalid(f"{bad}: field VolumeOptions must not be specified")
    if kind == "volume" and source and not _VOLUME_NAME.match(source):
        raise Invalid(
            f'"{source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
            "are allowed. If you intended to pass a host directory, use absolute path"
        )
    return MountRequest(
        kind=kind, target=_clean(target), source=_clean(source) if kind == "bind" else source,
        readonly="ro" in opts, propagation=propagation, create_source=kind == "bind", nocopy="nocopy" in opts,
        origin="-v",
    )


def _mount_bool(key: str, val: str, has_value: bool) -> bool:
    if not has_value or val in ("1", "true"):
        return True
    if val in ("0", "false"):
        return False
    raise Invalid(f"invalid value for '{key}': invalid boolean value ({val!r}): must be one of \"true\", \"1\", "
                  '"false", or "0" (default "true")')


@record
class _MountFields:
    kind: str = "volume"  # docker's default type
    source: str = ""
    target: str = ""
    readonly: bool = False
    propagation: str = ""
    recursive: str = "enabled"
    create_src: bool = False
    nocopy: bool = False
    subpath: str = ""
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    groups: set[str] = field(default_factory=set)  # option families used: bind-*, volume-*, tmpfs-*


_BOOLEAN_KEYS = ("readonly", "ro", "volume-nocopy", "bind-create-src", "bind-nonrecursive")


def _mount_field(f: _MountFields, key: str, val: str, has_value: bool, caller_cwd: str) -> str | None:
    """Apply one `key=value` of --mount; returns an error text or None."""
    if key == "type":
        f.kind = val.lower()
    elif key in ("source", "src"):
        f.source = _clean(posixpath.join(caller_cwd, val)) if val.startswith(".") else val
    elif key in ("target", "dst", "destination"):
        f.target = val
    elif key in ("readonly", "ro"):
        f.readonly = _mount_bool(key, val, has_value)
    elif key == "consistency":
        pass
    elif key == "bind-nonrecursive":
        return "bind-nonrecursive is deprecated, use bind-recursive=disabled instead"
    elif key.startswith("bind-"):
        f.groups.add("bind")
        if key == "bind-propagation":
            f.propagation = val.lower()
        elif key == "bind-recursive":
            if val not in ("enabled", "disabled", "writable", "readonly"):
                return f'invalid value for {key}: {val} (must be "enabled", "disabled", "writable", or "readonly")'
            f.recursive = val
        elif key == "bind-create-src":
            f.create_src = _mount_bool(key, val, has_value)
        else:
            return f"unknown option '{key}'"
    elif key.startswith("volume-"):
        f.groups.add("volume")
        if key == "volume-subpath":
            f.subpath = val
        elif key == "volume-nocopy":
            f.nocopy = _mount_bool(key, val, has_value)
        elif key == "volume-driver" and val != "local":
            return f"volume driver {val!r} is not supported (only \"local\")"
        elif key not in ("volume-label", "volume-driver", "volume-opt"):
            return f"unknown option '{key}'"
    elif key in ("tmpfs-size", "tmpfs-mode"):
        f.groups.add("tmpfs")
        try:
            if key == "tmpfs-size":
                f.tmpfs_size = ram_in_bytes(val, key)
            else:
                f.tmpfs_mode = int(val, 8)
        except (Invalid, ValueError):
            return f"invalid value for {key}: {val}"
    else:
        return f"unknown option '{key}'"
    return None


def _mount_fields(raw: str, caller_cwd: str) -> _MountFields:
    def fail(msg: str) -> Invalid:
        return Invalid(f"invalid argument {raw!r} for \"--mount\" flag: {msg}")

    value = raw.strip()
    if not value:
        raise fail("value is empty")
    import csv  # only for --mount

    try:
        items = next(csv.reader([value]))
    except csv.Error as e:
        raise fail(str(e)) from None
    f = _MountFields()
    for item in items:
        key, eq, val = item.partition("=")
        has_value = bool(eq)
        if key.strip() != key:
            raise fail(f"invalid option '{key.strip()}' in '{item}': option should not have whitespace")
        if has_value and val.strip() == "":
            raise fail(f"invalid value for '{key}': value is empty")
        if has_value and val.strip() != val:
            raise fail(f"invalid value for '{key}' in '{item}': value should not have whitespace")
        key = key.lower()
        if not has_value and key not in _BOOLEAN_KEYS:
            raise fail(f"invalid field '{item}' must be a key=value pair")
        err = _mount_field(f, key, val, has_value, caller_cwd)
        if err:
            raise fail(err if not err.startswith("unknown option") else f"{err} in '{item}'")
    for g in sorted(f.groups):
        if g != f.kind:
            raise fail(f"cannot mix '{g}-*' options with mount type '{f.kind}'")
    if f.recursive in ("writable", "readonly") and not f.readonly:
        raise fail(f"option 'bind-recursive={f.recursive}' requires 'readonly' to be specified in conjunction")
    if f.recursive == "readonly" and f.propagation != "rprivate":
        raise fail("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified "
                   "in conjunction")
    return f


def parse_mount(raw: str, caller_cwd: str = "/") -> MountRequest:
    """`--mount type=bind|volume|tmpfs,src=...,dst=...,...` (CSV, docker's keys), then the daemon's checks."""
    f = _mount_fields(raw, caller_cwd)

    def conf(msg: str) -> Invalid:
        return Invalid(f"invalid mount config for type \"{f.kind}\": {msg}")

    if f.kind not in ("bind", "volume", "tmpfs"):
        if f.kind in ("image", "cluster", "npipe"):
            raise conf(f"mount type {f.kind} is not supported by tug")
        raise conf("mount type unknown")
    err = _check_target(f.target)
    if err:
        raise conf(err)
    source, tmpfs_opts = f.source, ()
    if f.kind == "bind":
        if not source:
            raise conf("field Source must not be empty")
        if f.propagation and f.propagation not in PROPAGATIONS:
            raise conf(f"invalid propagation mode: {f.propagation}")
        if not source.startswith("/"):
            raise conf(f"invalid mount path: '{source}' mount path must be absolute")
        source = _clean(source)
    elif f.kind == "volume":
        if f.subpath and not source:
            raise conf("must not set Subpath when using anonymous volumes")
        if f.subpath and (f.subpath.startswith("/") or ".." in f.subpath.split("/")):
            raise conf("subpath must be a relative path within the volume")
        if source and not _VOLUME_NAME.match(source):
            raise conf(f'"{source}" includes invalid characters for a local volume name')
    else:
        if source:
            raise conf("field Source must not be specified")
        data = ["ro"] if f.readonly else []
        if f.tmpfs_mode:
            data.append(f"mode={f.tmpfs_mode:o}")
        if f.tmpfs_size:
            data.append(f"size={tmpfs_size_option(f.tmpfs_size)}")
        tmpfs_opts = tuple(merge_tmpfs_options([*TMPFS_DEFAULTS, *data]))
    return MountRequest(
        kind=f.kind, target=_clean(f.target), source=source, readonly=f.readonly, propagation=f.propagation,
        recursive=f.recursive, tmpfs_options=tmpfs_opts, create_source=f.create_src, nocopy=f.nocopy,
        subpath=f.subpath, origin="--mount",
    )


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """Later options win within a kind (ro/rw, exec/noexec, size=, ...); unknown options are an error."""
    seen: set[str] = set()
    out: list[str] = []
    for opt in reversed(options):
        if opt in ("", "defaults"):
            continue
        if opt in _TMPFS_FLAGS:
            key = _TMPFS_FLAGS[opt]
        else:
            name, eq, _ = opt.partition("=")
            if not eq or name not in _TMPFS_DATA:
                raise Invalid(f"invalid tmpfs option {name!r}")
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            out.insert(0, opt)
    return out


def parse_tmpfs(raw: str) -> MountRequest:
    """`--tmpfs /path[:opts]`: docker's defaults noexec,nosuid,nodev,rprivate, then the user's options."""
    target, _, data = raw.partition(":")
    err = _check_target(target)
    if err:
        raise Invalid(f"invalid tmpfs mount {raw!r}: {err}")
    opts = merge_tmpfs_options([*TMPFS_DEFAULTS, *(data.split(",") if data else [])])
    return MountRequest(kind="tmpfs", target=_clean(target), tmpfs_options=tuple(opts), origin="--tmpfs",
                        readonly="ro" in opts)


def requested_mounts(opts: RunOptions, image: ImageConfig | None = None, caller_cwd: str = "/") -> list[MountRequest]:
    """Every mount the user asked for, plus anonymous volumes for image VOLUMEs nobody covered."""
    reqs = [parse_volume(v) for v in opts.volumes]
    reqs += [parse_mount(m, caller_cwd) for m in opts.mounts]
    reqs += [parse_tmpfs(t) for t in opts.tmpfs]
    seen: set[str] = set()
    for r in reqs:
        if r.target in seen:
            raise Invalid(f"Duplicate mount point: {r.target}")
        seen.add(r.target)
    if image is not None:
        for v in image.volumes:
            t = _clean(v)
            if t and t.startswith("/") and t not in seen:
                seen.add(t)
                reqs.append(MountRequest(kind="volume", target=t, origin="image VOLUME"))
    return reqs
