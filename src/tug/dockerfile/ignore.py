""".dockerignore: reading the file and matching context paths, with docker's rules.

Reading: a BOM is dropped, lines starting with `#` are comments, whitespace is trimmed, each pattern is cleaned like
Go's filepath.Clean (so `./a/../b/` is `b`) and a leading `/` is dropped; `!` marks an exception that re-includes.

Matching (docker's patternmatcher, "matches or a parent matches"): patterns are tried in order and the last one that
matches decides; a pattern matches a path when it matches the path or any of its parent directories. Within a pattern
`*` and `?` do not cross `/`, `**` matches any number of directories (also none), `[a-z]` and `[^a]` are character
classes and a backslash escapes the next character.
"""

from __future__ import annotations

import re

from tug.errors import Invalid
from tug.records import record

_ESCAPE = frozenset(".+()|{}$")


def clean(path: str) -> str:
    """Go's path.Clean: one slash between elements, no `.` elements, `..` resolved where it can be."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    text = "/".join(out)
    if rooted:
        return "/" + text
    return text or "."


def read_dockerignore(text: str | bytes) -> list[str]:
    """The patterns of a .dockerignore file, normalised as docker normalises them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    patterns: list[str] = []
    for i, line in enumerate(text.split("\n")):
        if i == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def _translate(pattern: str) -> tuple[str, str]:
    """(match kind, regex or literal) for one cleaned pattern, as docker's matcher classifies it."""
    regex = ["^"]
    kind = "exact"
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            at_start = i == 1
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        regex.append(".*")
                        kind = "regex"
                else:
                    regex.append("(.*/)?")
                    kind = "regex"
                if at_start:
                    kind = "suffix"
            else:
                regex.append("[^/]*")
                kind = "regex"
        elif ch == "?":
            regex.append("[^/]")
            kind = "regex"
        elif ch in _ESCAPE:
            regex.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                regex.append(re.escape(pattern[i]))
                i += 1
                kind = "regex"
            else:
                regex.append("\\\\")
        elif ch in "[]":
            regex.append(ch)
            kind = "regex"
        else:
            regex.append(ch)
    return kind, "".join(regex) + "$"


@record
class _Pattern:
    text: str
    exclusion: bool
    kind: str
    regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def _compile(raw: str) -> _Pattern:
    text = raw.strip()
    exclusion = text.startswith("!")
    if exclusion:
        if len(text) == 1:
            raise Invalid('illegal exclusion pattern: "!"')
        text = text[1:]
    text = clean(text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        raise Invalid(f"syntax error in pattern: {raw}")
    kind, source = _translate(text)
    regex = None
    if kind == "regex":
        try:
            regex = re.compile(source)
        except re.error:
            raise Invalid(f"syntax error in pattern: {raw}") from None
    return _Pattern(text, exclusion, kind, regex)


class IgnoreMatcher:
    """Compiled .dockerignore patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = [_compile(p) for p in patterns if p.strip()]

    @property
    def has_exceptions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """True when the context path (slash-separated, relative to the context root) is ignored."""
        path = clean(path.lstrip("/"))
        if path == ".":
            return False
        parents = path.split("/")[:-1]
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(path)
            if not hit:
                hit = any(pat.match("/".join(parents[: i + 1])) for i in range(len(parents)))
            if hit:
                matched = not pat.exclusion
        return matched

    def may_contain_included(self, directory: str) -> bool:
        """Whether an excluded directory might still hold re-included paths (so a walker must descend into it)."""
        parts = [p for p in clean(directory.lstrip("/")).split("/") if p != "."]
        return any(pat.exclusion and _could_match_below(pat.text.split("/"), parts) for pat in self.patterns)


def _segment_match(segment: str, name: str) -> bool:
    kind, source = _translate(segment)
    if kind == "exact":
        return segment == name
    try:
        return re.match(source, name) is not None
    except re.error:
        return False


def _could_match_below(pattern_parts: list[str], dir_parts: list[str]) -> bool:
    for i, seg in enumerate(pattern_parts):
        if "**" in seg or i >= len(dir_parts):
            return True
        if not _segment_match(seg, dir_parts[i]):
            return False
    return True


def is_excluded(path: str, patterns: list[str]) -> bool:
    """Pure one-shot form of `IgnoreMatcher(patterns).excluded(path)`."""
    return IgnoreMatcher(patterns).excluded(path)


def may_contain_included(directory: str, patterns: list[str]) -> bool:
    return IgnoreMatcher(patterns).may_contain_included(directory)
