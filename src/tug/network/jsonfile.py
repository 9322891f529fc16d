"""JSON state files of the network room (attachment records, address tables) without `import json`.

The per-container monitor releases a container's network the moment it ends, while `tug run --rm` waits for it:
`json` imports `re` (~4 ms there), so these files are read and written with `_json`'s C scanner and encoder (the
code `json` itself uses), as tug.runtime.jsonio and tug.engine.runstate do for their rooms.
"""

from __future__ import annotations

import _json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo: dict = {}


_scan = _json.make_scanner(_Context())
_WS = " \t\r\n"


def _refuse(o: object) -> Any:
    raise TypeError(f"cannot encode {type(o).__name__} as JSON")


_encode = _json.make_encoder(None, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)


def loads(text: str) -> Any:
    """The value of a JSON text; ValueError when it is not one."""
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError(f"invalid JSON at offset {start}") from None
    if text[end:].strip(_WS):
        raise ValueError(f"extra data after the JSON value at offset {end}")
    return value


def dumps(value: Any) -> str:
    return "".join(_encode(value, 0))


def read(path: str) -> Any:
    """The file's value; OSError or ValueError as they come."""
    with open(path, encoding="utf-8") as f:
        return loads(f.read())


def write(path: str, value: Any, mode: int = 0o644) -> None:
    """Replace the file atomically (a temp file beside it, renamed over it)."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    with open(fd, "w", encoding="utf-8") as f:
        f.write(dumps(value))
    os.replace(tmp, path)
