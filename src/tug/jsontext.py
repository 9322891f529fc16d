"""JSON without the `json` package, for the processes whose start-up is measured: tug-runtime, the container
monitor and `tug run` (`json` imports `re` and its `enum`: ~4-6 ms here).

These are `_json`'s C scanner and encoder, the code `json` itself runs, with the settings tug uses: `loads` of one
JSON text (NaN and Infinity accepted, as `json` accepts them), `dumps` with `json`'s default separators or compact
ones, and atomic files. One home for what the runtime, the monitor's run directory and the network room each had.
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
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.lower().replace("infinity", "inf"))


_scan = _json.make_scanner(_Context())
_WS = " \t\n\r"


def loads(text: str | bytes) -> Any:
    """The value of one JSON text (bytes are UTF-8, with or without a BOM); ValueError, with the offset, when it is
    not one."""
    if isinstance(text, bytes):  # no "utf-8-sig" codec lookup: that is an import too
        text = (text[3:] if text.startswith(b"\xef\xbb\xbf") else text).decode("utf-8")
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration as e:
        raise ValueError(f"invalid JSON at offset {e.value}") from None
    except ValueError as e:  # what the scanner says of a bad object, string or escape
        raise ValueError(f"invalid JSON: {e}") from None
    if text[end:].strip(_WS):
        raise ValueError(f"extra data after the JSON value at offset {end}")
    return value


def _refuse(o: object) -> Any:
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


# (markers, default, encoder, indent, key separator, item separator, sort_keys, skipkeys, allow_nan)
_spaced = _json.make_encoder(None, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)
_compact = _json.make_encoder(None, _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, True)


def dumps(value: Any, compact: bool = False) -> str:
    """JSON text of plain data (dict, list, tuple, str, int, float, bool, None), ASCII-only; `json.dumps`'s
    separators, or none of their spaces with `compact`."""
    return "".join((_compact if compact else _spaced)(value, 0))


def read_file(path: str) -> Any:
    """The value in a JSON file; OSError or ValueError as they come."""
    with open(path, "rb") as f:
        return loads(f.read())


def write_file(path: str, value: Any, mode: int = 0o644) -> None:
    """Replace the file atomically: a temp file beside it (named for this process), renamed over it."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        with open(fd, "w", encoding="utf-8", closefd=True) as f:
            f.write(dumps(value))
    except BaseException:
        os.unlink(tmp)
        raise
    os.replace(tmp, path)
