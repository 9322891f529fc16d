"""JSON without `import json`: the runtime starts on every container start, and `json` pulls in `re` (~6 ms).

`_json`'s C scanner and encoder are the same code `json` uses; this module only supplies their settings.
"""

from __future__ import annotations

import _json

from tug.errors import Invalid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _DecodeContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.lower().replace("infinity", "inf"))


_scan = _json.make_scanner(_DecodeContext())
_WS = " \t\n\r"


def loads(text: str | bytes, where: str = "JSON") -> Any:
    if isinstance(text, bytes):  # utf-8 with an optional BOM (no "utf-8-sig" codec lookup: it is an import)
        text = (text[3:] if text.startswith(b"\xef\xbb\xbf") else text).decode("utf-8")
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration as e:
        raise Invalid(f"{where}: invalid JSON at offset {e.value}", where=where) from None
    except ValueError as e:  # _json raises JSONDecodeError-less ValueErrors for bad escapes
        raise Invalid(f"{where}: invalid JSON: {e}", where=where) from None
    if text[end:].strip(_WS):
        raise Invalid(f"{where}: extra data after the JSON value at offset {end}", where=where)
    return value


_encode_compact = _json.make_encoder(None, lambda o: _default(o), _json.encode_basestring_ascii, None, ":", ",",
                                     False, False, True)


def _default(o: Any) -> Any:
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def dumps(value: Any, pretty: bool = False) -> str:
    """Compact JSON, or tab-indented like `runc spec` writes it."""
    if not pretty:
        return "".join(_encode_compact(value, 0))
    out: list[str] = []
    _pretty(value, "", out)
    return "".join(out)


def _pretty(value: Any, indent: str, out: list[str]) -> None:
    inner = indent + "\t"
    if isinstance(value, dict) and value:
        out.append("{\n")
        for i, (k, v) in enumerate(value.items()):
            out.append(f"{inner}{_json.encode_basestring_ascii(k)}: ")
            _pretty(v, inner, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(indent + "}")
    elif isinstance(value, list) and value:
        out.append("[\n")
        for i, v in enumerate(value):
            out.append(inner)
            _pretty(v, inner, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(indent + "]")
    else:
        out.append("".join(_encode_compact(value, 0)))
