"""Instruction flags (`--from=x`, `--link`, `--mount=...` repeated) and Go-style durations, checked as docker does."""

from __future__ import annotations

import re

from tug.errors import Invalid
from tug.records import field, record

BOOL, STRING, STRINGS = "bool", "string", "strings"


@record
class FlagValues:
    values: dict[str, object] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)

    def str(self, name: str) -> str:
        return str(self.values.get(name, ""))

    def bool(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def opt_bool(self, name: str) -> bool | None:
        return bool(self.values[name]) if name in self.used else None

    def list(self, name: str) -> list[str]:
        v = self.values.get(name, [])
        return list(v) if isinstance(v, list) else []


def parse_flags(args: list[str], spec: dict[str, tuple[str, object]]) -> FlagValues:
    """Parse raw flag words against `spec` (name -> (kind, default)). Raises Invalid with docker's wording."""
    out = FlagValues({name: (list(default) if kind == STRINGS else default)  # type: ignore[call-overload]
                      for name, (kind, default) in spec.items()})
    for arg in args:
        if arg == "--":
            break
        if not arg.startswith("--"):
            raise Invalid(f"arg should start with -- : {arg}")
        flag_name, has_value, value = arg.partition("=")
        name = flag_name[2:]
        if name not in spec:
            raise Invalid(f"unknown flag: {flag_name}")
        kind = spec[name][0]
        if name in out.used and kind != STRINGS:
            raise Invalid(f"duplicate flag specified: {flag_name}")
        out.used.append(name)
        if kind == BOOL:
            if has_value and value == "":
                raise Invalid(f"missing a value on flag: {flag_name}")
            if value.lower() not in ("true", "false", ""):
                raise Invalid(f"expecting boolean value for flag {flag_name}, not: {value}")
            out.values[name] = value.lower() != "false"
        elif not has_value:
            raise Invalid(f"missing a value on flag: {flag_name}")
        elif kind == STRING:
            out.values[name] = value
        else:
            out.values[name].append(value)  # type: ignore[union-attr]
    return out


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds: `30s`, `1m30s`, `1.5h`, `300ms`, `0`."""
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise Invalid(f'time: invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m or m.group(1) in ("", "."):
            raise Invalid(f'time: invalid duration "{text}"' if m else f'time: missing unit in duration "{text}"')
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * round(total)


def _frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_duration(ns: int) -> str:
    """Go's Duration.String: `5m0s`, `1h0m0s`, `1.5s`, `300ms`, `0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_frac(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_frac(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _frac(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds
