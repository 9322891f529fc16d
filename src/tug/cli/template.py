"""A subset of Go's text/template as docker's `--format` uses it.

Supported: `{{.Field}}`, `{{.A.B}}`, `{{json .X}}`, `{{json .}}`, `{{upper .X}}`, `{{lower .X}}`, `{{index .Map "k"}}`,
`{{join .List ", "}}`, `{{println ...}}`, literal text with `\\t`/`\\n`, and a leading `table` (header row from the
field names, aligned like docker's tables).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from tug.errors import Invalid

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")


def _lookup(data: Any, path: str) -> Any:
    if path == ".":
        return data
    cur = data
    for part in path.lstrip(".").split("."):
        if isinstance(cur, dict):
            if part not in cur:
                raise Invalid(f"template: can't evaluate field {part}")
            cur = cur[part]
        else:
            cur = getattr(cur, part, None)
    return cur


def _str(v: Any) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_str(x)}" for k, x in sorted(v.items())) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_str(x) for x in v) + "]"
    return str(v)


def _eval(expr: str, data: Any) -> str:
    try:
        words = shlex.split(expr)
    except ValueError:
        raise Invalid(f"template: bad action {{{{{expr}}}}}") from None
    if not words:
        return ""
    fn, args = words[0], words[1:]
    if fn.startswith("."):
        return _str(_lookup(data, fn))
    vals = [_lookup(data, a) if a.startswith(".") else a for a in args]
    if fn == "json":
        return json.dumps(vals[0] if vals else data)
    if fn == "upper":
        return _str(vals[0]).upper()
    if fn == "lower":
        return _str(vals[0]).lower()
    if fn == "index":
        container, key = vals[0], vals[1]
        return _str(container.get(key) if isinstance(container, dict) else container[int(key)])
    if fn == "join":
        return str(vals[1]).join(_str(v) for v in (vals[0] or []))
    if fn == "println":
        return " ".join(_str(v) for v in vals) + "\n"
    raise Invalid(f'template: function "{fn}" not defined')


def render(fmt: str, data: Any) -> str:
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return _ACTION.sub(lambda m: _eval(m.group(1), data), fmt)


def _header(fmt: str) -> str:
    def name(m: re.Match[str]) -> str:
        words = m.group(1).split()
        field = next((w for w in words if w.startswith(".")), "")
        label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", field.lstrip(".").split(".")[-1]).upper()
        return {"ID": "CONTAINER ID", "CREATED SINCE": "CREATED", "CREATED AT": "CREATED AT"}.get(label, label)

    return _ACTION.sub(name, fmt)


def render_rows(fmt: str, rows: list[Any], header_names: dict[str, str] | None = None) -> str:
    """Render each row; with `table ...` add a header and align the columns."""
    if fmt.startswith("table"):
        body = fmt[len("table"):].strip()
        from tug.cli.format import table

        body = body.replace("\\t", "\t")
        head = _header(body)
        if header_names:
            for k, v in header_names.items():
                head = head.replace(k, v)
        lines = [head.split("\t")] + [render(body, r).split("\t") for r in rows]
        return table(lines)
    return "".join(render(fmt, r) + "\n" for r in rows)
