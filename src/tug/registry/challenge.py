"""Parsing what a registry tells us in headers: `WWW-Authenticate` challenges and `Retry-After` delays. Pure."""

from __future__ import annotations

import email.utils
import re
import time

from tug.records import field, record

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BARE = re.compile(r"[^,\s]*")


@record(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic", ...
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> list[str]:
        return self.params.get("scope", "").split()


def _skip(text: str, i: int, chars: str = " \t") -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """Read a quoted-string starting at the opening quote; returns (value, index after the closing quote)."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i  # unterminated: take the rest, as lenient clients do


def parse_www_authenticate(header: str) -> list[Challenge]:
    """All challenges in one header value, e.g. `Bearer realm="https://a/token",service="reg",scope="..."`.

    Scheme names are lower-cased, parameter names too; values keep their case. Malformed parts are skipped.
    """
    challenges: list[Challenge] = []
    i = 0
    text = header or ""
    scheme: str | None = None
    params: dict[str, str] = {}
    while i < len(text):
        i = _skip(text, i, " \t,")
        m = _TOKEN.match(text, i)
        if not m:
            i += 1
            continue
        word, j = m.group(0), m.end()
        k = _skip(text, j)
        if k < len(text) and text[k] == "=":
            k = _skip(text, k + 1)
            if k < len(text) and text[k] == '"':
                value, i = _quoted(text, k)
            else:
                vm = _BARE.match(text, k)
                value, i = (vm.group(0), vm.end()) if vm else ("", k)
            if scheme is not None:  # a parameter with no scheme before it is ignored
                params[word.lower()] = value
            continue
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
        scheme, params, i = word.lower(), {}, j
    if scheme is not None:
        challenges.append(Challenge(scheme, params))
    return challenges


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date); None if absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delta)
