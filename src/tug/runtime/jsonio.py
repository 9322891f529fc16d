"""The runtime's JSON: `tug.jsontext` (no `json` package: tug-runtime starts on every container start, and `json`
pulls in `re`), with errors as `Invalid` naming the file, and the tab-indented form `runc spec` writes.
"""

from __future__ import annotations

import _json

from tug import jsontext
from tug.errors import Invalid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def loads(text: str | bytes, where: str = "JSON") -> Any:
    try:
        return jsontext.loads(text)
    except (ValueError, UnicodeDecodeError) as e:  # _json raises plain ValueErrors for bad escapes too
        raise Invalid(f"{where}: {e}", where=where) from None


def dumps(value: Any, pretty: bool = False) -> str:
    """Compact JSON, or tab-indented like `runc spec` writes it."""
    if not pretty:
        return jsontext.dumps(value, compact=True)
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
        out.append(jsontext.dumps(value, compact=True))
