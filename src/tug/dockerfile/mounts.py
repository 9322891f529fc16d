"""`RUN --mount=...` specifications: CSV `key=value` fields, checked and defaulted as docker does.

Types: bind (default), cache, tmpfs, secret, ssh. Values may hold variables; `from=` may not (docker asks for an alias
stage instead). Read-only defaults to True except for cache and tmpfs mounts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable

from tug.errors import Invalid
from tug.records import record

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_KEYS = ("type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro", "readwrite", "rw", "id",
         "sharing", "required", "size", "mode", "uid", "gid", "env")


@record(frozen=True)
class Mount:
    type: str = "bind"
    source: str = ""
    target: str = ""
    from_: str = ""
    readonly: bool = True
    id: str = ""
    sharing: str = ""
    required: bool = False
    size: int = 0
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    env: str | None = None


def ram_in_bytes(text: str) -> int:
    """docker's RAMInBytes: `64m`, `1.5g`, `512kb`, plain bytes; binary multiples."""
    m = _RAM.match(text)
    if not m:
        raise ValueError(text)
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[(m.group(2) or "").lower()]
    return int(float(m.group(1)) * mult)


def _bool(key: str, value: str) -> bool:
    v = value.lower()
    if v in ("1", "t", "true"):
        return True
    if v in ("0", "f", "false"):
        return False
    raise Invalid(f"invalid value for {key}: {value}")


def _uint(value: str, base: int, what: str) -> int:
    try:
        n = int(value, base)
    except ValueError:
        n = -1
    if n < 0 or n >= 1 << 32:
        raise Invalid(f"invalid value {value} for {what}")
    return n


def parse_mount(spec: str, expand: Callable[[str], str] | None = None) -> Mount:
    """One `--mount` value. With `expand`, values are expanded first; without it, values holding `$` are kept
    unchecked for a later call with the stage's variables."""
    try:
        fields = next(csv.reader([spec], skipinitialspace=False))
    except (csv.Error, StopIteration):
        raise Invalid(f"failed to parse csv mounts: {spec}") from None
    m: dict[str, object] = {"type": "bind"}
    ro_auto = True
    for fld in fields:
        key, eq, value = fld.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro", "readwrite", "rw"):
                m["readonly"] = key in ("readonly", "ro")
                ro_auto = False
            elif key == "required" and m["type"] in ("secret", "ssh"):
                m["required"] = True
            elif key == "required":
                raise Invalid(f"unexpected key '{key}' for mount type '{m['type']}'")
            else:
                raise Invalid(f"invalid field '{fld}' must be a key=value pair")
            continue
        if key not in _KEYS:
            raise Invalid(f"unexpected key '{key}' in '{fld}'")
        if key == "from" and "$" in value[:-1]:
            raise Invalid(f"'{key}' doesn't support variable expansion, define alias stage instead")
        if expand is not None:
            value = expand(value)
        elif "$" in value:
            if key in ("source", "src", "target", "dst", "destination", "id", "env"):
                m[_field(key)] = value
            continue
        ro_auto = _apply(m, key, fld, value) and ro_auto
    return _finish(m, ro_auto)


def _field(key: str) -> str:
    return {"src": "source", "dst": "target", "destination": "target", "from": "from_"}.get(key, key)


def _apply(m: dict[str, object], key: str, fld: str, value: str) -> bool:
    """Set one key; returns False when it decided read-only-ness explicitly."""
    kind = m["type"]
    if key == "type":
        if value.lower() not in MOUNT_TYPES:
            raise Invalid(f'unsupported mount type "{value}"')
        m["type"] = value.lower()
    elif key in ("from", "source", "src", "target", "dst", "destination", "id", "env"):
        m[_field(key)] = value
    elif key in ("readonly", "ro"):
        m["readonly"] = _bool(key, value)
        return False
    elif key in ("readwrite", "rw"):
        m["readonly"] = not _bool(key, value)
        return False
    elif key == "required":
        if kind not in ("secret", "ssh"):
            raise Invalid(f"unexpected key '{key}' for mount type '{kind}'")
        m["required"] = _bool(key, value)
    elif key == "size":
        if kind != "tmpfs":
            raise Invalid(f"unexpected key '{key}' for mount type '{kind}'")
        try:
            m["size"] = ram_in_bytes(value)
        except ValueError:
            raise Invalid(f"invalid value for {key}: {value}") from None
    elif key == "sharing":
        if value.lower() not in SHARING_MODES:
            raise Invalid(f'unsupported sharing value "{value}"')
        m["sharing"] = value.lower()
    elif key == "mode":
        m["mode"] = _uint(value, 8, "mode")
    elif key in ("uid", "gid"):
        m[key] = _uint(value, 10, key)
    else:
        raise Invalid(f"unexpected key '{key}' in '{fld}'")
    return True


def _finish(m: dict[str, object], ro_auto: bool) -> Mount:
    kind = str(m["type"])
    if kind not in ("secret", "ssh", "cache"):
        for key in ("mode", "uid", "gid"):
            if m.get(key) is not None:
                raise Invalid(f'{key} not allowed for "{kind}" type mounts')
    if ro_auto:
        m["readonly"] = kind not in ("cache", "tmpfs")
    if kind == "secret":
        if m.get("from_"):
            raise Invalid("secret mount should not have a from")
        if m.get("sharing"):
            raise Invalid("secret mount should not define sharing")
        if not m.get("source") and not m.get("target") and not m.get("id"):
            raise Invalid("invalid secret mount. one of source, target required")
        if m.get("source") and m.get("id"):
            raise Invalid("both source and id can't be set")
    if m.get("sharing") and kind != "cache":
        raise Invalid(f"invalid cache sharing set for {kind} mount")
    return Mount(**m)  # type: ignore[arg-type]
